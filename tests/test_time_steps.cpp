// Time steps beyond rho: polyexponential, a steps file, and the GITS-style
// search by dynamic programming.
#include <cmath>
#include <fstream>

#include "edm/core/error.h"
#include "edm/core/rng.h"
#include "edm/sampling/ideal_denoiser.h"
#include "edm/sampling/samplers.h"
#include "edm/sampling/step_search.h"
#include "edm/sampling/steps_file.h"
#include "testing.h"

using namespace edm;

TEST(TimeSteps, PolyexponentialIsLogUniformAtRhoOne) {
  DiscretizationParams p;
  p.rho = 1;
  auto t = sigma_steps("polyexp", 5, 0.01, 100, p);
  ASSERT_EQ(t.size(), 5u);
  EXPECT_NEAR(t[0], 100, 1e-12);
  EXPECT_NEAR(t[4], 0.01, 1e-15);
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(std::log10(t[i]), 2 - i, 1e-12);
  p.rho = 2;  // more levels at low noise: log sigma along (1 - i/4)^2
  t = sigma_steps("polyexp", 5, 0.01, 100, p);
  EXPECT_NEAR(std::log10(t[2]), -2 + 4 * 0.25, 1e-12);
}

TEST(TimeSteps, StepsFileRoundTripAndBadFiles) {
  test::TempDir dir;
  const std::string path = dir / "steps.txt";
  write_steps_file(path, {80, 10.5, 1, 0.002}, "four levels");
  EXPECT_EQ(read_steps_file(path), (std::vector<double>{80, 10.5, 1, 0.002}));
  for (std::string bad : {"80 10 x 1", "1 2 3", "80 -1", "", "# nothing\n0", "80 10 10 1"}) {
    std::ofstream(path) << bad;
    EXPECT_THROW(read_steps_file(path), Error) << bad;
  }
  EXPECT_THROW(read_steps_file(dir / "missing.txt"), Error);
}

TEST(TimeSteps, SamplersRunOnTheFilesLevels) {
  auto pts = torch::linspace(-1, 1, 16, torch::kFloat64).reshape({1, 16});
  IdealDenoiser net(pts, {}, 0.5);
  SeedBatch rnd({0, 1});
  auto lat = rnd.randn({16}, torch::kFloat64, torch::kCPU);
  auto zero = [](const torch::Tensor& x) { return torch::zeros_like(x); };
  SamplerOptions edm;
  edm.num_steps = 7;
  SamplerOptions file = edm;
  file.steps = noise_levels(net, edm);
  file.steps.pop_back();
  for (const char* name : {"edm", "ipndm", "unipc", "dpmpp3m"})
    EXPECT_EQ(
        test::max_abs_diff(run_sampler(name, net, lat, {}, zero, file), run_sampler(name, net, lat, {}, zero, edm)), 0)
        << name;
  file.num_steps = 6;  // not the file's count
  EXPECT_THROW(run_sampler("edm", net, lat, {}, zero, file), UsageError);
  file.num_steps = 7;
  EXPECT_THROW(run_sampler("ablation", net, lat, {}, zero, file), UsageError);  // has its own steps
}

TEST(TimeSteps, CheapestPathIsTheDynamicProgramsOptimum) {
  // Cost of a jump i -> j: (j - i)^2, so the best path spreads the jumps evenly.
  std::vector<std::vector<double>> cost(7, std::vector<double>(7, 0.0));
  for (int i = 0; i < 7; ++i)
    for (int j = i + 1; j < 7; ++j) cost[i][j] = (j - i) * (j - i);
  EXPECT_EQ(cheapest_path(cost, 4), (std::vector<int64_t>{0, 2, 4, 6}));
  EXPECT_EQ(cheapest_path(cost, 7), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  cost[0][3] = 0;  // a free long jump is taken
  EXPECT_EQ(cheapest_path(cost, 3), (std::vector<int64_t>{0, 3, 6}));
  EXPECT_THROW(cheapest_path(cost, 8), UsageError);
}

TEST(TimeSteps, SearchedStepsHelpIpndm) {
  // A two-mode mixture: levels searched with 16 other seeds against EDM's
  // rho = 7 levels at the same NFE.
  auto pts = torch::tensor({-1.0, 1.0}, torch::kFloat64).reshape({2, 1}).repeat({1, 8});
  IdealDenoiser net(pts, {}, 0.1);
  auto zero = [](const torch::Tensor& x) { return torch::zeros_like(x); };
  SeedBatch search_seeds({100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115});
  StepSearch search(net, search_seeds.randn({8}, torch::kFloat64, torch::kCPU), {}, SamplerOptions{}, {128});
  SeedBatch rnd({0, 1, 2, 3, 4, 5, 6, 7});
  auto lat = rnd.randn({8}, torch::kFloat64, torch::kCPU);
  SamplerOptions fine;
  fine.num_steps = 512;
  auto truth = run_sampler("edm", net, lat, {}, zero, fine);
  SamplerOptions edm;
  edm.num_steps = 8;
  SamplerOptions searched = edm;
  searched.steps = search.levels(8);
  ASSERT_EQ(searched.steps.size(), 8u);
  EXPECT_NEAR(searched.steps.front(), 80, 1e-9);
  EXPECT_NEAR(searched.steps.back(), 0.002, 1e-12);
  // On this model iPNDM gains sixfold (0.027 against 0.161); Euler, Heun and
  // UniPC do not (docs/sampling.md).
  auto err = [&](const char* sampler, const SamplerOptions& o) {
    return (run_sampler(sampler, net, lat, {}, zero, o) - truth).square().mean().sqrt().item<double>();
  };
  for (const char* s : {"ddim", "ipndm", "unipc", "edm"})
    std::cout << s << ": EDM steps " << err(s, edm) << ", searched " << err(s, searched) << "\n";
  EXPECT_LT(err("ipndm", searched), err("ipndm", edm) / 3);
}
