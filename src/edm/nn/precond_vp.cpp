// VP preconditioning (Song et al. 2021): the network predicts -noise of the
// variance-preserving input; c_noise = (M-1) t(sigma).
#include "edm/nn/preconditioned.h"

namespace edm::nn {

VPPrecond::VPPrecond(const nlohmann::json& config, const Build& build) {
  ConfigReader r(config, "edm.config");
  beta_d_ = r.number("beta_d", 19.9);
  beta_min_ = r.number("beta_min", 0.1);
  M_ = double(r.integer("M", 1000));
  epsilon_t_ = r.number("epsilon_t", 1e-5);
  build_model(r, config, "SongUNet", 1, build);
  // In float32 like the reference, so that sampling clamps to the same range.
  sigma_min_ = sigma(torch::full({}, epsilon_t_, torch::kFloat32)).item<double>();
  sigma_max_ = sigma(torch::full({}, 1.0, torch::kFloat32)).item<double>();
}

torch::Tensor VPPrecond::sigma(const torch::Tensor& t) const {
  return ((0.5 * beta_d_ * t.pow(2) + beta_min_ * t).exp() - 1).sqrt();
}

torch::Tensor VPPrecond::sigma_inv(const torch::Tensor& sigma) const {
  return ((beta_min_ * beta_min_ + 2 * beta_d_ * (1 + sigma.pow(2)).log()).sqrt() - beta_min_) / beta_d_;
}

Coefficients VPPrecond::coefficients(const torch::Tensor& sigma) {
  Coefficients c;
  c.c_skip = torch::ones_like(sigma);
  c.c_out = -sigma;
  c.c_in = 1 / (sigma.pow(2) + 1).sqrt();
  c.c_noise = (M_ - 1) * sigma_inv(sigma);
  return c;
}

}  // namespace edm::nn
