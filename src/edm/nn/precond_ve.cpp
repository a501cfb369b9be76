// VE preconditioning (Song et al. 2021): the network predicts the scaled
// negative noise; c_noise = log(sigma / 2).
#include "edm/nn/preconditioned.h"

namespace edm::nn {

VEPrecond::VEPrecond(const nlohmann::json& config, const Build& build) {
  ConfigReader r(config, "edm.config");
  sigma_min_ = r.number("sigma_min", 0.02);
  sigma_max_ = r.number("sigma_max", 100);
  build_model(r, config, "SongUNet", 1, build);
}

Coefficients VEPrecond::coefficients(const torch::Tensor& sigma) {
  Coefficients c;
  c.c_skip = torch::ones_like(sigma);
  c.c_out = sigma;
  c.c_in = torch::ones_like(sigma);
  c.c_noise = (0.5 * sigma).log();
  return c;
}

}  // namespace edm::nn
