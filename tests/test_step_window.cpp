// Window time steps (step_window.h): sigma_max, then a rho window searched on
// a grid by the sampler's error.
#include <cmath>

#include "edm/core/error.h"
#include "edm/core/rng.h"
#include "edm/sampling/discretization.h"
#include "edm/sampling/ideal_denoiser.h"
#include "edm/sampling/step_fit.h"
#include "edm/sampling/step_window.h"
#include "testing.h"

using namespace edm;

TEST(StepWindow, LevelsAreSigmaMaxThenARhoWindow) {
  const auto t = window_levels(80, {20, 0.05, 7}, 6);
  ASSERT_EQ(t.size(), 6u);
  EXPECT_EQ(t[0], 80);
  EXPECT_NEAR(t[1], 20, 1e-12);
  EXPECT_NEAR(t[5], 0.05, 1e-15);
  // EDM's rho spacing inside the window: t^(1/rho) falls by equal amounts.
  const double d = std::pow(20, 1 / 7.0) - std::pow(0.05, 1 / 7.0);
  for (int i = 1; i < 6; ++i) EXPECT_NEAR(std::pow(t[i], 1 / 7.0), std::pow(20, 1 / 7.0) - d * (i - 1) / 4, 1e-12);
  DiscretizationParams p;
  p.rho = 7;
  const auto edm = sigma_steps("edm", 5, 0.05, 20, p);
  EXPECT_EQ(std::vector<double>(t.begin() + 1, t.end()), edm);
}

TEST(StepWindow, RefusesImpossibleWindows) {
  EXPECT_THROW(window_levels(80, {20, 0.05, 7}, 2), UsageError);  // no room for a window
  EXPECT_THROW(window_levels(80, {80, 0.05, 7}, 6), UsageError);  // sigma_hi not below sigma_max
  EXPECT_THROW(window_levels(80, {20, 20, 7}, 6), UsageError);    // sigma_lo not below sigma_hi
  EXPECT_THROW(window_levels(80, {20, 0, 7}, 6), UsageError);     // sigma_lo not positive
  EXPECT_THROW(window_levels(80, {20, 0.05, 0}, 6), UsageError);  // rho not positive
}

TEST(StepWindow, SearchFindsTheGridsLeastError) {
  // The error: distance to one window's levels, so that window must win.
  const auto target = window_levels(80, {15, 0.1, 10}, 7);
  auto error = [&](const std::vector<double>& t) {
    double e = 0;
    for (size_t i = 0; i < t.size(); ++i) e += std::abs(std::log(t[i] / target[i]));
    return e;
  };
  StepWindowGrid grid;
  grid.sigma_hi = {100, 40, 15, 10};  // 100 is above sigma_max: skipped
  grid.sigma_lo = {0.02, 0.1, 12};    // 12 is above sigma_hi = 10: skipped there
  grid.rho = {5, 10};
  int64_t seen = 0;
  auto best = search_window(error, 80, 7, grid, [&](const StepWindow&, double) { ++seen; });
  EXPECT_EQ(best.window.sigma_hi, 15);
  EXPECT_EQ(best.window.sigma_lo, 0.1);
  EXPECT_EQ(best.window.rho, 10);
  EXPECT_EQ(best.levels, target);
  EXPECT_NEAR(best.error, 0, 1e-12);
  EXPECT_EQ(best.cases, (2 * 3 + 1 * 2) * 2);  // 40 and 15 take all three sigma_lo; 10 takes two
  EXPECT_EQ(seen, best.cases);
  grid.sigma_hi = {100};
  EXPECT_THROW(search_window(error, 80, 7, grid), UsageError);  // no window fits
  grid.sigma_hi = {};
  EXPECT_THROW(grid_windows(grid, 80), UsageError);
  grid.sigma_hi = {20, -1};
  EXPECT_THROW(grid_windows(grid, 80), UsageError);
  grid.sigma_hi = {20};
  EXPECT_THROW(search_window([](const std::vector<double>&) { return std::nan(""); }, 80, 7, grid), Error);
}

TEST(StepWindow, SearchedWindowHelpsUniPCOnAMixture) {
  // An ideal denoiser of 64 points in 16 dimensions (std 0.1): the window is
  // searched on 32 seeds and measured on 32 others, against EDM's rho = 7
  // levels at the same NFE.
  auto pts = at::randn({64, 16}, seed_generator(7), torch::TensorOptions().dtype(torch::kFloat64));
  IdealDenoiser net(pts, {}, 0.1);
  std::vector<uint64_t> search_seeds, seeds;
  for (uint64_t i = 0; i < 32; ++i) search_seeds.push_back(100 + i), seeds.push_back(i);
  const SamplerInfo& unipc = find_sampler("unipc");
  StepFitObjective search(net, SeedBatch(search_seeds).randn({16}, torch::kFloat64, torch::kCPU), {}, unipc,
                          SamplerOptions{}, 256);
  StepFitObjective measure(net, SeedBatch(seeds).randn({16}, torch::kFloat64, torch::kCPU), {}, unipc, SamplerOptions{},
                           256);
  SamplerOptions edm;
  edm.num_steps = 8;
  auto edm_levels = noise_levels(net, edm);
  edm_levels.pop_back();
  auto best = search_window([&](const std::vector<double>& t) { return search(t); }, 80, 8, StepWindowGrid{});
  const double on_edm = measure(edm_levels), on_window = measure(best.levels);
  std::cout << "UniPC at 8 NFE: EDM's levels " << on_edm << ", window (sigma_hi " << best.window.sigma_hi
            << ", sigma_lo " << best.window.sigma_lo << ", rho " << best.window.rho << ") " << on_window << "\n";
  EXPECT_LT(on_window, on_edm / 2);
}
