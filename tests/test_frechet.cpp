#include "edm/core/error.h"
#include "edm/io/safetensors.h"
#include "edm/eval/frechet.h"
#include "testing.h"

namespace {

using namespace edm;

double rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-300); }
double rel(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / b.abs().max().item<double>();
}

class FrechetFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(FrechetFixture, MeanCovarianceAndDistanceMatchTheReference) {
  TensorFile f(test::reference("frechet.safetensors"));
  const std::string d = GetParam();
  auto f1 = f.get(d + ".features1"), f2 = f.get(d + ".features2");
  auto s1 = feature_stats(f1), s2 = feature_stats(f2);
  EXPECT_LT(rel(s1.mu, f.get(d + ".mu1")), 1e-12);
  EXPECT_LT(rel(s2.mu, f.get(d + ".mu2")), 1e-12);
  EXPECT_LT(rel(s1.sigma, f.get(d + ".sigma1")), 1e-10);
  EXPECT_LT(rel(s2.sigma, f.get(d + ".sigma2")), 1e-10);
  double fd_ref = f.get(d + ".fd").item<double>();
  EXPECT_LT(rel(frechet_distance(s1, s2), fd_ref), 1e-6);
  // From the reference's own statistics too.
  EXPECT_LT(
      rel(frechet_distance(f.get(d + ".mu1"), f.get(d + ".sigma1"), f.get(d + ".mu2"), f.get(d + ".sigma2")), fd_ref),
      1e-6);
  // Batch-by-batch accumulation gives the same statistics.
  FeatureAccumulator acc;
  for (int64_t i = 0; i < f1.size(0); i += 64) acc.add(f1.slice(0, i, std::min<int64_t>(f1.size(0), i + 64)));
  auto s = acc.finish();
  EXPECT_EQ(s.count, 500);
  EXPECT_LT(rel(s.mu, f.get(d + ".mu1")), 1e-12);
  EXPECT_LT(rel(s.sigma, f.get(d + ".sigma1")), 1e-9);
  EXPECT_LT(rel(frechet_distance(s, s2), fd_ref), 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Reference, FrechetFixture, ::testing::Values("d16", "d64"));

TEST(FrechetTest, KnownClosedForms) {
  // Identical Gaussians: 0. Isotropic a^2 I vs b^2 I in F dims: F (a - b)^2.
  auto eye = torch::eye(5, torch::kFloat64);
  auto mu = torch::arange(5, torch::kFloat64);
  EXPECT_NEAR(frechet_distance(mu, eye * 4, mu, eye * 4), 0, 1e-12);
  EXPECT_NEAR(frechet_distance(mu, eye * 4, mu + 1, eye * 9), 5 + 5 * 1.0, 1e-10);
}

TEST(FrechetTest, BadShapesAndTooFewSamples) {
  auto eye = torch::eye(3, torch::kFloat64);
  EXPECT_THROW(frechet_distance(torch::zeros({3}), eye, torch::zeros({4}), torch::eye(4)), Error);
  EXPECT_THROW(frechet_distance(torch::zeros({3}), torch::eye(4), torch::zeros({3}), eye), Error);
  EXPECT_THROW(feature_stats(torch::zeros({1, 3})), Error);
  FeatureAccumulator acc;
  acc.add(torch::zeros({1, 3}));
  EXPECT_THROW(acc.finish(), Error);
  EXPECT_THROW(acc.add(torch::zeros({2, 4})), Error);
}

TEST(FrechetTest, StatsFilesRoundTripAndRejectWrongShapes) {
  test::TempDir dir;
  auto s = feature_stats(torch::randn({10, 4}, torch::kFloat64));
  save_stats(dir / "s.safetensors", s, "det", "data");
  auto t = load_stats(dir / "s.safetensors");
  EXPECT_TRUE(torch::equal(s.mu, t.mu));
  EXPECT_TRUE(torch::equal(s.sigma, t.sigma));
  EXPECT_EQ(t.count, 10);
  save_tensors(dir / "bad.safetensors", {{"mu", torch::zeros({4})}, {"sigma", torch::zeros({4, 3})}});
  EXPECT_THROW(load_stats(dir / "bad.safetensors"), Error);
  save_tensors(dir / "none.safetensors", {{"x", torch::zeros({4})}});
  EXPECT_THROW(load_stats(dir / "none.safetensors"), Error);
}

}  // namespace
