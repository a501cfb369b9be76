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
