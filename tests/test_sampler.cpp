// The samplers against the reference's edm_sampler / ablation_sampler driven
// by the ideal denoiser of reference/samplers.safetensors.
#include <nlohmann/json.hpp>

#include "edm/core/error.h"
#include "edm/core/rng.h"
#include "edm/diffusion/iddpm.h"
#include "edm/sampling/discretization.h"
#include "edm/sampling/ideal_denoiser.h"
#include "edm/sampling/sampler.h"
#include "testing.h"

using namespace edm;

namespace {

SamplerOptions options_for(const nlohmann::json& c) {
  SamplerOptions o;
  o.num_steps = c["num_steps"];
  o.solver = c.value("solver", "heun");
  o.discretization = c.value("discretization", "edm");
  o.schedule = c.value("schedule", "linear");
  o.scaling = c.value("scaling", "none");
  return o;
}

}  // namespace

TEST(Sampler, ReproducesEveryReferenceCase) {
  TensorFile f(test::reference("samplers.safetensors"));
  IdealDenoiser net(f.get("data.points"), {}, 0.0);
  auto latents = f.get("input.latents");
  auto cases = nlohmann::json::parse(f.metadata("cases", "[]"));
  ASSERT_GT(cases.size(), 20u);
  double worst = 0;
  int exact = 0;
  for (const auto& c : cases) {
    auto o = options_for(c);
    auto run = [&](const NoiseFn& noise) {
      return c["fn"] == "edm_sampler" ? edm_sampler(net, latents, {}, noise, o)
                                      : ablation_sampler(net, latents, {}, noise, o);
    };
    auto out = run([](const torch::Tensor& x) { return torch::zeros_like(x); });
    double err = test::max_abs_diff(out, f.get("output." + c["key"].get<std::string>()));
    worst = std::max(worst, err);
    EXPECT_LT(err, 1e-6) << c["key"];
    // Where the sigma round trip leaves no residual churn (noise has no
    // effect), the reference's own random draws did not enter its output
    // either, and the agreement must be to rounding, relative to the output's
    // magnitude (a 5-step Heun on the VE schedule overshoots to ~1e7). With
    // the VP schedule the reference's own round trip sigma_inv(sigma(t))
    // leaves a churn of ~1e-8 times noise we cannot know, so only 1e-6 holds.
    const bool vp = c.value("schedule", "linear") == "vp";
    if (!vp && torch::equal(out, run([](const torch::Tensor& x) { return torch::ones_like(x); }))) {
      ++exact;
      EXPECT_LT(err / std::max(1.0, out.abs().max().item<double>()), 1e-13) << c["key"];
    }
  }
  EXPECT_GT(exact, 20);
  std::cout << "worst abs error over " << cases.size() << " cases: " << worst << " (" << exact
            << " without residual churn)\n";
}

TEST(Sampler, IddpmGridMatchesReference) {
  // The fixture holds the float32 grid of the reference's iDDPM preconditioning.
  TensorFile f(test::reference("samplers.safetensors"));
  auto expected = f.get("output.iddpm_u").to(torch::kFloat64);
  auto u32 = iddpm_u_tensor(1000, 0.001, 0.008, torch::kFloat32).to(torch::kFloat64);
  ASSERT_EQ(u32.numel(), expected.numel());
  EXPECT_EQ(test::max_abs_diff(u32, expected), 0.0);
  // The sampler's float64 grid is the same up to the float32 recursion's
  // accumulated rounding (~1e-4 relative after 1000 steps).
  auto u64 = torch::tensor(iddpm_u_grid(1000, 0.001, 0.008), torch::kFloat64);
  EXPECT_LT(((u64 - expected).abs() / expected.abs().clamp_min(1e-30)).max().item<double>(), 1e-3);
}

TEST(Sampler, RejectsImpossibleOptions) {
  auto bad = [](auto mutate) {
    SamplerOptions o;
    mutate(o);
    EXPECT_THROW(validate(o), UsageError);
  };
  bad([](SamplerOptions& o) { o.num_steps = 0; });
  bad([](SamplerOptions& o) { o.sigma_min = 5, o.sigma_max = 1; });
  bad([](SamplerOptions& o) { o.disc.rho = 0; });
  bad([](SamplerOptions& o) { o.S_noise = -1; });
  bad([](SamplerOptions& o) { o.S_churn = std::nan(""); });
  bad([](SamplerOptions& o) { o.alpha = 0; });
  bad([](SamplerOptions& o) { o.solver = "rk4"; });
  bad([](SamplerOptions& o) { o.schedule = "cosine"; });
  SamplerOptions ok;
  EXPECT_NO_THROW(validate(ok));
}

TEST(Sampler, StochasticSamplingIsPerSeed) {
  TensorFile f(test::reference("samplers.safetensors"));
  IdealDenoiser net(f.get("data.points"), {}, 0.05);
  SamplerOptions o;
  o.num_steps = 6;
  o.S_churn = 30;
  auto run = [&](const std::vector<uint64_t>& seeds) {
    SeedBatch rnd(seeds);
    auto latents = rnd.randn({1, 8, 8}, torch::kFloat32, torch::kCPU);
    return edm_sampler(
        net, latents, {},
        [&](const torch::Tensor& x) { return rnd.randn(x.sizes().slice(1), torch::kFloat64, x.device()); }, o);
  };
  auto both = run({4, 9}), one = run({9});
  // Same noise whatever the batch; only the BLAS summation order may differ.
  EXPECT_LT(test::max_abs_diff(both[1], one[0]), 1e-12);
  EXPECT_GT(test::max_abs_diff(both[0], both[1]), 1e-2);
}

TEST(IdealDenoiser, IsThePosteriorMean) {
  // Two points in 1-D with a Gaussian blur: closed form by hand.
  auto pts = torch::tensor({-1.0, 2.0}, torch::kFloat64).reshape({2, 1, 1, 1});
  const double std = 0.5, sigma = 1.5, x = 0.3;
  IdealDenoiser d(pts, {}, std);
  auto got =
      d.denoise(torch::full({1, 1, 1, 1}, x, torch::kFloat64), torch::tensor(sigma, torch::kFloat64)).item<double>();
  const double v = std * std + sigma * sigma;
  double w0 = std::exp(-(x + 1) * (x + 1) / (2 * v)), w1 = std::exp(-(x - 2) * (x - 2) / (2 * v));
  double mean_y = (w0 * -1 + w1 * 2) / (w0 + w1);
  double expected = mean_y + std * std / v * (x - mean_y);
  EXPECT_NEAR(got, expected, 1e-14);
  // Class-conditional: only the points of the class count.
  IdealDenoiser c(pts, torch::tensor({0, 1}, torch::kInt64), 0.0);
  auto one_hot = torch::tensor({0.0, 1.0}).reshape({1, 2});
  EXPECT_NEAR(c.denoise(torch::full({1, 1, 1, 1}, x, torch::kFloat64), torch::tensor(sigma, torch::kFloat64), one_hot)
                  .item<double>(),
              2.0, 1e-14);
  // sigma = 0 with std = 0: the nearest point.
  EXPECT_NEAR(IdealDenoiser(pts, {}, 0)
                  .denoise(torch::full({1, 1, 1, 1}, 1.0, torch::kFloat64), torch::tensor(0.0, torch::kFloat64))
                  .item<double>(),
              2.0, 0);
}
