// Time-step discretizations {sigma_i}: EDM (rho), VP (epsilon_s), VE and
// iDDPM (M, C_1, C_2), as noise levels from sigma_max down to sigma_min.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace edm {

struct DiscretizationParams {
  double rho = 7;
  double epsilon_s = 1e-3;          // VP
  double C_1 = 0.001, C_2 = 0.008;  // iDDPM
  int64_t M = 1000;                 // iDDPM
};

// The iDDPM noise-level grid u_0..u_M, computed as the reference does:
// alpha_bar in float32, the recursion in `dtype`. The ablation sampler uses
// float64, the iDDPM preconditioning a float32 buffer.
torch::Tensor iddpm_u_tensor(int64_t M, double C_1, double C_2, torch::ScalarType dtype);
std::vector<double> iddpm_u_grid(int64_t M, double C_1, double C_2);

// "edm", "vp", "ve" or "iddpm": num_steps noise levels, largest first.
std::vector<double> sigma_steps(const std::string& discretization, int64_t num_steps, double sigma_min,
                                double sigma_max, const DiscretizationParams& p = {});

// The reference's default sigma range of each discretization.
double default_sigma_min(const std::string& discretization, const DiscretizationParams& p = {});
double default_sigma_max(const std::string& discretization);

}  // namespace edm
