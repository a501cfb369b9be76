// Restart sampling (Xu et al. 2023): the ODE solved with Heun on the main
// time steps; on reaching an interval's t_min, K times: forward noise up to
// t_max, then n Heun steps (EDM steps, same rho) back down to t_min.
#pragma once
#include <string>
#include <vector>

namespace edm {

struct RestartInterval {
  int64_t n, K;
  double t_min, t_max;
};

// "n,K,t_min,t_max" intervals joined by ':'; throws edm::UsageError naming
// what is wrong (n, K >= 1, 0 < t_min < t_max).
std::vector<RestartInterval> parse_restart(const std::string& spec);

}  // namespace edm
