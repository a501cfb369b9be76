#include "edm/diffusion/vp.h"

#include <cmath>

namespace edm {

// Operation order as the reference (pow(e, .) rather than exp) so that the
// samplers' float64 time steps match to the last bit.
double vp_sigma(double t, double beta_d, double beta_min) {
  return std::sqrt(std::pow(M_E, 0.5 * beta_d * (t * t) + beta_min * t) - 1);
}

double vp_sigma_deriv(double t, double beta_d, double beta_min) {
  const double sig = vp_sigma(t, beta_d, beta_min);
  return 0.5 * (beta_min + beta_d * t) * (sig + 1 / sig);
}

double vp_sigma_inv(double sig, double beta_d, double beta_min) {
  return (std::sqrt(beta_min * beta_min + 2 * beta_d * std::log(sig * sig + 1)) - beta_min) / beta_d;
}

torch::Tensor vp_sigma(const torch::Tensor& t, double beta_d, double beta_min) {
  return ((0.5 * beta_d * t.pow(2) + beta_min * t).exp() - 1).sqrt();
}

torch::Tensor vp_sigma_inv(const torch::Tensor& sigma, double beta_d, double beta_min) {
  return ((beta_min * beta_min + 2 * beta_d * (1 + sigma.pow(2)).log()).sqrt() - beta_min) / beta_d;
}

VPBeta vp_beta_fit(double sigma_min, double sigma_max, double epsilon_s) {
  VPBeta b;
  b.beta_d =
      2 * (std::log(sigma_min * sigma_min + 1) / epsilon_s - std::log(sigma_max * sigma_max + 1)) / (epsilon_s - 1);
  b.beta_min = std::log(sigma_max * sigma_max + 1) - 0.5 * b.beta_d;
  return b;
}

}  // namespace edm
