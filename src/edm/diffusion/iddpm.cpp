#include "edm/diffusion/iddpm.h"

#include <cmath>

namespace edm {

torch::Tensor iddpm_u_tensor(int64_t M, double C_1, double C_2, torch::ScalarType dtype) {
  // Same tensor ops as the reference so that the rounding matches.
  auto alpha_bar = [&](int64_t j) {
    return (torch::tensor(j, torch::kInt64) * (0.5 * M_PI) / M / (C_2 + 1)).sin().pow(2);
  };
  auto u = torch::zeros({M + 1}, dtype);
  for (int64_t j = M; j > 0; --j) {
    auto ratio = (alpha_bar(j - 1) / alpha_bar(j)).clamp_min(C_1);
    u[j - 1] = ((u[j].pow(2) + 1) / ratio - 1).sqrt();
  }
  return u;
}

std::vector<double> iddpm_u_grid(int64_t M, double C_1, double C_2) {
  auto u = iddpm_u_tensor(M, C_1, C_2, torch::kFloat64).contiguous();
  return std::vector<double>(u.data_ptr<double>(), u.data_ptr<double>() + u.numel());
}

torch::Tensor iddpm_round_index(const torch::Tensor& sigma, const torch::Tensor& u) {
  // cdist as the reference (it switches to a matrix-product distance for long
  // grids), so that ties and near-ties round the same way.
  auto s = sigma.to(u.device()).to(torch::kFloat32).reshape({1, -1, 1});
  return torch::cdist(s, u.reshape({1, -1, 1})).argmin(2);
}

}  // namespace edm
