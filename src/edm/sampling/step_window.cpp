#include "edm/sampling/step_window.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "edm/core/error.h"
#include "edm/sampling/discretization.h"

namespace edm {

bool window_fits(double sigma_max, const StepWindow& w) {
  return sigma_max > w.sigma_hi && w.sigma_hi > w.sigma_lo && w.sigma_lo > 0;
}

std::vector<double> window_levels(double sigma_max, const StepWindow& w, int64_t num_levels) {
  if (num_levels < 3) throw UsageError("a window needs at least 3 noise levels, got " + std::to_string(num_levels));
  if (!window_fits(sigma_max, w)) {
    std::ostringstream s;
    s << "a window needs sigma_max > sigma_hi > sigma_lo > 0, got " << sigma_max << ", " << w.sigma_hi << ", "
      << w.sigma_lo;
    throw UsageError(s.str());
  }
  if (!(w.rho > 0)) throw UsageError("a window's rho must be positive, got " + std::to_string(w.rho));
  DiscretizationParams p;
  p.rho = w.rho;
  std::vector<double> t{sigma_max};
  for (double s : sigma_steps("edm", num_levels - 1, w.sigma_lo, w.sigma_hi, p)) t.push_back(s);
  return t;
}

std::vector<StepWindow> grid_windows(const StepWindowGrid& grid, double sigma_max) {
  for (const auto* values : {&grid.sigma_hi, &grid.sigma_lo, &grid.rho}) {
    if (values->empty()) throw UsageError("a window grid needs at least one sigma_hi, sigma_lo and rho");
    if (values->size() > 1000) throw UsageError("a window grid takes at most 1000 values of each number");
    for (double v : *values)
      if (!(v > 0 && std::isfinite(v)))
        throw UsageError("a window grid's values must be positive and finite, got " + std::to_string(v));
  }
  std::vector<StepWindow> windows;
  for (double hi : grid.sigma_hi)
    for (double lo : grid.sigma_lo)
      for (double rho : grid.rho)
        if (window_fits(sigma_max, {hi, lo, rho})) windows.push_back({hi, lo, rho});
  if (windows.empty()) {
    std::ostringstream s;
    s << "no window of the grid fits below sigma_max " << sigma_max << " (each needs sigma_max > sigma_hi > sigma_lo)";
    throw UsageError(s.str());
  }
  return windows;
}

StepWindowChoice search_window(const std::function<double(const std::vector<double>&)>& error, double sigma_max,
                               int64_t num_levels, const StepWindowGrid& grid,
                               const std::function<void(const StepWindow&, double)>& on_case) {
  StepWindowChoice best;
  best.error = std::numeric_limits<double>::infinity();
  for (const auto& w : grid_windows(grid, sigma_max)) {
    auto levels = window_levels(sigma_max, w, num_levels);
    const double e = error(levels);
    ++best.cases;
    if (on_case) on_case(w, e);
    if (e < best.error) best.window = w, best.error = e, best.levels = std::move(levels);
  }
  if (best.levels.empty()) throw Error("the sampler's error was not finite on any window of the grid");
  return best;
}

}  // namespace edm
