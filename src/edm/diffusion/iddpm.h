// The iDDPM noise levels (Nichol & Dhariwal 2021): M + 1 levels u_j of the
// cosine schedule, u_M = 0, u_{j-1} = sqrt((u_j^2 + 1) / max(abar_{j-1} /
// abar_j, C_1) - 1). Shared by the iDDPM discretization (sampler) and the
// iDDPM preconditioning (which rounds sigma onto the grid).
#pragma once
#include <torch/torch.h>

#include <vector>

namespace edm {

// The grid u_0..u_M as the reference computes it: alpha_bar in float32, the
// recursion in `dtype` (float64 in the ablation sampler, float32 in the
// iDDPM preconditioning's buffer).
torch::Tensor iddpm_u_tensor(int64_t M, double C_1, double C_2, torch::ScalarType dtype);
// The float64 grid.
std::vector<double> iddpm_u_grid(int64_t M, double C_1, double C_2);

// Index j of the level u_j nearest to each sigma, [1, numel] int64 on u's device.
torch::Tensor iddpm_round_index(const torch::Tensor& sigma, const torch::Tensor& u);

}  // namespace edm
