// EDM preconditioning (paper Table 1, "Ours"): unit-variance network input and
// training target for data of standard deviation sigma_data.
#include <cmath>

#include "edm/nn/preconditioned.h"

namespace edm::nn {

EDMPrecond::EDMPrecond(const nlohmann::json& config, const Build& build) {
  ConfigReader r(config, "edm.config");
  sigma_min_ = r.number("sigma_min", 0);
  sigma_max_ = r.number("sigma_max", INFINITY);
  sigma_data_ = r.number("sigma_data", 0.5);
  build_model(r, config, "DhariwalUNet", 1, build);
}

Coefficients EDMPrecond::coefficients(const torch::Tensor& sigma) {
  const double sd2 = sigma_data_ * sigma_data_;
  Coefficients c;
  c.c_skip = sd2 / (sigma.square() + sd2);
  c.c_out = sigma * sigma_data_ / (sigma.square() + sd2).sqrt();
  c.c_in = 1 / (sd2 + sigma.square()).sqrt();
  c.c_noise = sigma.log() / 4;
  return c;
}

}  // namespace edm::nn
