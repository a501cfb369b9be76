#include <cmath>

#include "edm/sampling/samplers.h"

namespace edm {

// In lambda = -log sigma the probability-flow ODE is x(lambda) = sigma/sigma_i x_i
// + sigma integral e^lambda D dlambda; the solver integrates D's polynomial
// extrapolation through the last `order` evaluations exactly.
torch::Tensor dpmpp_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                            const SamplerOptions& o, int order, const StepFn& on_step) {
  validate(o);
  const auto t = noise_levels(net, o);
  auto x = latents.to(torch::kFloat64) * t[0];
  torch::Tensor d1, d2;   // D at the previous two steps
  double h1 = 0, h2 = 0;  // their step sizes in lambda
  for (int64_t i = 0; i < o.num_steps; ++i) {
    const double sigma = t[i], sigma_next = t[i + 1];
    auto denoised = denoise_at(net, x, sigma, class_labels);
    if (sigma_next == 0) {
      x = denoised;
    } else {
      const double h = std::log(sigma / sigma_next);
      // First order (DDIM): x = (sigma_next/sigma) x + (1 - e^-h) D.
      const double phi1 = -std::expm1(-h);
      x = (sigma_next / sigma) * x + phi1 * denoised;
      // Higher-order corrections from divided differences of D in lambda:
      // phi_2 = (e^-h - 1)/h + 1, phi_3 = phi_2 / h - 1/2.
      const double p2 = std::expm1(-h) / h + 1, p3 = p2 / h - 0.5;
      if (order >= 3 && d2.defined()) {
        const double r0 = h1 / h, r1 = h2 / h;
        auto e0 = (denoised - d1) / r0, e1 = (d1 - d2) / r1;
        auto first = e0 + (e0 - e1) * (r0 / (r0 + r1));
        auto second = (e0 - e1) / (r0 + r1);
        x = x + p2 * first - p3 * second;
      } else if (order >= 2 && d1.defined()) {
        x = x + p2 * (denoised - d1) / (h1 / h);
      }
      d2 = d1;
      d1 = denoised;
      h2 = h1;
      h1 = h;
    }
    if (on_step) on_step(i + 1);
  }
  return x;
}

// Deterministic: the noise source is not used.
torch::Tensor dpmpp2m_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                              const NoiseFn&, const SamplerOptions& o, const StepFn& on_step) {
  return dpmpp_sampler(net, latents, class_labels, o, 2, on_step);
}

torch::Tensor dpmpp3m_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                              const NoiseFn&, const SamplerOptions& o, const StepFn& on_step) {
  return dpmpp_sampler(net, latents, class_labels, o, 3, on_step);
}

}  // namespace edm
