#include <cmath>

#include "edm/core/error.h"
#include "edm/eval/frechet.h"
#include "edm/io/safetensors.h"
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

TEST(FrechetTest, StatisticsThatAreNoGaussianAreRefused) {
  test::TempDir dir;
  auto eye = torch::eye(3, torch::kFloat64);
  auto mu = torch::zeros({3}, torch::kFloat64);
  auto nan_mu = mu.clone();
  nan_mu[1] = std::nan("");
  auto not_psd = torch::diag(torch::tensor({1.0, -2.0, 1.0}, torch::kFloat64));
  auto not_symmetric = eye.clone();
  not_symmetric[0][2] = 0.5;
  EXPECT_THROW(frechet_distance(nan_mu, eye, mu, eye), Error);
  EXPECT_THROW(frechet_distance(mu, not_psd, mu, eye), Error);
  EXPECT_THROW(frechet_distance(mu, eye, mu, not_symmetric), Error);
  for (const auto& [m, s] : {std::pair{nan_mu, eye}, std::pair{mu, not_psd}}) {
    save_tensors(dir / "s.safetensors", {{"mu", m}, {"sigma", s}});
    EXPECT_THROW(load_stats(dir / "s.safetensors"), Error);
  }
  // A rank-deficient sample covariance is a covariance: rounding must not trip the check.
  auto rank1 = feature_stats(torch::randn({2, 50}, torch::kFloat64));
  EXPECT_NO_THROW(frechet_distance(rank1.mu, rank1.sigma, rank1.mu, rank1.sigma));
}

}  // namespace
