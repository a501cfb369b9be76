#include <algorithm>
#include <cmath>

#include "edm/sampling/brownian.h"
#include "edm/sampling/samplers.h"

namespace edm {

// In lambda = -log sigma the probability-flow ODE is x(lambda) = sigma/sigma_i x_i
// + sigma integral e^lambda D dlambda; the solver integrates D's polynomial
// extrapolation through the last `order` evaluations exactly. With eta > 0
// it solves the SDE whose drift decays as e^-(1 + eta) h (Lu et al. 2022,
// section 4): the same update with h (1 + eta), plus fresh noise of variance
// sigma_next^2 (1 - e^-2 eta h) from `noise(sigma, sigma_next)`.
torch::Tensor dpmpp_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                            const SamplerOptions& o, int order, const StepFn& on_step, double eta,
                            const StepNoiseFn& noise) {
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
      const double h_lambda = std::log(sigma / sigma_next), h = h_lambda * (1 + eta);
      // First order (DDIM): x = e^-h x + (1 - e^-h) D, e^-h = sigma_next/sigma when eta = 0.
      const double phi1 = -std::expm1(-h);
      x = (eta == 0 ? sigma_next / sigma : std::exp(-h)) * x + phi1 * denoised;
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
      if (eta > 0) x = x + sigma_next * std::sqrt(-std::expm1(-2 * eta * h_lambda)) * noise(sigma, sigma_next);
      d2 = d1;
      d1 = denoised;
      h2 = h1;
      h1 = h;  // the ratios r use h (1 + eta) throughout, as the SDE solver does
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

namespace {

// eta = 1 with the noise of a Brownian tree on the sampler's sigma range,
// one path per seed: the same noise whatever the number of steps.
torch::Tensor dpmpp_sde(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                        const NoiseFn& randn_like, const SamplerOptions& o, int order, const StepFn& on_step) {
  validate(o);
  const auto t = noise_levels(net, o);  // the path spans every level but the final 0
  BrownianTree tree(brownian_keys(randn_like, latents), latents.sizes().slice(1).vec(),
                    std::min(sigma_range(net, o).min, t[t.size() - 2]), std::max(sigma_range(net, o).max, t[0]));
  auto noise = [&](double sigma, double sigma_next) {
    return tree.normalized_increment(sigma_next, sigma).to(latents.device());
  };
  return dpmpp_sampler(net, latents, class_labels, o, order, on_step, 1.0, noise);
}

}  // namespace

torch::Tensor dpmpp2m_sde_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                                  const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step) {
  return dpmpp_sde(net, latents, class_labels, randn_like, o, 2, on_step);
}

torch::Tensor dpmpp3m_sde_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                                  const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step) {
  return dpmpp_sde(net, latents, class_labels, randn_like, o, 3, on_step);
}

}  // namespace edm
