#include "edm/sampling/samplers.h"
#include "edm/sampling/sde_steps.h"

namespace edm {

torch::Tensor euler_maruyama_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                                     const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step) {
  validate(o);
  const auto t = noise_levels(net, o);
  auto x = latents.to(torch::kFloat64) * t[0];
  for (int64_t i = 0; i < o.num_steps; ++i) {
    const double sigma = t[i], sigma_next = t[i + 1];
    auto denoised = denoise_at(net, x, sigma, class_labels);
    // The last step lands on D, adding no noise at sigma = 0.
    x = sigma_next == 0 ? denoised : euler_maruyama_step(x, denoised, sigma, sigma_next, randn_like(x));
    if (on_step) on_step(i + 1);
  }
  return x;
}

}  // namespace edm
