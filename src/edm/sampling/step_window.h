// Time steps of a window, searched for a model and a sampler: one step from
// sigma_max straight down to sigma_hi, then EDM's rho-spaced levels from
// sigma_hi to sigma_lo (and the final step to 0). At the highest noise levels
// every trajectory moves alike (the denoised image is close to the data's
// mean), so one step covers them; the levels saved go to the middle levels,
// where trajectories part towards different images and few-step solvers
// lose the most. Three numbers, searched on a grid by the sampler's own
// end-point error on a few dozen seeds of the model (step_fit.h's
// objective): less room to fit one set of seeds' accidents than moving
// every level, though the error on the seeds searched still underestimates
// the error on others (docs/sampling.md).
#pragma once
#include <functional>
#include <vector>

#include "edm/sampling/samplers.h"

namespace edm {

struct StepWindow {
  double sigma_hi = 20, sigma_lo = 0.05, rho = 7;
};

// sigma_max > sigma_hi > sigma_lo > 0: the windows window_levels takes.
bool window_fits(double sigma_max, const StepWindow& w);

// t_0 = sigma_max, then num_levels - 1 EDM levels (exponent rho) from
// sigma_hi down to sigma_lo. Needs sigma_max > sigma_hi > sigma_lo > 0 and
// num_levels >= 3.
std::vector<double> window_levels(double sigma_max, const StepWindow& w, int64_t num_levels);

struct StepWindowGrid {
  std::vector<double> sigma_hi{40, 30, 25, 20, 15, 10};
  std::vector<double> sigma_lo{0.02, 0.05, 0.1};
  std::vector<double> rho{5, 7, 10};
};

// The grid's windows with sigma_max > sigma_hi > sigma_lo, in grid order.
// Throws UsageError for an empty list or one of more than 1000 values, a
// value that is not positive, or a grid with no such window.
std::vector<StepWindow> grid_windows(const StepWindowGrid& grid, double sigma_max);

struct StepWindowChoice {
  StepWindow window;
  double error = 0;            // the objective at the chosen window
  std::vector<double> levels;  // window_levels of it
  int64_t cases = 0;           // windows tried
};

// Every window of grid_windows(), scored by
// `error` (of the levels); the lowest (the first of equals, in grid order).
// `on_case` (optional) sees each window and its error as it is scored.
StepWindowChoice search_window(const std::function<double(const std::vector<double>&)>& error, double sigma_max,
                               int64_t num_levels, const StepWindowGrid& grid,
                               const std::function<void(const StepWindow&, double)>& on_case = {});

}  // namespace edm
