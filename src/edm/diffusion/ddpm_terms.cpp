#include "edm/diffusion/ddpm_terms.h"

#include <cmath>

namespace edm::ddpm {

torch::Tensor normal_kl(const torch::Tensor& mean1, const torch::Tensor& logvar1, const torch::Tensor& mean2,
                        const torch::Tensor& logvar2) {
  return 0.5 * (-1 + logvar2 - logvar1 + (logvar1 - logvar2).exp() + (mean1 - mean2).square() * (-logvar2).exp());
}

namespace {

// Phi(z) = erfc(-z / sqrt 2) / 2, accurate in the lower tail.
torch::Tensor normal_cdf(const torch::Tensor& z) { return 0.5 * torch::erfc(-z * M_SQRT1_2); }

}  // namespace

torch::Tensor discretized_gaussian_log_likelihood(const torch::Tensor& x, const torch::Tensor& mean,
                                                  const torch::Tensor& log_scale) {
  const double half_bin = 1.0 / 255;
  auto inv_std = (-log_scale).exp();
  auto lower = (x - mean - half_bin) * inv_std, upper = (x - mean + half_bin) * inv_std;
  // The bin's mass, from whichever tail is accurate; the edge bins are open.
  auto below = normal_cdf(upper), above = normal_cdf(-lower);
  auto mass = torch::where(lower > 0, normal_cdf(-lower) - normal_cdf(-upper), below - normal_cdf(lower));
  mass = torch::where(x < -0.999, below, torch::where(x > 0.999, above, mass));
  return mass.clamp_min(1e-12).log();
}

torch::Tensor per_step(const std::vector<double>& values, const torch::Tensor& t, const torch::Tensor& like) {
  std::vector<int64_t> shape(like.dim(), 1);
  shape[0] = -1;
  auto table = torch::tensor(values, torch::kFloat64).to(like.device());
  return table.index_select(0, t.to(like.device(), torch::kInt64).flatten()).to(like.scalar_type()).reshape(shape);
}

Gaussian posterior(const Chain& chain, const torch::Tensor& x0, const torch::Tensor& x_t, const torch::Tensor& t) {
  std::vector<double> c0, ct, logvar;
  for (int64_t s = 0; s < chain.T(); ++s) {
    c0.push_back(chain.coef_x0(s));
    ct.push_back(chain.coef_xt(s));
    logvar.push_back(chain.log_beta_tilde_clipped(s));
  }
  return {per_step(c0, t, x_t) * x0 + per_step(ct, t, x_t) * x_t, per_step(logvar, t, x_t).expand_as(x_t)};
}

Gaussian reverse_step(const Chain& chain, const torch::Tensor& x0_pred, const torch::Tensor& x_t,
                      const torch::Tensor& t, const torch::Tensor& v) {
  auto step = posterior(chain, x0_pred, x_t, t);
  if (!v.defined()) return step;
  std::vector<double> log_beta;
  for (double b : chain.beta) log_beta.push_back(std::log(b));
  step.logvar = v * per_step(log_beta, t, x_t) + (1 - v) * step.logvar;
  return step;
}

torch::Tensor vlb_term(const Chain& chain, const torch::Tensor& x0, const torch::Tensor& x_t, const torch::Tensor& t,
                       const Gaussian& model) {
  auto truth = posterior(chain, x0, x_t, t);
  auto kl = normal_kl(truth.mean, truth.logvar, model.mean, model.logvar);
  auto nll = -discretized_gaussian_log_likelihood(x0, model.mean, 0.5 * model.logvar);
  std::vector<int64_t> shape(x_t.dim(), 1);
  shape[0] = -1;
  return torch::where((t.to(x_t.device()) == 0).reshape(shape), nll, kl);
}

torch::Tensor prior_kl(const Chain& chain, const torch::Tensor& x0) {
  const double abar = chain.alpha_bar.back();
  auto zero = torch::zeros_like(x0);
  return normal_kl(std::sqrt(abar) * x0, torch::full_like(x0, std::log(1 - abar)), zero, zero);
}

torch::Tensor q_sample(const Chain& chain, const torch::Tensor& x0, const torch::Tensor& t, const torch::Tensor& eps) {
  std::vector<double> a, b;
  for (double abar : chain.alpha_bar) a.push_back(std::sqrt(abar)), b.push_back(std::sqrt(1 - abar));
  return per_step(a, t, x0) * x0 + per_step(b, t, x0) * eps;
}

}  // namespace edm::ddpm
