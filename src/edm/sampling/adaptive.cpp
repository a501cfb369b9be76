#include <algorithm>
#include <cmath>

#include "edm/sampling/samplers.h"

namespace edm {

namespace {

// Error-per-step control of DPM-Solver-12 (Lu et al. 2022, section 3.4, with
// k-diffusion's constants): the integral controller on the error of
// DPM-Solver-1 against DPM-Solver-2, in lambda = -log sigma. The absolute
// tolerance follows rtol (k-diffusion's 0.0078 at its rtol 0.05), so that a
// smaller rtol keeps buying accuracy near the data.
struct Controller {
  double h = 0.05;  // first step in lambda
  static constexpr double accept_safety = 0.81, order = 2;
  // Scales h by the error's factor (soft-limited); true to accept the step.
  bool propose(double error) {
    const double factor = 1 + std::atan(std::pow(1 / (error + 1e-8), 1 / order) - 1);
    h *= factor;
    return factor >= accept_safety;
  }
};

// One sample (a batch of 1): steps adapt to it alone, so a seed's image does
// not depend on the batch it is in.
torch::Tensor adaptive_one(Denoiser& net, torch::Tensor x, const torch::Tensor& labels, const SigmaRange& r,
                           double rtol) {
  auto eps = [&](const torch::Tensor& y, double lambda) {
    const double sigma = std::exp(-lambda);
    return (y - denoise_at(net, y, sigma, labels)) / sigma;
  };
  const double lambda_end = -std::log(r.min);
  double s = -std::log(r.max);
  Controller pid;
  torch::Tensor x_prev = x, e = eps(x, s);
  while (s < lambda_end - 1e-5) {
    const double t = std::min(lambda_end, s + pid.h), h = t - s, s1 = s + 0.5 * h;
    const double sigma_t = std::exp(-t), sigma_s1 = std::exp(-s1);
    auto x_low = x - sigma_t * std::expm1(h) * e;  // DPM-Solver-1
    auto u1 = x - sigma_s1 * std::expm1(0.5 * h) * e;
    auto x_high = x_low - sigma_t * std::expm1(h) * (eps(u1, s1) - e);  // DPM-Solver-2 (r1 = 1/2)
    auto delta = torch::clamp_min(rtol * torch::max(x_low.abs(), x_prev.abs()), 0.156 * rtol);
    const double error = ((x_low - x_high) / delta).square().mean().sqrt().item<double>();
    if (pid.propose(error)) {
      x_prev = x_low, x = x_high, s = t;
      if (s < lambda_end - 1e-5) e = eps(x, s);
    }
  }
  return denoise_at(net, x, std::exp(-s), labels);
}

}  // namespace

// NFE: 1 at the start, 1 per attempted step, 1 per accepted step, 1 final
// denoising; counted by the caller (counting_denoiser.h), not known ahead.
torch::Tensor adaptive_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                               const NoiseFn&, const SamplerOptions& o, const StepFn& on_step) {
  validate(o);
  const SigmaRange r{round_sigma(net, sigma_range(net, o).min), round_sigma(net, sigma_range(net, o).max)};
  auto x = latents.to(torch::kFloat64) * r.max;
  std::vector<torch::Tensor> out;
  for (int64_t b = 0; b < x.size(0); ++b) {
    auto labels = class_labels.defined() ? class_labels.narrow(0, b, 1) : class_labels;
    out.push_back(adaptive_one(net, x.narrow(0, b, 1), labels, r, o.rtol));
  }
  if (on_step) on_step(o.num_steps);
  return torch::cat(out);
}

}  // namespace edm
