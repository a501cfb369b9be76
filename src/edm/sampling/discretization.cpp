#include "edm/sampling/discretization.h"

#include <cmath>

#include "edm/core/error.h"
#include "edm/diffusion/iddpm.h"
#include "edm/diffusion/vp.h"

namespace edm {

namespace {

// i / (N - 1), with a single step taken at sigma_max.
double fraction(int64_t i, int64_t n) { return n > 1 ? static_cast<double>(i) / static_cast<double>(n - 1) : 0.0; }

}  // namespace

std::vector<double> sigma_steps(const std::string& disc, int64_t n, double sigma_min, double sigma_max,
                                const DiscretizationParams& p) {
  std::vector<double> out(n);
  if (disc == "edm") {
    const double a = std::pow(sigma_max, 1 / p.rho), b = std::pow(sigma_min, 1 / p.rho);
    for (int64_t i = 0; i < n; ++i) out[i] = std::pow(a + fraction(i, n) * (b - a), p.rho);
  } else if (disc == "vp") {
    const VPBeta b = vp_beta_fit(sigma_min, sigma_max, p.epsilon_s);
    for (int64_t i = 0; i < n; ++i) out[i] = vp_sigma(1 + fraction(i, n) * (p.epsilon_s - 1), b.beta_d, b.beta_min);
  } else if (disc == "ve") {
    const double ratio = (sigma_min * sigma_min) / (sigma_max * sigma_max);
    for (int64_t i = 0; i < n; ++i) out[i] = std::sqrt((sigma_max * sigma_max) * std::pow(ratio, fraction(i, n)));
  } else if (disc == "polyexp") {
    // Polyexponential (k-diffusion): log sigma from log sigma_max to log
    // sigma_min along (1 - i/(N-1))^rho; rho = 1 is uniform in log sigma.
    const double lmin = std::log(sigma_min), lmax = std::log(sigma_max);
    for (int64_t i = 0; i < n; ++i) out[i] = std::exp(lmin + std::pow(1 - fraction(i, n), p.rho) * (lmax - lmin));
  } else if (disc == "iddpm") {
    std::vector<double> u = iddpm_u_grid(p.M, p.C_1, p.C_2), kept;
    for (double v : u)
      if (v >= sigma_min && v <= sigma_max) kept.push_back(v);
    if (kept.empty()) throw UsageError("no iDDPM noise level lies in [sigma_min, sigma_max]");
    const double scale = n > 1 ? static_cast<double>(kept.size() - 1) / static_cast<double>(n - 1) : 0.0;
    for (int64_t i = 0; i < n; ++i) out[i] = kept[static_cast<size_t>(std::nearbyint(scale * static_cast<double>(i)))];
  } else {
    throw UsageError("unknown discretization '" + disc + "' (edm, vp, ve, iddpm or polyexp)");
  }
  return out;
}

double default_sigma_min(const std::string& disc, const DiscretizationParams& p) {
  if (disc == "vp") return vp_sigma(p.epsilon_s, 19.9, 0.1);
  if (disc == "ve") return 0.02;
  return 0.002;
}

double default_sigma_max(const std::string& disc) {
  if (disc == "vp") return vp_sigma(1, 19.9, 0.1);
  if (disc == "ve") return 100;
  if (disc == "iddpm") return 81;
  return 80;
}

}  // namespace edm
