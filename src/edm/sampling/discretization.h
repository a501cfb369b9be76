// Time-step discretizations {sigma_i}: EDM (rho), VP (epsilon_s), VE and
// iDDPM (M, C_1, C_2), as noise levels from sigma_max down to sigma_min.
// The VP and iDDPM formulas they use live in diffusion/vp.h, diffusion/iddpm.h.
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

// "edm", "vp", "ve", "iddpm" or "polyexp" (exponent p.rho): num_steps noise
// levels, largest first.
std::vector<double> sigma_steps(const std::string& discretization, int64_t num_steps, double sigma_min,
                                double sigma_max, const DiscretizationParams& p = {});

// The reference's default sigma range of each discretization.
double default_sigma_min(const std::string& discretization, const DiscretizationParams& p = {});
double default_sigma_max(const std::string& discretization);

}  // namespace edm
