// The discrete-time forward chain of DDPM (Ho et al. 2020; Nichol & Dhariwal
// 2021): q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I) for
// t = 0..T-1, the one home of beta_t, alpha_t, alpha-bar_t and beta-tilde_t.
// In EDM's coordinates x = x_t / sqrt(alpha-bar_t) the chain is a list of
// noise levels sigma_t = sqrt((1 - alpha-bar_t) / alpha-bar_t), so any
// increasing list of sigmas is a chain too (chain_from_sigmas).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace edm::ddpm {

enum class BetaSchedule { Linear, Cosine };
// "linear" or "cosine"; edm::UsageError naming `option` otherwise.
BetaSchedule parse_beta_schedule(const std::string& name, const std::string& option = "--beta");
std::string beta_schedule_name(BetaSchedule s);

// Ho et al.'s linear betas from 1e-4 to 0.02 for T = 1000, scaled by 1000 / T
// for other T (as Improved DDPM does). T >= 2.
std::vector<double> linear_betas(int64_t T);
// Improved DDPM's cosine schedule: alpha-bar(t) = f(t) / f(0) with
// f(t) = cos^2((t / T + s) / (1 + s) pi / 2), beta_t = 1 - alpha-bar(t+1) /
// alpha-bar(t) clipped at max_beta.
std::vector<double> cosine_betas(int64_t T, double s = 0.008, double max_beta = 0.999);

struct Chain {
  std::vector<double> beta, alpha, alpha_bar, alpha_bar_prev;  // alpha_bar_prev[0] = 1
  std::vector<double> beta_tilde;  // posterior variance (1 - abar_{t-1}) / (1 - abar_t) beta_t; 0 at t = 0
  std::vector<double> sigma;       // sqrt((1 - abar_t) / abar_t), increasing

  int64_t T() const { return static_cast<int64_t>(beta.size()); }
  // log beta-tilde with t = 0 taking t = 1's value (beta-tilde_0 = 0), the
  // lower end of the learned variance (Improved DDPM).
  double log_beta_tilde_clipped(int64_t t) const;
  // The coefficients of the posterior mean of q(x_{t-1} | x_t, x_0) =
  // coef_x0 x_0 + coef_xt x_t (in the chain's own coordinates x_t).
  double coef_x0(int64_t t) const;
  double coef_xt(int64_t t) const;
};

// Throws edm::UsageError unless beta_0 is in (0, 1) and the others in [0, 1)
// (0: a repeated level, a step that changes nothing).
Chain chain_from_betas(const std::vector<double>& beta);
Chain make_chain(BetaSchedule schedule, int64_t T);
// The chain whose alpha-bars are 1 / (1 + sigma_t^2): sigma positive, non-decreasing.
Chain chain_from_sigmas(const std::vector<double>& sigma);

// Improved DDPM's respacing: K of the T steps, evenly spaced from 0 to T-1
// (rounded as its space_timesteps with one section), increasing.
std::vector<int64_t> respaced_steps(int64_t T, int64_t K);
// The chain of the kept steps: betas 1 - abar_{t_i} / abar_{t_{i-1}}, so that
// its alpha-bars are exactly the kept ones.
Chain respace(const Chain& chain, const std::vector<int64_t>& kept);

// Index of the level of `sigma` (increasing) nearest to s.
int64_t nearest_level(const std::vector<double>& sigma, double s);

}  // namespace edm::ddpm
