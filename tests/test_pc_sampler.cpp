// Predictor-corrector sampling where the answer is known: the mean and
// variance of a Gaussian, the Langevin corrector's pull towards the right
// variance from a start off the distribution, and the options' rules.
#include <cmath>

#include "edm/core/error.h"
#include "edm/core/rng.h"
#include "edm/sampling/ideal_denoiser.h"
#include "edm/sampling/samplers.h"
#include "edm/sampling/sde_steps.h"
#include "testing.h"

using namespace edm;

namespace {

const double kStd = 0.5;  // the data: N(m, kStd^2 I) in 16 dimensions

torch::Tensor data_mean() { return torch::linspace(-1, 1, 16, torch::kFloat64).reshape({1, 16}); }
std::shared_ptr<IdealDenoiser> gaussian() {
  return std::make_shared<IdealDenoiser>(data_mean(), torch::Tensor(), kStd);
}

std::vector<uint64_t> seed_range(uint64_t n) {
  std::vector<uint64_t> s(n);
  for (uint64_t i = 0; i < n; ++i) s[i] = i;
  return s;
}

NoiseFn per_seed_noise(SeedBatch& rnd) {
  return [&rnd](const torch::Tensor& x) { return rnd.randn(x.sizes().slice(1), torch::kFloat64, x.device()); };
}

// Mean and per-coordinate variance of the samples' deviation from m.
std::pair<double, double> moments(const torch::Tensor& x) {
  auto d = x - data_mean();
  return {d.mean().item<double>(), d.square().mean().item<double>()};
}

}  // namespace

TEST(PcSampler, GivesTheGaussiansMeanAndVarianceWithEitherPredictor) {
  auto net = gaussian();
  const int64_t n = 4000;
  for (const char* predictor : {"reverse-diffusion", "euler-maruyama"}) {
    SeedBatch rnd(seed_range(n));
    auto lat = rnd.randn({16}, torch::kFloat64, torch::kCPU);
    SamplerOptions o;
    o.num_steps = 64;
    o.predictor = predictor;
    o.corrector_steps = 1;
    auto [mean, var] = moments(run_sampler("pc", *net, lat, {}, per_seed_noise(rnd), o));
    std::cout << predictor << ": mean " << mean << " variance " << var / (kStd * kStd) << " of the data's\n";
    // 64,000 values: the standard error of the mean is 0.002, of the variance 0.56%.
    EXPECT_NEAR(mean, 0, 0.008) << predictor;
    EXPECT_NEAR(var / (kStd * kStd), 1, 0.025) << predictor;
  }
}

TEST(PcSampler, CorrectorStepsMoveAStartOffTheDistributionToTheRightVariance) {
  auto net = gaussian();
  const double sigma = 1.0, v = kStd * kStd + sigma * sigma;  // x ~ N(m, v I) at this noise level
  const int64_t n = 4000;
  SeedBatch rnd(seed_range(n));
  auto noise = per_seed_noise(rnd);
  // Every chain starts at m: variance 0 instead of v.
  auto x = data_mean().expand({n, 16}).clone();
  std::vector<double> var;
  for (int k = 1; k <= 200; ++k) {
    x = langevin_step(*net, x, sigma, {}, 0.16, noise);
    if (k == 1 || k == 200) var.push_back(moments(x).second / v);
  }
  std::cout << "variance after 1 corrector step " << var[0] << ", after 200 " << var[1] << " of the target\n";
  EXPECT_LT(var[0], 0.5);  // one step is not enough: the start still shows
  // Unadjusted Langevin with eps = 2 snr^2 v (its mean here) settles at
  // v / (1 - snr^2) = 1.026 v; 64,000 values give a standard error of 0.56%.
  EXPECT_NEAR(var[1], 1 / (1 - 0.16 * 0.16), 0.025);
}

TEST(PcSampler, NfeAndOptionRules) {
  SamplerOptions o;
  o.num_steps = 18;
  o.corrector_steps = 2;
  EXPECT_EQ(sampler_nfe("pc", o), 54);  // two corrector steps and one predictor step per level
  o.corrector_steps = 0;
  EXPECT_EQ(sampler_nfe("pc", o), 18);
  EXPECT_NO_THROW(check_options(find_sampler("pc"), o));

  IdealDenoiser net(data_mean(), {}, kStd);
  auto lat = torch::zeros({2, 16}, torch::kFloat64);
  auto zero = [](const torch::Tensor& x) { return torch::zeros_like(x); };
  SamplerOptions snr;
  snr.snr = 0.1;
  for (const char* other : {"edm", "langevin", "euler_maruyama"})
    EXPECT_THROW(run_sampler(other, net, lat, {}, zero, snr), UsageError) << other;
  SamplerOptions bad;
  bad.snr = -0.1;
  EXPECT_THROW(run_sampler("pc", net, lat, {}, zero, bad), UsageError);
  bad = {};
  bad.corrector_steps = -1;
  EXPECT_THROW(run_sampler("pc", net, lat, {}, zero, bad), UsageError);
  bad = {};
  bad.predictor = "ancestral";
  EXPECT_THROW(run_sampler("pc", net, lat, {}, zero, bad), UsageError);
}

TEST(PcSamplerCli, GeneratesAndRefusesBadValues) {
  test::TempDir dir;
  save_ideal_denoiser(dir / "m.safetensors", torch::randn({3, 1, 4, 4}, torch::kFloat64), {}, 0.1);
  const std::string base = "generate --net " + dir / "m.safetensors" + " --seeds 0-1 --steps 8 --device cpu";
  auto ok = test::run_edm(base + " --sampler pc --corrector-steps 2 --snr 0.1 --predictor euler-maruyama --outdir " +
                          dir / "out");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("24"), std::string::npos) << ok.output;  // NFE: 8 levels x 3
  for (const std::string& bad : {" --sampler pc --snr -1", " --sampler pc --corrector-steps -1",
                                 " --sampler pc --predictor ancestral", " --sampler edm --snr 0.2"}) {
    auto r = test::run_edm(base + bad + " --outdir " + dir / "bad");
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << bad << ": " << r.output;
  }
}
