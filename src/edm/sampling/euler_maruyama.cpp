#include <cmath>

#include "edm/sampling/samplers.h"

namespace edm {

torch::Tensor euler_maruyama_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                                     const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step) {
  validate(o);
  const auto t = noise_levels(net, o);
  auto x = latents.to(torch::kFloat64) * t[0];
  for (int64_t i = 0; i < o.num_steps; ++i) {
    const double sigma = t[i], sigma_next = t[i + 1];
    auto denoised = denoise_at(net, x, sigma, class_labels);
    if (sigma_next == 0) {
      x = denoised;  // the last step lands on D, adding no noise at sigma = 0
    } else {
      // Paper eq. 6 with beta(t) = sigma'/sigma: drift 2 (sigma - sigma_next) grad log p,
      // grad log p = (D - x) / sigma^2, diffusion sqrt(2 sigma (sigma - sigma_next)).
      const double ds = sigma - sigma_next;
      x = x + 2 * ds / sigma * (denoised - x) + std::sqrt(2 * sigma * ds) * randn_like(x);
    }
    if (on_step) on_step(i + 1);
  }
  return x;
}

}  // namespace edm
