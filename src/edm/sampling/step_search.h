// A search of time steps for a model and an NFE budget, GITS-style (Chen et
// al. 2024): the model's own trajectories on a fine grid of noise levels, the
// error of one Euler step from each grid level to each lower one as the cost
// of that step, and the path of exactly `num_levels` levels from sigma_max to
// sigma_min of least total cost by dynamic programming. The error is taken
// relative to the scale of x at the step's end, sqrt(0.5^2 + sigma^2), which
// is how it carries to the sample: absolute errors at high noise shrink on
// the way down, and weighting them fully starves the low-noise steps.
#pragma once
#include <vector>

#include "edm/sampling/sampler.h"

namespace edm {

struct StepSearchOptions {
  int64_t grid = 256;  // fine EDM levels (rho and sigma range from the sampler options)
};

// The trajectories of `latents` (a few dozen seeds) on the grid and the step
// costs, computed once; then noise levels for any number of levels.
class StepSearch {
 public:
  StepSearch(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels, const SamplerOptions& o,
             const StepSearchOptions& s = {});
  // t_0 = sigma_max > ... > t_{num_levels-1} = sigma_min, on the grid.
  std::vector<double> levels(int64_t num_levels) const;

 private:
  std::vector<double> t_;
  std::vector<std::vector<double>> cost_;
};

// The dynamic program alone: cost[i][j] (i < j) of a step from grid level i
// to j; the indices of the cheapest path 0 -> n-1 with `num_levels` levels.
std::vector<int64_t> cheapest_path(const std::vector<std::vector<double>>& cost, int64_t num_levels);

}  // namespace edm
