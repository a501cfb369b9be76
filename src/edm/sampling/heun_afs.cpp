#include "edm/core/error.h"
#include "edm/sampling/analytical_first_step.h"
#include "edm/sampling/samplers.h"

namespace edm {

// EDM's Heun (no churn) whose first slope is the analytical one of pure
// noise (analytical_first_step.h): one evaluation fewer.
torch::Tensor heun_afs_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                               const NoiseFn&, const SamplerOptions& o, const StepFn& on_step) {
  validate(o);
  if (o.num_steps < 2) throw UsageError("sampler 'heun_afs' needs --steps 2 or more");
  const auto t = noise_levels(net, o);
  auto x = latents.to(torch::kFloat64) * t[0];
  for (int64_t i = 0; i < o.num_steps; ++i) {
    const double h = t[i + 1] - t[i];
    auto d = i == 0 ? analytical_slope(x, t[i]) : (x - denoise_at(net, x, t[i], class_labels)) / t[i];
    auto x_next = x + h * d;
    if (t[i + 1] > 0) {  // second-order correction, except into sigma = 0
      auto d_prime = (x_next - denoise_at(net, x_next, t[i + 1], class_labels)) / t[i + 1];
      x_next = x + h * (0.5 * d + 0.5 * d_prime);
    }
    x = x_next;
    if (on_step) on_step(i + 1);
  }
  return x;
}

}  // namespace edm
