#include <cmath>

#include "edm/sampling/samplers.h"

namespace edm {

torch::Tensor ddim_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                           const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step) {
  validate(o);
  const auto t = noise_levels(net, o);
  auto x = latents.to(torch::kFloat64) * t[0];
  for (int64_t i = 0; i < o.num_steps; ++i) {
    const double sigma = t[i], sigma_next = t[i + 1];
    auto denoised = denoise_at(net, x, sigma, class_labels);
    // DDIM's posterior in x = x_VP / sqrt(alpha_bar): of the variance
    // sigma_next^2 a part sigma_up^2 is fresh noise, the rest keeps the
    // direction of the current noise estimate (x - D) / sigma.
    const double sigma_up = std::min(
        sigma_next,
        o.eta * std::sqrt(sigma_next * sigma_next * (sigma * sigma - sigma_next * sigma_next) / (sigma * sigma)));
    const double sigma_down = std::sqrt(sigma_next * sigma_next - sigma_up * sigma_up);
    x = denoised + sigma_down / sigma * (x - denoised);
    if (sigma_up > 0) x = x + sigma_up * randn_like(x);
    if (on_step) on_step(i + 1);
  }
  return x;
}

}  // namespace edm
