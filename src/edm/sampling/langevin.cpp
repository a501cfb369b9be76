#include "edm/sampling/samplers.h"
#include "edm/sampling/sde_steps.h"

namespace edm {

torch::Tensor langevin_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                               const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step) {
  validate(o);
  const auto t = noise_levels(net, o);
  auto x = latents.to(torch::kFloat64) * t[0];
  for (int64_t i = 0; i < o.num_steps; ++i) {
    const double sigma = t[i];
    if (t[i + 1] == 0) {
      x = denoise_at(net, x, sigma, class_labels);  // NCSNv2's final denoising step
    } else {
      for (int64_t k = 0; k < o.ld_steps; ++k) x = langevin_step(net, x, sigma, class_labels, o.ld_snr, randn_like);
    }
    if (on_step) on_step(i + 1);
  }
  return x;
}

}  // namespace edm
