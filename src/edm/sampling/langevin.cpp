#include <cmath>

#include "edm/sampling/samplers.h"

namespace edm {

torch::Tensor langevin_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                               const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step) {
  validate(o);
  const auto t = noise_levels(net, o);
  auto x = latents.to(torch::kFloat64) * t[0];
  auto norm = [](const torch::Tensor& v) { return v.flatten(1).norm(2, 1).view({-1, 1, 1, 1}); };
  for (int64_t i = 0; i < o.num_steps; ++i) {
    const double sigma = t[i];
    if (t[i + 1] == 0) {
      x = denoise_at(net, x, sigma, class_labels);  // NCSNv2's final denoising step
    } else {
      for (int64_t k = 0; k < o.ld_steps; ++k) {
        auto score = (denoise_at(net, x, sigma, class_labels) - x) / (sigma * sigma);
        auto z = randn_like(x);
        // Step size from the signal-to-noise ratio of the update (the Langevin
        // corrector of Song et al. 2021), per image, so no tuning per sigma.
        auto alpha = 2 * (o.ld_snr * norm(z) / norm(score).clamp_min(1e-30)).square();
        x = x + alpha * score + (2 * alpha).sqrt() * z;
      }
    }
    if (on_step) on_step(i + 1);
  }
  return x;
}

}  // namespace edm
