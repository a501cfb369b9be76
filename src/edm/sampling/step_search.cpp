#include "edm/sampling/step_search.h"

#include <cmath>
#include <limits>

#include "edm/core/error.h"

namespace edm {

std::vector<int64_t> cheapest_path(const std::vector<std::vector<double>>& cost, int64_t num_levels) {
  const int64_t n = static_cast<int64_t>(cost.size());
  if (num_levels < 2 || num_levels > n)
    throw UsageError("a path of " + std::to_string(num_levels) + " levels cannot be found on a grid of " +
                     std::to_string(n));
  const double inf = std::numeric_limits<double>::infinity();
  // best[k][j]: least cost of reaching level j in k steps; from[k][j]: the level before.
  std::vector<std::vector<double>> best(num_levels, std::vector<double>(n, inf));
  std::vector<std::vector<int64_t>> from(num_levels, std::vector<int64_t>(n, -1));
  best[0][0] = 0;
  for (int64_t k = 1; k < num_levels; ++k)
    for (int64_t j = k; j < n; ++j)
      for (int64_t i = k - 1; i < j; ++i)
        if (best[k - 1][i] + cost[i][j] < best[k][j]) best[k][j] = best[k - 1][i] + cost[i][j], from[k][j] = i;
  std::vector<int64_t> path(num_levels);
  path[num_levels - 1] = n - 1;
  for (int64_t k = num_levels - 1; k > 0; --k) path[k - 1] = from[k][path[k]];
  return path;
}

namespace {

// Heun on the grid (into sigma_min, no final denoising): the state and the
// Euler slope at every level, [levels][N, ...].
void trajectories(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& labels,
                  const std::vector<double>& t, std::vector<torch::Tensor>& x, std::vector<torch::Tensor>& d) {
  auto cur = latents.to(torch::kFloat64) * t[0];
  for (size_t i = 0; i < t.size(); ++i) {
    x.push_back(cur);
    d.push_back((cur - denoise_at(net, cur, t[i], labels)) / t[i]);
    if (i + 1 == t.size()) break;
    const double h = t[i + 1] - t[i];
    auto next = cur + h * d[i];
    auto d_next = (next - denoise_at(net, next, t[i + 1], labels)) / t[i + 1];
    cur = cur + h * 0.5 * (d[i] + d_next);
  }
}

}  // namespace

StepSearch::StepSearch(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                       const SamplerOptions& o, const StepSearchOptions& s) {
  validate(o);
  if (s.grid < 2 || s.grid > 1000000) throw UsageError("--grid must be in 2..1000000");
  SamplerOptions fine = o;
  fine.discretization = "edm";
  fine.num_steps = s.grid;
  fine.steps.clear();
  t_ = noise_levels(net, fine);
  t_.pop_back();  // the final 0
  std::vector<torch::Tensor> x, d;
  trajectories(net, latents, class_labels, t_, x, d);
  const size_t n = t_.size();
  cost_.assign(n, std::vector<double>(n, 0.0));
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j)
      cost_[i][j] = (x[i] + (t_[j] - t_[i]) * d[i] - x[j]).square().mean().sqrt().item<double>() /
                    std::sqrt(0.25 + t_[j] * t_[j]);
}

std::vector<double> StepSearch::levels(int64_t num_levels) const {
  std::vector<double> out;
  for (auto i : cheapest_path(cost_, num_levels)) out.push_back(t_[static_cast<size_t>(i)]);
  return out;
}

}  // namespace edm
