// iDDPM preconditioning (Nichol & Dhariwal 2021): the network was trained on
// M discrete noise levels u_j, so sigma is rounded onto that grid and the
// network sees its index; it predicts noise and variances (2x channels).
#include <cmath>

#include "edm/core/error.h"
#include "edm/nn/preconditioned.h"

namespace edm::nn {

namespace {

// alpha_bar(j) of the cosine schedule, float32 as the reference.
torch::Tensor alpha_bar(int64_t j, int64_t M, double C_2) {
  auto t = torch::full({}, double(j), torch::kFloat32);
  return (0.5 * M_PI * t / double(M) / (C_2 + 1)).sin().pow(2);
}

}  // namespace

iDDPMPrecond::iDDPMPrecond(const nlohmann::json& config, const Build& build) {
  ConfigReader r(config, "edm.config");
  C_1_ = r.number("C_1", 0.001);
  C_2_ = r.number("C_2", 0.008);
  M_ = r.integer("M", 1000);
  if (M_ < 2) throw Error("edm.config: \"M\" must be at least 2");
  build_model(r, config, "DhariwalUNet", 2, build);
  // u_{j-1} = sqrt((u_j^2 + 1) / max(alpha_bar(j-1) / alpha_bar(j), C_1) - 1), u_M = 0.
  auto u = torch::zeros({M_ + 1}, torch::kFloat32);
  for (int64_t j = M_; j > 0; --j) {
    auto ratio = (alpha_bar(j - 1, M_, C_2_) / alpha_bar(j, M_, C_2_)).clamp_min(C_1_);
    u[j - 1] = ((u[j].pow(2) + 1) / ratio - 1).sqrt();
  }
  sigma_min_ = u[M_ - 1].item<double>();
  sigma_max_ = u[0].item<double>();
  u_ = register_buffer("u", u.to(build.device));
}

torch::Tensor iDDPMPrecond::round_sigma_index(const torch::Tensor& sigma) const {
  // cdist as the reference (it switches to a matrix-product distance for long
  // grids), so that ties and near-ties round the same way.
  auto s = sigma.to(u_.device()).to(torch::kFloat32).reshape({1, -1, 1});
  return torch::cdist(s, u_.reshape({1, -1, 1})).argmin(2);
}

torch::Tensor iDDPMPrecond::round_sigma(const torch::Tensor& sigma) const {
  auto index = round_sigma_index(sigma);
  return u_.index({index.flatten()}).to(sigma.scalar_type()).reshape(sigma.sizes()).to(sigma.device());
}

Coefficients iDDPMPrecond::coefficients(const torch::Tensor& sigma) {
  Coefficients c;
  c.c_skip = torch::ones_like(sigma);
  c.c_out = -sigma;
  c.c_in = 1 / (sigma.pow(2) + 1).sqrt();
  c.c_noise = double(M_ - 1) - round_sigma_index(sigma).to(torch::kFloat32).reshape(sigma.sizes()).to(sigma.device());
  return c;
}

}  // namespace edm::nn
