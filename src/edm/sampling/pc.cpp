// Predictor-corrector sampling (Song et al. 2021, Algorithm 2 for the VE SDE)
// in sigma, so that it runs on every denoiser: at each noise level, K Langevin
// corrector steps, then one predictor step to the next level.
#include "edm/sampling/samplers.h"
#include "edm/sampling/sde_steps.h"

namespace edm {

torch::Tensor pc_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                         const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step) {
  validate(o);
  const auto t = noise_levels(net, o);
  const bool reverse_diffusion = o.predictor == "reverse-diffusion";
  auto x = latents.to(torch::kFloat64) * t[0];
  for (int64_t i = 0; i < o.num_steps; ++i) {
    const double sigma = t[i], sigma_next = t[i + 1];
    // The corrector first, as Song et al.'s code orders the two: every level
    // from sigma_max to sigma_min is corrected, and a predictor step ends
    // the chain.
    for (int64_t k = 0; k < o.corrector_steps; ++k) x = langevin_step(net, x, sigma, class_labels, o.snr, randn_like);
    auto denoised = denoise_at(net, x, sigma, class_labels);
    if (sigma_next == 0) {
      x = denoised;  // the noise-free mean of the last step, as every sampler here ends
    } else {
      auto z = randn_like(x);
      x = reverse_diffusion ? reverse_diffusion_step(x, denoised, sigma, sigma_next, z)
                            : euler_maruyama_step(x, denoised, sigma, sigma_next, z);
    }
    if (on_step) on_step(i + 1);
  }
  return x;
}

}  // namespace edm
