#include <cmath>

#include "edm/core/error.h"
#include "edm/core/rng.h"
#include "edm/io/image.h"
#include "edm/toy/toy1d.h"
#include "edm/toy/toy2d.h"
#include "edm/train/loss.h"
#include "testing.h"

namespace {

using namespace edm;

TEST(ToyTest, MixtureDenoiserIsThePosteriorMean) {
  auto m = Mixture1d::bimodal();
  // Numerical E[y | x] by quadrature over y.
  for (double sigma : {0.05, 0.5, 2.0})
    for (double x : {-1.7, -0.2, 0.4, 1.3}) {
      double num = 0, den = 0;
      for (double y = -4; y <= 4; y += 1e-4) {
        double p = m.density(y, 0) * std::exp(-0.5 * (x - y) * (x - y) / (sigma * sigma));
        num += y * p, den += p;
      }
      EXPECT_NEAR(m.denoise(x, sigma), num / den, 1e-6) << "x " << x << " sigma " << sigma;
    }
  // Large noise: D -> the data mean; no noise: D(x) -> x for a tight component.
  EXPECT_NEAR(m.denoise(0.3, 1e4), 0.4 * -1 + 0.6 * 1, 1e-4);
}

TEST(ToyTest, OdeEndsOnTheDataAndEveryScheduleGivesTheSameEndpoints) {
  auto m = Mixture1d::bimodal();
  Toy1dOptions o;
  o.num_sde = 2;
  std::vector<double> ends;
  std::map<std::string, double> bend;
  for (const std::string s : {"linear", "vp", "ve"}) {
    o.schedule = s;
    auto r = toy1d_paths(m, o);
    ASSERT_EQ(r.ode.size(), 15u);
    std::vector<double> e;
    for (const auto& p : r.ode) {
      EXPECT_NEAR(p.t.back(), 0, 1e-12);
      e.push_back(p.x.back());
    }
    // The probability-flow ODE does not depend on the schedule, only its clock does.
    if (!ends.empty()) {
      for (size_t k = 0; k < e.size(); ++k) EXPECT_NEAR(e[k], ends[k], 2e-3) << s;
    }
    ends = e;
    bend[s] = r.ode_straightness;
    for (const auto& p : r.sde) EXPECT_TRUE(std::isfinite(p.x.back()));
  }
  // Curves end near the modes at -1 and +1, ordered (the flow preserves order).
  for (size_t k = 1; k < ends.size(); ++k) EXPECT_LE(ends[k - 1], ends[k] + 1e-9);
  EXPECT_NEAR(ends.front(), -1, 0.5);
  EXPECT_NEAR(ends.back(), 1, 0.6);
  // sigma(t) = t gives the straightest curves.
  EXPECT_LT(bend["linear"], bend["vp"]);
  EXPECT_LT(bend["linear"], bend["ve"]);
}

TEST(ToyTest, CommandsWritePictures) {
  test::TempDir dir;
  auto r = test::run_edm("toy --schedule all --out '" + (dir / "t.png") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_image(dir / "t.png").size(0), 3);
  r = test::run_edm("toy --schedule cosine --out '" + (dir / "u.png") + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = test::run_edm("toy 2d --threads 1 --data spiral --train-steps 300 --samples 300 --steps 8 --out '" +
                    (dir / "s.png") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_image(dir / "s.png").size(0), 3);
  r = test::run_edm("toy 2d --data circles --out '" + (dir / "c.png") + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

TEST(ToyTest, TrainingDrawsNoiseLevelsFromItsOwnGenerator) {
  // The toy draws sigma ~ p_train from its seeded generator, leaving the default one alone.
  LossConfig c;
  torch::manual_seed(11);
  auto expected = torch::randn({4});
  torch::manual_seed(11);
  auto a = sample_sigma(c, 256, torch::kCPU, seed_generator(7));
  EXPECT_TRUE(torch::equal(torch::randn({4}), expected));
  EXPECT_TRUE(torch::equal(a, sample_sigma(c, 256, torch::kCPU, seed_generator(7))));
  EXPECT_FALSE(torch::equal(a, sample_sigma(c, 256, torch::kCPU, seed_generator(8))));
  EXPECT_NEAR(a.log().mean().item<double>(), c.P_mean, 0.25);  // ln sigma ~ N(-1.2, 1.2^2)
  // Same seed, same model.
  auto data = toy2d_data("moons", 500, 0);
  Toy2dOptions o;
  o.steps = 20, o.batch = 64, o.hidden = 16;
  double l1 = 0, l2 = 0;
  train_toy2d(data, o, &l1);
  torch::randn({100});
  train_toy2d(data, o, &l2);
  EXPECT_EQ(l1, l2);
}

TEST(ToyTest, TwoDimensionalModelLearnsTheData) {
  // (gmm needs longer training than a test can afford: stragglers between modes.)
  for (const std::string name : {"moons"}) {
    auto data = toy2d_data(name, 8000, 0);
    Toy2dOptions o;
    o.data = name;
    o.steps = 1500;
    auto net = train_toy2d(data, o);
    auto samples = sample_toy2d(*net, 1000, 24, 3);
    auto held_out = toy2d_data(name, 1000, 99);
    double ds = nearest_distance(samples, data), dh = nearest_distance(held_out, data);
    // Samples lie about as close to the data as fresh data does; noise would not.
    EXPECT_LT(ds, 3 * dh) << name;
    EXPECT_GT(nearest_distance(torch::randn({1000, 2}) * 0.5, data), 3 * dh) << name;
  }
}

}  // namespace
