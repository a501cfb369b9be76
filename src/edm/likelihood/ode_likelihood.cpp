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

int64_t likelihood_nfe(const SamplerOptions& o) { return 4 * (o.num_steps - 1); }

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
  return 0.5 * dims * std::log(2 * M_PI * sigma * sigma) +
         z.reshape({z.size(0), -1}).square().sum(1) / (2 * sigma * sigma);
}

}  // namespace

OdeLikelihood ode_likelihood(Denoiser& net, const torch::Tensor& x0, const torch::Tensor& class_labels,
                             const torch::Tensor& probes, const SamplerOptions& o, const StepFn& on_step) {
  const auto t = likelihood_levels(net, o);
  auto v = [&](const torch::Tensor& x, double sigma) { return velocity(net, x, sigma, class_labels, probes); };
  auto x = x0.to(torch::kFloat64);
  auto log_det = torch::zeros({x.size(0)}, x.options());  // int div f dsigma
  for (size_t i = 0; i + 1 < t.size(); ++i) {
    // The classical Runge-Kutta step on (x, log_det): Heun's error on these
    // levels is ~4% of the NLL at 32 levels, RK4's ~1e-4 (docs/likelihood.md).
    const double h = t[i + 1] - t[i], mid = t[i] + 0.5 * h;
    const auto k1 = v(x, t[i]);
    const auto k2 = v(x + 0.5 * h * k1.first, mid);
    const auto k3 = v(x + 0.5 * h * k2.first, mid);
    const auto k4 = v(x + h * k3.first, t[i + 1]);
    x = x + h / 6 * (k1.first + 2 * k2.first + 2 * k3.first + k4.first);
    log_det = log_det + h / 6 * (k1.second + 2 * k2.second + 2 * k3.second + k4.second);
    if (on_step) on_step(static_cast<int64_t>(i) + 1);
  }
  auto prior = gaussian_nll(x, t.back());
  return {prior - log_det, prior, x};
}

}  // namespace edm
