// Few-step samplers: order of convergence on a Gaussian, whose
// probability-flow ODE has a closed-form solution; the distribution of the
// stochastic ones where it is known; NFE counts; the Brownian tree.
#include <cmath>

#include "edm/core/error.h"
#include "edm/core/rng.h"
#include "edm/sampling/brownian.h"
#include "edm/sampling/counting_denoiser.h"
#include "edm/sampling/ideal_denoiser.h"
#include "edm/sampling/samplers.h"
#include "testing.h"

using namespace edm;

namespace {

const double kStd = 0.5;  // the Gaussian's standard deviation

// N(mu, kStd^2 I) in 16 dimensions: the ideal denoiser of one point.
torch::Tensor gaussian_mean() { return torch::linspace(-1, 1, 16, torch::kFloat64).reshape({1, 16}); }
std::shared_ptr<IdealDenoiser> gaussian() {
  return std::make_shared<IdealDenoiser>(gaussian_mean(), torch::Tensor(), kStd);
}

torch::Tensor gaussian_latents(int64_t n) {
  SeedBatch rnd([n] {
    std::vector<uint64_t> s;
    for (int64_t i = 0; i < n; ++i) s.push_back(static_cast<uint64_t>(i));
    return s;
  }());
  return rnd.randn({16}, torch::kFloat64, torch::kCPU);
}

// x(sigma) - mu = (x(sigma_max) - mu) sqrt(std^2 + sigma^2) / sqrt(std^2 + sigma_max^2).
torch::Tensor ode_solution(const torch::Tensor& latents, double sigma_max, double sigma) {
  auto mu = gaussian_mean();
  return mu +
         (latents * sigma_max - mu) * std::sqrt((kStd * kStd + sigma * sigma) / (kStd * kStd + sigma_max * sigma_max));
}

// Every sampler ends with x = D(x; sigma_min) (the last step, into sigma = 0,
// is Euler or its exponential-integrator twin): the limit is D of the ODE
// solution at sigma_min.
torch::Tensor truth(IdealDenoiser& net, const torch::Tensor& latents) {
  SamplerOptions o;
  const auto r = sigma_range(net, o);
  return denoise_at(net, ode_solution(latents, r.max, r.min), r.min, {});
}

double rms(const torch::Tensor& x) { return x.square().mean().sqrt().item<double>(); }

struct OrderCase {
  const char* sampler;
  int order_option;  // --order, 0 = default
  double order;      // the convergence order expected
  std::vector<int> steps = {128, 256, 512};
};

NoiseFn zero_noise() {
  return [](const torch::Tensor& x) { return torch::zeros_like(x); };
}

}  // namespace

// Least-squares slope of log error against log steps.
double fitted_order(const std::vector<int>& steps, const std::vector<double>& err) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const double n = static_cast<double>(steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    const double x = std::log(steps[i]), y = -std::log(err[i]);
    sx += x, sy += y, sxx += x * x, sxy += x * y;
  }
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

TEST(FewStep, DeterministicSamplersConvergeAtTheirOrder) {
  auto net = gaussian();
  auto lat = gaussian_latents(32);
  // iPNDM's fixed weights assume even steps: on EDM's uneven ones it is
  // second order at --order 3 and 4. UniPC's corrector adds one order. The
  // analytical first step of heun_afs adds a first-order error, tiny until
  // 500 steps: its order is measured below that.
  const std::vector<OrderCase> cases = {{"edm", 0, 2},     {"heun_afs", 0, 2, {32, 64, 128}},
                                        {"dpmpp2m", 0, 2}, {"ipndm", 1, 1},
                                        {"ipndm", 2, 2},   {"ipndm", 3, 2},
                                        {"ipndm", 4, 2},   {"ipndm_v", 1, 1},
                                        {"ipndm_v", 2, 2}, {"ipndm_v", 3, 3},
                                        {"ipndm_v", 4, 4}, {"deis", 1, 1},
                                        {"deis", 2, 2},    {"deis", 3, 3},
                                        {"unipc", 1, 2},   {"unipc", 2, 3},
                                        {"unipc", 3, 4}};
  for (const auto& c : cases) {
    const auto& steps = c.steps;
    auto ref = truth(*net, lat);
    std::vector<double> err;
    for (int n : steps) {
      SamplerOptions o;
      o.num_steps = n;
      o.order = c.order_option;
      err.push_back(rms(run_sampler(c.sampler, *net, lat, {}, zero_noise(), o) - ref));
    }
    const double p = fitted_order(steps, err);
    std::cout << c.sampler << " --order " << c.order_option << ": errors " << err[0] << " " << err[1] << " " << err[2]
              << ", order " << p << "\n";
    EXPECT_NEAR(p, c.order, 0.2) << c.sampler << " --order " << c.order_option;
    EXPECT_LT(err[2], 1e-2) << c.sampler;
  }
}

TEST(FewStep, UniPcVariantsBothConverge) {
  auto net = gaussian();
  auto lat = gaussian_latents(32);
  auto ref = truth(*net, lat);
  SamplerOptions o;
  o.variant = "bh1";
  std::vector<double> err;
  for (int n : {128, 256, 512}) {
    o.num_steps = n;
    err.push_back(rms(run_sampler("unipc", *net, lat, {}, zero_noise(), o) - ref));
  }
  EXPECT_NEAR(fitted_order({128, 256, 512}, err), 4, 0.2);
  o.num_steps = 10;
  auto bh1 = run_sampler("unipc", *net, lat, {}, zero_noise(), o);
  o.variant = "bh2";
  EXPECT_GT(rms(bh1 - run_sampler("unipc", *net, lat, {}, zero_noise(), o)), 1e-6);  // two different methods
}

namespace {

std::vector<uint64_t> seed_range(uint64_t n) {
  std::vector<uint64_t> s(n);
  for (uint64_t i = 0; i < n; ++i) s[i] = i;
  return s;
}

// Samples of `net` from seeds 0..n-1 with per-seed noise.
torch::Tensor sample(const std::string& name, Denoiser& net, int64_t n, const SamplerOptions& o) {
  SeedBatch rnd(seed_range(static_cast<uint64_t>(n)));
  auto lat = rnd.randn(net.sample_shape(), torch::kFloat64, torch::kCPU);
  NoiseFn noise = [&rnd](const torch::Tensor& x) { return rnd.randn(x.sizes().slice(1), torch::kFloat64, x.device()); };
  return run_sampler(name, net, lat, {}, noise, o);
}

}  // namespace

TEST(FewStep, StochasticSamplersGiveTheGaussiansMeanAndVariance) {
  auto net = gaussian();
  // 128 steps: at 32 the variance of dpmpp2m_sde is 18% high, at 64 3%, at 128 0.6%.
  for (const char* name : {"dpmpp2m_sde", "dpmpp3m_sde", "restart"}) {
    SamplerOptions o;
    o.num_steps = 128;
    auto x = sample(name, *net, 2000, o) - gaussian_mean();
    const double mean = x.mean().item<double>(), var = x.square().mean().item<double>();
    std::cout << name << ": mean " << mean << " variance " << var << "\n";
    // 32,000 values: the standard error of the variance is 0.8%, of the mean 0.0028.
    EXPECT_NEAR(mean, 0, 0.012) << name;
    EXPECT_NEAR(var / (kStd * kStd), 1, 0.035) << name;
  }
}
TEST(FewStep, StochasticSamplersSplitAnUnevenMixture) {
  // Three points at +1, one at -1: three quarters of the samples land at +1.
  auto pts = torch::tensor({-1.0, 1.0, 1.0, 1.0}, torch::kFloat64).reshape({4, 1});
  IdealDenoiser net(pts, {}, 0.0);
  for (const char* name : {"dpmpp2m_sde", "dpmpp3m_sde", "restart"}) {
    SamplerOptions o;
    o.num_steps = 32;
    auto x = sample(name, net, 4000, o);
    const double up = (x > 0).to(torch::kFloat64).mean().item<double>();
    const double off = (x.abs() - 1).abs().max().item<double>();
    std::cout << name << ": share at +1 " << up << ", farthest from a point " << off << "\n";
    EXPECT_NEAR(up, 0.75, 0.03) << name;  // 4.4 standard errors
    EXPECT_LT(off, 1e-3) << name;
  }
}

TEST(FewStep, SdeSamplersFollowOneBrownianPathPerSeed) {
  auto net = gaussian();
  for (const char* name : {"dpmpp2m_sde", "dpmpp3m_sde"}) {
    std::vector<torch::Tensor> x;
    for (int steps : {64, 128, 256}) {
      SamplerOptions o;
      o.num_steps = steps;
      x.push_back(sample(name, *net, 16, o));
    }
    const double d1 = rms(x[0] - x[2]), d2 = rms(x[1] - x[2]), spread = rms(x[2] - x[2].roll(1, 0));
    std::cout << name << ": 64 vs 256 steps " << d1 << ", 128 vs 256 " << d2 << ", between seeds " << spread << "\n";
    // The same path: the solutions converge to one sample per seed (strong
    // convergence), far closer than two seeds' samples are.
    EXPECT_LT(d2, d1);
    EXPECT_LT(d1, spread / 10) << name;
  }
}

TEST(FewStep, BrownianTreeIsOnePathWithBrownianIncrements) {
  std::vector<uint64_t> keys(4000);
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = 1000 + i;
  BrownianTree w(keys, {1}, 0.002, 80);
  // Queried in any order, at any resolution: the same path.
  auto a = w.at(3.0), b = w.at(0.5), c = w.at(3.0);
  EXPECT_EQ(test::max_abs_diff(a, c), 0);
  EXPECT_LT(test::max_abs_diff(w.at(0.002), torch::zeros_like(a)), 1e-300);
  auto inc = [&](double s, double t) { return w.at(t) - w.at(s); };
  EXPECT_LT(test::max_abs_diff(inc(0.5, 3.0) + inc(3.0, 7.0), inc(0.5, 7.0)), 1e-12);
  // Increments over [0.5, 3] and [3, 7]: variances 2.5 and 4, uncorrelated.
  auto i1 = inc(0.5, 3.0), i2 = inc(3.0, 7.0);
  EXPECT_NEAR(i1.square().mean().item<double>() / 2.5, 1, 0.1);  // 4000 draws: standard error 2.2%
  EXPECT_NEAR(i2.square().mean().item<double>() / 4.0, 1, 0.1);
  EXPECT_NEAR((i1 * i2).mean().item<double>() / std::sqrt(10.0), 0, 0.07);
  auto z = w.normalized_increment(0.01, 0.011);  // a short interval, deep in the tree
  EXPECT_NEAR(z.mean().item<double>(), 0, 0.07);
  EXPECT_NEAR(z.square().mean().item<double>(), 1, 0.1);
}

TEST(FewStep, NfeIsCountedExactly) {
  // Image-shaped (langevin reads [N,C,H,W]).
  auto counting = std::make_shared<CountingDenoiser>(
      std::make_shared<IdealDenoiser>(gaussian_mean().reshape({1, 1, 4, 4}), torch::Tensor(), kStd));
  auto lat = gaussian_latents(3).reshape({3, 1, 4, 4});
  for (const auto& s : sampler_table()) {
    if (std::string(s.name) == "adaptive") continue;
    for (int steps : {2, 5, 9}) {
      SamplerOptions o;
      o.num_steps = steps;
      o.S_churn = std::string(s.name) == "edm" ? 1 : 0;
      const int64_t before = counting->rows();
      SeedBatch rnd({0, 1, 2});
      NoiseFn noise = [&rnd](const torch::Tensor& x) {
        return rnd.randn(x.sizes().slice(1), torch::kFloat64, x.device());
      };
      run_sampler(s, *counting, lat, {}, noise, o);
      EXPECT_EQ(counting->rows() - before, 3 * s.nfe(o)) << s.name << " " << steps;
    }
  }
  SamplerOptions o;
  o.num_steps = 10;
  EXPECT_EQ(sampler_nfe("heun_afs", o), 18);
  EXPECT_EQ(sampler_nfe("ipndm", o), 10);
  EXPECT_EQ(sampler_nfe("restart", o), 19 + 2 * 2 * 3);  // default --restart 3,2,0.06,0.3
  o.restart = "2,1,0.1,1:1,3,1,5";
  EXPECT_EQ(sampler_nfe("restart", o), 19 + 4 + 6);
}

// --afs: the first evaluation, at sigma_max, is replaced by the slope of pure
// noise. It never reaches the network, and its error is one step's, carried
// by the ODE to sigma_min (the Gaussian's mean is up to 1 away from the 0 the
// slope assumes).
TEST(FewStep, AnalyticalFirstStepSavesOneEvaluation) {
  auto net = gaussian();
  auto counting = std::make_shared<CountingDenoiser>(net);
  auto lat = gaussian_latents(8);
  int tested = 0;
  for (const auto& s : sampler_table()) {
    if (!(s.options & kAfs)) continue;
    ++tested;
    for (int steps : {16, 64}) {
      SamplerOptions o;
      o.num_steps = steps;
      const auto evaluated = run_sampler(s, *net, lat, {}, zero_noise(), o);
      o.afs = true;
      const int64_t before = counting->rows();
      const auto x = run_sampler(s, *counting, lat, {}, zero_noise(), o);
      EXPECT_EQ(counting->rows() - before, 8 * (steps - 1)) << s.name;
      EXPECT_EQ(s.nfe(o), steps - 1) << s.name;
      // The slope assumes D = 0 where the Gaussian's is its mean mu: the first
      // step t_0 -> t_1 moves x by (t_0 - t_1) mu / t_0 less, and the ODE
      // shrinks that deviation by kStd / t_1 on the way to sigma_min.
      const auto t = noise_levels(*net, o);
      const double first_step = (t[0] - t[1]) * rms(gaussian_mean()) / t[0] * kStd / t[1];
      const double moved = rms(x - evaluated);
      std::cout << s.name << " " << steps << " steps: moved " << moved << ", one step's error " << first_step << "\n";
      EXPECT_LT(moved, 3 * first_step) << s.name << " " << steps;
      EXPECT_GT(moved, first_step / 10) << s.name << " " << steps;  // the first step is not evaluated
    }
  }
  EXPECT_EQ(tested, 6);  // ipndm, ipndm_v, deis, unipc, dpmpp2m, dpmpp3m
  SamplerOptions o;
  o.afs = true;
  EXPECT_THROW(run_sampler("edm", *counting, lat, {}, zero_noise(), o), UsageError);  // Heun: heun_afs
  o.num_steps = 1;
  EXPECT_THROW(run_sampler("ipndm", *counting, lat, {}, zero_noise(), o), UsageError);
  EXPECT_EQ(counting->rows(), 8 * (15 + 63) * 6);  // nothing evaluated by the refused runs
}

TEST(FewStep, NfePicksTheSteps) {
  SamplerOptions o;
  for (const auto& s : sampler_table()) {
    if (std::string(s.name) == "adaptive") {
      EXPECT_THROW(steps_for_nfe(s, o, 10), UsageError);
      continue;
    }
    for (int64_t nfe = 3; nfe <= 40; ++nfe) {
      try {
        SamplerOptions p = o;
        p.num_steps = steps_for_nfe(s, o, nfe);
        EXPECT_EQ(s.nfe(p), nfe) << s.name;
      } catch (const UsageError& e) {
        // Only counts the sampler cannot make: Heun's are odd (2N - 1), heun_afs's
        // even, pc's multiples of K + 1 (even at the default K = 1).
        const std::string name = s.name;
        const bool heun = name == "edm" || name == "ablation" || name == "restart";
        EXPECT_TRUE((heun && nfe % 2 == 0) || (name == "heun_afs" && nfe % 2 == 1) || (name == "restart" && nfe < 15) ||
                    name == "langevin" || (name == "pc" && nfe % 2 == 1))
            << name << " " << nfe << ": " << e.what();
      }
    }
  }
}

TEST(FewStep, AdaptiveSamplerMeetsItsToleranceAndCountsItsNfe) {
  auto lat = gaussian_latents(8);
  auto net = gaussian();
  auto ref = truth(*net, lat);
  std::vector<double> err, nfe;
  for (double rtol : {0.05, 0.005, 0.0005}) {
    auto counting = std::make_shared<CountingDenoiser>(net);
    SamplerOptions o;
    o.rtol = rtol;
    err.push_back(rms(run_sampler("adaptive", *counting, lat, {}, zero_noise(), o) - ref));
    nfe.push_back(static_cast<double>(counting->rows()) / 8);
    std::cout << "rtol " << rtol << ": error " << err.back() << ", NFE " << nfe.back() << "\n";
  }
  EXPECT_LT(err[0], 0.05);
  EXPECT_LT(err[1], err[0] / 3);
  EXPECT_LT(err[2], err[1] / 3);
  EXPECT_LT(nfe[0], nfe[1]);
  EXPECT_LT(nfe[1], nfe[2]);
}

TEST(FewStep, BadOptionsAreUsageErrors) {
  auto net = gaussian();
  auto lat = gaussian_latents(2);
  auto run = [&](const char* name, SamplerOptions o) { run_sampler(name, *net, lat, {}, zero_noise(), o); };
  SamplerOptions o;
  o.order = 5;
  EXPECT_THROW(run("ipndm", o), UsageError);
  o.order = 4;
  EXPECT_THROW(run("unipc", o), UsageError);
  EXPECT_THROW(run("edm", o), UsageError);  // --order does not apply
  SamplerOptions v;
  v.variant = "bh3";
  EXPECT_THROW(run("unipc", v), UsageError);
  for (const char* spec : {"3,2,0.3,0.06", "3,2,0.06", "0,1,0.1,1", "x", "3,2,0.06,0.3:"}) {
    SamplerOptions r;
    r.restart = spec;
    EXPECT_THROW(run("restart", r), UsageError) << spec;
  }
  SamplerOptions t;
  t.rtol = 0;
  EXPECT_THROW(run("adaptive", t), UsageError);
  t.rtol = 0.01;
  EXPECT_THROW(run("unipc", t), UsageError);
}
