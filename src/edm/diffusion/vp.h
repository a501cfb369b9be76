// The variance-preserving family (Song et al. 2021, paper Table 1 "VP"):
// sigma(t) = sqrt(exp(beta_d t^2 / 2 + beta_min t) - 1), its derivative and
// inverse, and the fit of beta_d, beta_min to a sigma range. Samplers use the
// float64 forms; the VP preconditioning and loss the tensor forms, which keep
// t's dtype (float32 there, as the reference) so their rounding matches.
#pragma once
#include <torch/torch.h>

namespace edm {

double vp_sigma(double t, double beta_d, double beta_min);
double vp_sigma_deriv(double t, double beta_d, double beta_min);
double vp_sigma_inv(double sigma, double beta_d, double beta_min);
torch::Tensor vp_sigma(const torch::Tensor& t, double beta_d, double beta_min);
torch::Tensor vp_sigma_inv(const torch::Tensor& sigma, double beta_d, double beta_min);

// beta_d, beta_min with sigma(1) = sigma_max and sigma(epsilon_s) = sigma_min
// (the reference's VP discretization and ablation sampler).
struct VPBeta {
  double beta_d, beta_min;
};
VPBeta vp_beta_fit(double sigma_min, double sigma_max, double epsilon_s);

}  // namespace edm
