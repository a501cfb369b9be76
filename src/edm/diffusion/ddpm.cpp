#include "edm/diffusion/ddpm.h"

#include <algorithm>
#include <cmath>

#include "edm/core/error.h"

namespace edm::ddpm {

BetaSchedule parse_beta_schedule(const std::string& name, const std::string& option) {
  if (name == "linear") return BetaSchedule::Linear;
  if (name == "cosine") return BetaSchedule::Cosine;
  throw UsageError("unknown " + option + " '" + name + "' (linear or cosine)");
}

std::string beta_schedule_name(BetaSchedule s) { return s == BetaSchedule::Linear ? "linear" : "cosine"; }

namespace {

void check_T(int64_t T) {
  if (T < 2) throw UsageError("the number of diffusion steps T must be at least 2, got " + std::to_string(T));
}

}  // namespace

std::vector<double> linear_betas(int64_t T) {
  check_T(T);
  const double scale = 1000.0 / static_cast<double>(T), start = scale * 1e-4, end = scale * 0.02;
  std::vector<double> beta(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) beta[t] = start + (end - start) * static_cast<double>(t) / static_cast<double>(T - 1);
  return beta;
}

std::vector<double> cosine_betas(int64_t T, double s, double max_beta) {
  check_T(T);
  auto f = [&](int64_t t) {
    const double c = std::cos((static_cast<double>(t) / static_cast<double>(T) + s) / (1 + s) * M_PI / 2);
    return c * c;
  };
  std::vector<double> beta(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) beta[t] = std::min(1 - f(t + 1) / f(t), max_beta);
  return beta;
}

Chain chain_from_betas(const std::vector<double>& beta) {
  if (beta.empty()) throw UsageError("DDPM: a chain needs at least one step");
  Chain c;
  c.beta = beta;
  double abar = 1;
  for (size_t t = 0; t < beta.size(); ++t) {
    // beta = 0 (a repeated noise level) is a step that changes nothing.
    if (!(beta[t] >= 0 && beta[t] < 1) || (t == 0 && beta[t] == 0))
      throw UsageError("DDPM: beta_" + std::to_string(t) + " is not in (0, 1)");
    c.alpha.push_back(1 - beta[t]);
    c.alpha_bar_prev.push_back(abar);
    abar *= 1 - beta[t];
    c.alpha_bar.push_back(abar);
    c.beta_tilde.push_back(t == 0 ? 0.0 : (1 - c.alpha_bar_prev[t]) / (1 - abar) * beta[t]);
    c.sigma.push_back(std::sqrt((1 - abar) / abar));
  }
  return c;
}

Chain make_chain(BetaSchedule schedule, int64_t T) {
  return chain_from_betas(schedule == BetaSchedule::Linear ? linear_betas(T) : cosine_betas(T));
}

Chain chain_from_sigmas(const std::vector<double>& sigma) {
  std::vector<double> beta;
  double prev = 1;
  for (size_t i = 0; i < sigma.size(); ++i) {
    if (!(sigma[i] > 0) || (i > 0 && !(sigma[i] >= sigma[i - 1])))
      throw UsageError("DDPM: a chain's noise levels must be positive and increasing");
    const double abar = 1 / (1 + sigma[i] * sigma[i]);
    beta.push_back(1 - abar / prev);
    prev = abar;
  }
  return chain_from_betas(beta);
}

double Chain::log_beta_tilde_clipped(int64_t t) const {
  if (t > 0) return std::log(beta_tilde[t]);
  return std::log(T() > 1 ? beta_tilde[1] : beta[0]);  // a one-step chain has no beta-tilde_1
}

double Chain::coef_x0(int64_t t) const { return beta[t] * std::sqrt(alpha_bar_prev[t]) / (1 - alpha_bar[t]); }

double Chain::coef_xt(int64_t t) const { return (1 - alpha_bar_prev[t]) * std::sqrt(alpha[t]) / (1 - alpha_bar[t]); }

std::vector<int64_t> respaced_steps(int64_t T, int64_t K) {
  if (K < 1 || K > T)
    throw UsageError("cannot keep " + std::to_string(K) + " of " + std::to_string(T) + " steps (1 to T)");
  const double stride = K > 1 ? static_cast<double>(T - 1) / static_cast<double>(K - 1) : 1;
  std::vector<int64_t> kept;
  double at = 0;
  for (int64_t i = 0; i < K; ++i, at += stride) kept.push_back(static_cast<int64_t>(std::nearbyint(at)));
  return kept;
}

Chain respace(const Chain& chain, const std::vector<int64_t>& kept) {
  std::vector<double> beta;
  double prev = 1;
  int64_t last = -1;
  for (int64_t t : kept) {
    if (t <= last || t >= chain.T()) throw UsageError("DDPM: respaced steps must increase within 0..T-1");
    beta.push_back(1 - chain.alpha_bar[t] / prev);
    prev = chain.alpha_bar[t];
    last = t;
  }
  return chain_from_betas(beta);
}

int64_t nearest_level(const std::vector<double>& sigma, double s) {
  const auto hi = std::lower_bound(sigma.begin(), sigma.end(), s);
  if (hi == sigma.begin()) return 0;
  if (hi == sigma.end()) return static_cast<int64_t>(sigma.size()) - 1;
  const auto lo = hi - 1;
  return static_cast<int64_t>((s - *lo <= *hi - s ? lo : hi) - sigma.begin());
}

}  // namespace edm::ddpm
