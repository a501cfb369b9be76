#include "edm/likelihood/ode_likelihood.h"

#include <cmath>

#include "edm/core/error.h"

namespace edm {

void validate_likelihood_levels(const SamplerOptions& o) {
  validate(o);
  if (o.num_steps < 2) throw UsageError("--steps must be at least 2 for the likelihood (one interval)");
}

std::vector<double> likelihood_levels(Denoiser& net, const SamplerOptions& o) {
  validate_likelihood_levels(o);
  SamplerOptions edm = o;
  edm.discretization = "edm";
  auto t = noise_levels(net, edm);
  t.pop_back();  // the final 0 of sampling
  return {t.rbegin(), t.rend()};
}

int64_t likelihood_nfe(const SamplerOptions& o) { return 2 * (o.num_steps - 1); }

namespace {

// f = dx/dsigma and div f, per sample.
std::pair<torch::Tensor, torch::Tensor> velocity(Denoiser& net, const torch::Tensor& x, double sigma,
                                                 const torch::Tensor& class_labels, const torch::Tensor& probes) {
  auto [d, trace] = denoise_with_trace(net, x, sigma, class_labels, probes);
  const double dims = static_cast<double>(x[0].numel());
  return {(x - d) / sigma, (dims - trace) / sigma};
}

// -log N(z; 0, sigma^2 I) per sample.
torch::Tensor gaussian_nll(const torch::Tensor& z, double sigma) {
  const double dims = static_cast<double>(z[0].numel());
  return 0.5 * dims * std::log(2 * M_PI * sigma * sigma) + z.reshape({z.size(0), -1}).square().sum(1) / (2 * sigma * sigma);
}

}  // namespace

OdeLikelihood ode_likelihood(Denoiser& net, const torch::Tensor& x0, const torch::Tensor& class_labels,
                             const torch::Tensor& probes, const SamplerOptions& o, const StepFn& on_step) {
  const auto t = likelihood_levels(net, o);
  auto x = x0.to(torch::kFloat64);
  auto log_det = torch::zeros({x.size(0)}, x.options());  // int div f dsigma
  for (size_t i = 0; i + 1 < t.size(); ++i) {
    const double h = t[i + 1] - t[i];
    auto [f, div] = velocity(net, x, t[i], class_labels, probes);
    auto [f_next, div_next] = velocity(net, x + h * f, t[i + 1], class_labels, probes);
    x = x + 0.5 * h * (f + f_next);
    log_det = log_det + 0.5 * h * (div + div_next);
    if (on_step) on_step(static_cast<int64_t>(i) + 1);
  }
  auto prior = gaussian_nll(x, t.back());
  return {prior - log_det, prior, x};
}

}  // namespace edm
