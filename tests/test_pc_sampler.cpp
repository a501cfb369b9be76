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

// The data: N(m, kStd^2 I) in `dims` dimensions.
const double kStd = 0.5;

torch::Tensor data_mean(int64_t dims) { return torch::linspace(-1, 1, dims, torch::kFloat64).reshape({1, dims}); }
std::shared_ptr<IdealDenoiser> gaussian(int64_t dims) {
  return std::make_shared<IdealDenoiser>(data_mean(dims), torch::Tensor(), kStd);
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
  auto d = x - data_mean(x.size(1));
  return {d.mean().item<double>(), d.square().mean().item<double>()};
}

// n samples of the pc sampler from seeds 0..n-1.
torch::Tensor pc_samples(int64_t dims, int64_t n, const SamplerOptions& o) {
  SeedBatch rnd(seed_range(n));
  auto lat = rnd.randn({dims}, torch::kFloat64, torch::kCPU);
  return run_sampler("pc", *gaussian(dims), lat, {}, per_seed_noise(rnd), o);
}

// The variance per coordinate that the predictor alone must give on a
// Gaussian: each step maps x - m to a (x - m) + b z, so var <- a^2 var + b^2.
double predictor_variance(const SamplerOptions& o) {
  const auto t = noise_levels(*gaussian(1), o);
  double var = t[0] * t[0];  // latents times sigma_max
  for (size_t i = 0; i + 1 < t.size(); ++i) {
    const double s = t[i], sn = t[i + 1], v = kStd * kStd + s * s;
    const double step = o.predictor == "reverse-diffusion" ? s * s - sn * sn : 2 * s * (s - sn);
    const double a = sn == 0 ? kStd * kStd / v : 1 - step / v;  // the last step lands on D
    var = a * a * var + (sn == 0 ? 0 : step);
  }
  return var;
}

}  // namespace

TEST(PcSampler, PredictorsFollowTheirRecursionToTheGaussiansVariance) {
  const int64_t dims = 64, n = 2000;  // 128,000 values: standard errors 0.0014 (mean), 0.4% (variance)
  for (const char* predictor : {"reverse-diffusion", "euler-maruyama"}) {
    SamplerOptions o;
    o.num_steps = 256;
    o.predictor = predictor;
    o.corrector_steps = 0;
    const double expected = predictor_variance(o) / (kStd * kStd);
    auto [mean, var] = moments(pc_samples(dims, n, o));
    std::cout << predictor << ": mean " << mean << ", variance " << var / (kStd * kStd) << " of the data's (its "
              << "recursion: " << expected << ")\n";
    EXPECT_NEAR(mean, 0, 0.006) << predictor;
    EXPECT_NEAR(var / (kStd * kStd), expected, 0.016 * expected) << predictor;
    // Their bias on 256 EDM levels: +4.2% (reverse diffusion), +1.9% (Euler-Maruyama).
    EXPECT_NEAR(expected, 1, 0.05) << predictor;
  }
}

TEST(PcSampler, CorrectorStepsRemoveThePredictorsBias) {
  // On 64 levels reverse diffusion alone gives 19% too much variance; five
  // corrector steps per level at snr r hold each level at the corrector's
  // equilibrium, v / (1 - r^2) (+2.6%) plus O(1/dims) from the step size
  // being set per image (+0.3% at 1024 dimensions, +8% at 64).
  const int64_t dims = 1024, n = 128;  // 131,072 values: standard error of the variance 0.4%
  SamplerOptions o;
  o.num_steps = 64;
  const double alone = predictor_variance([&] {
                         auto p = o;
                         p.corrector_steps = 0;
                         return p;
                       }()) /
                       (kStd * kStd);
  o.corrector_steps = 5;
  auto [mean, var] = moments(pc_samples(dims, n, o));
  std::cout << "predictor alone " << alone << ", with 5 corrector steps: mean " << mean << ", variance "
            << var / (kStd * kStd) << " of the data's\n";
  EXPECT_GT(alone, 1.15);
  EXPECT_NEAR(mean, 0, 0.006);
  EXPECT_NEAR(var / (kStd * kStd), 1 / (1 - 0.16 * 0.16), 0.02);
}

TEST(PcSampler, CorrectorStepsMoveAStartOffTheDistributionToTheRightVariance) {
  const int64_t dims = 1024, n = 128;
  auto net = gaussian(dims);
  const double sigma = 1.0, v = kStd * kStd + sigma * sigma;  // x ~ N(m, v I) at this noise level
  SeedBatch rnd(seed_range(n));
  auto noise = per_seed_noise(rnd);
  // Every chain starts too wide: variance 4 v instead of v.
  auto x = data_mean(dims) + 2 * std::sqrt(v) * noise(torch::zeros({n, dims}, torch::kFloat64));
  std::vector<double> var;
  for (int k = 1; k <= 300; ++k) {
    x = langevin_step(*net, x, sigma, {}, 0.16, noise);
    if (k == 1 || k == 300) var.push_back(moments(x).second / v);
  }
  std::cout << "variance after 1 corrector step " << var[0] << ", after 300 " << var[1] << " of the target\n";
  EXPECT_GT(var[0], 3);  // one step is not enough: the start still shows
  // Unadjusted Langevin with eps = 2 snr^2 v settles at v / (1 - snr^2) =
  // 1.026 v (+0.3% at 1024 dimensions); 131,072 values give a standard
  // error of 0.4%.
  EXPECT_NEAR(var[1], 1 / (1 - 0.16 * 0.16), 0.02);
}

TEST(PcSampler, NfeAndOptionRules) {
  SamplerOptions o;
  o.num_steps = 18;
  o.corrector_steps = 2;
  EXPECT_EQ(sampler_nfe("pc", o), 54);  // two corrector steps and one predictor step per level
  o.corrector_steps = 0;
  EXPECT_EQ(sampler_nfe("pc", o), 18);
  EXPECT_NO_THROW(check_options(find_sampler("pc"), o));

  IdealDenoiser net(data_mean(16), {}, kStd);
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
  for (const char* bad : {" --sampler pc --snr -1", " --sampler pc --corrector-steps -1",
                          " --sampler pc --predictor ancestral", " --sampler edm --snr 0.2"}) {
    auto r = test::run_edm(base + bad + " --outdir " + dir / "bad");
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << bad << ": " << r.output;
  }
}
