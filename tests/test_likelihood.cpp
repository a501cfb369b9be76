// Likelihood by the probability-flow ODE where the density is known in
// closed form: ideal denoisers of a Gaussian and of a two-component mixture,
// whose data convolved with N(0, sigma_min^2) is again Gaussian (mixture).
// Plus the divergence itself (exact against finite differences, Hutchinson's
// estimator unbiased) and the 8-bit accounting.
#include <cmath>

#include "edm/core/error.h"
#include "edm/core/rng.h"
#include "edm/likelihood/dequantize.h"
#include "edm/likelihood/image_likelihood.h"
#include "edm/nn/precond.h"
#include "edm/sampling/ideal_denoiser.h"
#include "edm/toy/toy2d.h"
#include "testing.h"

using namespace edm;

namespace {

const double kSigmaMin = 0.002;  // the default lower end of the ODE

// -log of sum_k w_k N(x; y_k, var I) per row of x [N, d], weights equal.
torch::Tensor mixture_nll(const torch::Tensor& x, const torch::Tensor& points, double var) {
  const double d = static_cast<double>(x.size(1));
  auto dist2 = (x.unsqueeze(1) - points.unsqueeze(0)).square().sum(2);  // [N, K]
  auto log_n = -dist2 / (2 * var) - 0.5 * d * std::log(2 * M_PI * var);
  return -(torch::logsumexp(log_n, 1) - std::log(static_cast<double>(points.size(0))));
}

// x [N, d] drawn from the mixture of `points` blurred by `std`, per seed.
torch::Tensor draw(const torch::Tensor& points, double std, int64_t n) {
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < n; ++i) {
    auto gen = seed_generator(100 + i);
    const int64_t k = torch::randint(points.size(0), {1}, gen, torch::kInt64).item<int64_t>();
    rows.push_back(points[k] + std * torch::randn({points.size(1)}, gen, torch::kFloat64));
  }
  return torch::stack(rows);
}

struct Case {
  const char* name;
  torch::Tensor points;
  double std;
};

// One Gaussian N(m, 0.6^2 I) in 8 dimensions; two components +-y of std 0.5 in
// 4 dimensions, 3.6 apart along a direction no axis follows (so that the
// Jacobian of D is not diagonal).
std::vector<Case> cases() {
  return {{"gaussian", torch::linspace(-0.5, 0.5, 8, torch::kFloat64).reshape({1, 8}), 0.6},
          {"mixture", torch::tensor({{1.2, -0.6, 0.9, 1.0}, {-1.2, 0.6, -0.9, -1.0}}, torch::kFloat64), 0.5}};
}

// The exact NLL of x under the data convolved with N(0, sigma_min^2).
torch::Tensor exact_nll(const Case& c, const torch::Tensor& x) {
  return mixture_nll(x, c.points, c.std * c.std + kSigmaMin * kSigmaMin);
}

// Test inputs: draws from the data, the components' centres and, for the
// mixture, the low-density midpoint between them.
torch::Tensor inputs(const Case& c) {
  auto x = torch::cat({draw(c.points, c.std, 12), c.points});
  return c.points.size(0) > 1 ? torch::cat({x, c.points.mean(0, true)}) : x;
}

double max_rel_err(const torch::Tensor& nll, const torch::Tensor& truth) {
  return ((nll - truth).abs() / truth.abs()).max().item<double>();
}

}  // namespace

TEST(Likelihood, ExactDivergenceGivesTheClosedFormDensity) {
  for (const auto& c : cases()) {
    IdealDenoiser net(c.points, {}, c.std);
    const auto x = inputs(c), truth = exact_nll(c, x);
    LikelihoodOptions o;  // 32 EDM levels, 0.002..80, as `edm likelihood` by default
    o.exact = true;
    const auto nll = ode_nll_of_images(net, x, {}, 0, o);
    std::cout << c.name << ": NLL " << nll.mean().item<double>() << " nats (exact " << truth.mean().item<double>()
              << "), largest relative error " << max_rel_err(nll, truth) << "\n";
    EXPECT_GT(truth.abs().min().item<double>(), 1.0) << c.name;  // so that 1% is a real bound
    EXPECT_LT(max_rel_err(nll, truth), 0.01) << c.name;
  }
}

TEST(Likelihood, RungeKuttaConvergesToTheDensityWithMoreLevels) {
  const auto c = cases()[1];
  IdealDenoiser net(c.points, {}, c.std);
  const auto x = inputs(c), truth = exact_nll(c, x);
  std::vector<double> err;
  for (int steps : {16, 32, 64}) {
    LikelihoodOptions o;
    o.exact = true;
    o.levels.num_steps = steps;
    o.levels.sigma_max = 500;  // the prior N(0, sigma_max^2) then costs < 1e-3 nats
    err.push_back((ode_nll_of_images(net, x, {}, 0, o) - truth).abs().max().item<double>());
    std::cout << steps << " levels: largest error " << err.back() << " nats\n";
  }
  EXPECT_LT(err[1], err[0] / 8);  // fourth order: 16x from 8 to 16 levels where the steps resolve the path
  EXPECT_LT(err[2], 2e-3);
}

TEST(Likelihood, HutchinsonWithEnoughProbesGivesTheClosedFormDensity) {
  // The Gaussian: dD/dx = c(sigma) I, on which one Rademacher probe is exact.
  {
    const auto c = cases()[0];
    IdealDenoiser net(c.points, {}, c.std);
    const auto x = inputs(c), truth = exact_nll(c, x);
    LikelihoodOptions o;  // one Rademacher probe
    const auto nll = ode_nll_of_images(net, x, {}, 0, o);
    std::cout << "gaussian, 1 Rademacher probe: largest relative error " << max_rel_err(nll, truth) << "\n";
    EXPECT_LT(max_rel_err(nll, truth), 0.01);
  }
  // The mixture's Jacobian has off-diagonal terms: at 64 probes its items
  // are off by up to 8%, its midpoint by 15%. 16,384 probes per item, run
  // as 16,384 copies with one probe each: x's path does not depend on the
  // probes, so the mean over the copies is the 16,384-probe estimate.
  const auto c = cases()[1];
  const int64_t k = 16384;
  IdealDenoiser net(c.points, {}, c.std);
  const auto x = inputs(c), truth = exact_nll(c, x);
  const int64_t n = x.size(0), d = x.size(1);
  auto gen = seed_generator(11);
  auto probes = draw_probes(ProbeKind::Rademacher, n * k, {d}, gen).unsqueeze(0);
  SamplerOptions levels;
  levels.num_steps = 32;
  auto nll = ode_likelihood(net, x.repeat_interleave(k, 0), {}, probes, levels).nll.view({n, k}).mean(1);
  std::cout << "mixture, " << k << " Rademacher probes: largest relative error " << max_rel_err(nll, truth) << "\n";
  EXPECT_LT(max_rel_err(nll, truth), 0.01);
}

TEST(Likelihood, GaussianProbesAverageToTheDensityOverItems) {
  // Gaussian probes on the Gaussian, where dD/dx = c(sigma) I: each item's
  // error is (|eps|^2 / (K d) - 1) int d c(sigma) / sigma dsigma, of standard
  // deviation 5.7 sqrt(2 d / K) nats here (d = 8: 5.7 nats at K = 16, where
  // 1% of the NLL would take K ~ 10^6), but of zero mean: over 400 items the
  // mean error is within its standard error.
  const auto c = cases()[0];
  IdealDenoiser net(c.points, {}, c.std);
  const auto x = draw(c.points, c.std, 400), truth = exact_nll(c, x);
  LikelihoodOptions o;
  o.probes = 16;
  o.probe = ProbeKind::Gaussian;
  const auto nll = ode_nll_of_images(net, x, {}, 0, o);
  const double mean_err = (nll - truth).mean().item<double>();
  const double sem = (nll - truth).std().item<double>() / std::sqrt(400.0);
  std::cout << "Gaussian probes: mean error " << mean_err << " nats, standard error " << sem << ", spread per item "
            << (nll - truth).std().item<double>() << "\n";
  EXPECT_LT(std::abs(mean_err), 4 * sem);
  EXPECT_LT(sem, 0.1 * truth.mean().item<double>());   // the test can see a bias of 40%
  EXPECT_GT((nll - truth).std().item<double>(), 2.0);  // each item's estimate is noisy: probes were used
}

TEST(Likelihood, HutchinsonEstimatorIsUnbiased) {
  const auto c = cases()[1];
  IdealDenoiser net(c.points, {}, c.std);
  const auto x = torch::tensor({{0.3, 0.1, -0.2, 0.4}}, torch::kFloat64);
  const double sigma = 1.5;  // where both components weigh: off-diagonal terms are large
  const auto exact = denoise_with_trace(net, x, sigma, {}, {}).second.item<double>();
  auto gen = seed_generator(7);
  for (auto kind : {ProbeKind::Rademacher, ProbeKind::Gaussian}) {
    const int64_t k = 20000;
    // One estimate per probe (K = 1), k times: x repeated, probe i for copy i.
    auto probes = draw_probes(kind, k, {4}, gen).unsqueeze(0);
    auto est = denoise_with_trace(net, x.expand({k, 4}), sigma, {}, probes).second;
    const double mean = est.mean().item<double>(), sem = est.std().item<double>() / std::sqrt(double(k));
    std::cout << (kind == ProbeKind::Gaussian ? "gaussian" : "rademacher") << ": mean " << mean << " exact " << exact
              << " standard error " << sem << "\n";
    EXPECT_GT(est.std().item<double>(), 0.05);  // not exact probe by probe
    EXPECT_LT(std::abs(mean - exact), 4 * sem);
    EXPECT_LT(sem, 0.01 * std::abs(exact));  // the test has the power to see a bias of 4%
  }
}

TEST(Likelihood, ExactTraceThroughANetworkMatchesFiniteDifferences) {
  torch::manual_seed(3);
  auto net = as_denoiser(networks::make_precond(toy2d_config(16)), torch::kCPU);
  const auto x = torch::tensor({{0.3, -0.7}, {1.1, 0.2}}, torch::kFloat64);
  const double sigma = 0.4, h = 1e-3;
  const auto trace = denoise_with_trace(*net, x, sigma, {}, {}).second;
  auto s = torch::tensor(sigma, torch::kFloat64);
  torch::Tensor fd = torch::zeros({2}, torch::kFloat64);
  for (int64_t i = 0; i < 2; ++i) {
    auto e = torch::zeros_like(x);
    e.select(1, i).fill_(h);
    auto dd = net->denoise(x + e, s).to(torch::kFloat64) - net->denoise(x - e, s).to(torch::kFloat64);
    fd += dd.select(1, i) / (2 * h);
  }
  std::cout << "trace " << trace << " finite differences " << fd << "\n";
  EXPECT_GT(trace.abs().max().item<double>(), 0.1);
  EXPECT_LT(test::max_abs_diff(trace, fd), 2e-3);  // float32 network: differences good to ~1e-4
}

TEST(Likelihood, ItemsDoNotDependOnTheirBatch) {
  const auto c = cases()[1];
  IdealDenoiser net(c.points, {}, c.std);
  auto pixels = torch::randint(0, 256, {4, 4}, torch::kUInt8);  // 8-bit "images" of 4 values
  LikelihoodOptions o;
  o.levels.num_steps = 6;
  auto all = ode_nll_of_images(net, pixels, {}, 0, o);
  auto last = ode_nll_of_images(net, pixels.narrow(0, 2, 2), {}, 2, o);
  EXPECT_LT(test::max_abs_diff(all.narrow(0, 2, 2), last), 1e-9);
  o.seed = 1;  // other dequantisation noise and probes
  EXPECT_GT(test::max_abs_diff(all, ode_nll_of_images(net, pixels, {}, 0, o)), 1e-6);
}

TEST(Likelihood, DequantisationAndBitsPerDim) {
  auto px = torch::tensor({0, 255}, torch::kUInt8);
  auto y = dequantize(px, torch::tensor({0.0, 0.999}, torch::kFloat64));
  EXPECT_DOUBLE_EQ(y[0].item<double>(), -1);
  EXPECT_NEAR(y[1].item<double>(), 2 * 255.999 / 256 - 1, 1e-15);
  // A density uniform over [-1, 1]^d has -log p = d log 2 nats: on 256
  // levels that is exactly 8 bits/dim.
  const auto u = nll_of(100 * std::log(2.0), 100, true);
  EXPECT_NEAR(u.bits_per_dim, 8, 1e-12);
  EXPECT_NEAR(u.nats, 100 * 8 * std::log(2.0), 1e-9);
  EXPECT_NEAR(nll_of(100 * std::log(2.0), 100, false).bits_per_dim, 1, 1e-12);
}

TEST(Likelihood, BadOptionsAreUsageErrors) {
  IdealDenoiser net(cases()[0].points, {}, 0.6);
  auto x = torch::zeros({1, 8}, torch::kFloat64);
  LikelihoodOptions o;
  o.probes = 0;
  EXPECT_THROW(ode_nll_of_images(net, x, {}, 0, o), UsageError);
  o = {};
  o.levels.num_steps = 1;
  EXPECT_THROW(ode_nll_of_images(net, x, {}, 0, o), UsageError);
  EXPECT_THROW(parse_probe_kind("uniform"), UsageError);
}
