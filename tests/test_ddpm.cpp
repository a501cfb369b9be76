// Discrete-time DDPM: the beta schedules, respacing, the terms of the
// variational bound where the answer is known in closed form, ancestral
// sampling of a Gaussian, and the same model read as a discrete
// epsilon-model and as an EDM denoiser.
#include <cmath>

#include "edm/core/error.h"
#include "edm/core/forwarding_denoiser.h"
#include "edm/core/rng.h"
#include "edm/diffusion/ddpm.h"
#include "edm/diffusion/ddpm_terms.h"
#include "edm/diffusion/iddpm.h"
#include "edm/eval/ddpm_vlb.h"
#include "edm/model/model_file.h"
#include "edm/nn/presets.h"
#include "edm/sampling/ideal_denoiser.h"
#include "edm/sampling/samplers.h"
#include "edm/train/ddpm_loss.h"
#include "edm/train/loss.h"
#include "testing.h"

using namespace edm;

namespace {

double rel(double a, double b) { return std::abs(a - b) / std::abs(b); }

// A denoiser trained on the levels of `chain`, with a constant learned
// variance v (or none when v < 0), around another denoiser.
class ChainDenoiser : public ForwardingDenoiser<Denoiser> {
 public:
  ChainDenoiser(std::shared_ptr<Denoiser> inner, ddpm::Chain chain, double v = -1)
      : ForwardingDenoiser(std::move(inner)), chain_(std::move(chain)), v_(v) {}
  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& labels,
                        const torch::Tensor& augment) override {
    return inner_->denoise(x, sigma, labels, augment);
  }
  std::pair<torch::Tensor, torch::Tensor> denoise_with_variance(const torch::Tensor& x, const torch::Tensor& sigma,
                                                                const torch::Tensor& labels) override {
    auto D = inner_->denoise(x, sigma, labels);
    return {D, v_ < 0 ? torch::Tensor() : torch::full_like(D, v_)};
  }
  std::vector<double> sigma_levels() const override { return chain_.sigma; }

 private:
  ddpm::Chain chain_;
  double v_;
};

}  // namespace

TEST(DdpmSchedule, LinearBetasAreHoEtAlsScaledByT) {
  auto b = ddpm::linear_betas(1000);
  EXPECT_DOUBLE_EQ(b.front(), 1e-4);
  EXPECT_DOUBLE_EQ(b.back(), 0.02);
  EXPECT_NEAR(b[500] - b[499], (0.02 - 1e-4) / 999, 1e-15);
  auto b4000 = ddpm::linear_betas(4000);  // Improved DDPM: 1000 / T times the endpoints
  EXPECT_DOUBLE_EQ(b4000.front(), 2.5e-5);
  EXPECT_DOUBLE_EQ(b4000.back(), 0.005);
  EXPECT_THROW(ddpm::linear_betas(1), UsageError);
  EXPECT_THROW(ddpm::make_chain(ddpm::BetaSchedule::Cosine, 0), UsageError);
  EXPECT_THROW(ddpm::parse_beta_schedule("quadratic"), UsageError);
}

TEST(DdpmSchedule, CosineAlphaBarAndClipping) {
  const int64_t T = 1000;
  auto c = ddpm::make_chain(ddpm::BetaSchedule::Cosine, T);
  auto f = [&](double t) { return std::pow(std::cos((t / T + 0.008) / 1.008 * M_PI / 2), 2); };
  // alpha-bar_t = f(t + 1) / f(0) (step t ends at time (t + 1) / T) until the
  // clipping at beta = 0.999, which only the last step reaches.
  for (int64_t t = 0; t < T - 1; ++t) EXPECT_LT(rel(c.alpha_bar[t], f(t + 1) / f(0)), 1e-12) << t;
  for (int64_t t = 0; t < T - 1; ++t) EXPECT_LT(c.beta[t], 0.999) << t;
  EXPECT_EQ(c.beta[T - 1], 0.999);
  EXPECT_LT(rel(c.alpha_bar[T - 1], c.alpha_bar[T - 2] * 0.001), 1e-12);
  // The iDDPM preconditioning's grid is this chain's sigma, indexed from the
  // top (u_{M-1-t} = sigma_t); its alpha-bar ratios are float32, whose
  // rounding (6e-8) over 1 - ratio (4e-5 at t = 0) bounds the agreement.
  auto u = iddpm_u_grid(T, 0.001, 0.008);
  for (int64_t t = 0; t < T; ++t) EXPECT_LT(rel(u[T - 1 - t], c.sigma[t]), 2e-3) << t;
  for (int64_t t = 100; t < T; ++t) EXPECT_LT(rel(u[T - 1 - t], c.sigma[t]), 1e-4) << t;
}

TEST(DdpmSchedule, ChainQuantities) {
  auto c = ddpm::make_chain(ddpm::BetaSchedule::Linear, 200);
  double abar = 1;
  for (int64_t t = 0; t < c.T(); ++t) {
    EXPECT_DOUBLE_EQ(c.alpha[t], 1 - c.beta[t]);
    EXPECT_DOUBLE_EQ(c.alpha_bar_prev[t], abar);
    abar *= 1 - c.beta[t];
    EXPECT_LT(rel(c.alpha_bar[t], abar), 1e-14);
    EXPECT_LT(rel(c.sigma[t], std::sqrt(1 / abar - 1)), 1e-12);
    // beta-tilde: the variance of q(x_{t-1} | x_t, x_0), never above beta.
    if (t > 0) {
      EXPECT_LT(rel(c.beta_tilde[t], (1 - c.alpha_bar_prev[t]) / (1 - abar) * c.beta[t]), 1e-14);
      EXPECT_LE(c.beta_tilde[t], c.beta[t]);
    }
    // The posterior mean is exact on x_0 itself when x_t carries no noise
    // (to rounding over 1 - abar_t, which is 1e-4 at t = 0).
    EXPECT_LT(std::abs(c.coef_x0(t) + c.coef_xt(t) * std::sqrt(abar) - std::sqrt(c.alpha_bar_prev[t])),
              1e-15 / (1 - abar));
  }
  EXPECT_EQ(c.beta_tilde[0], 0);
  EXPECT_DOUBLE_EQ(c.log_beta_tilde_clipped(0), std::log(c.beta_tilde[1]));
  // A chain made from its own sigmas is the same chain.
  auto back = ddpm::chain_from_sigmas(c.sigma);
  for (int64_t t = 0; t < c.T(); ++t) EXPECT_LT(rel(back.beta[t], c.beta[t]), 1e-9) << t;
}

TEST(DdpmSchedule, RespacingKeepsTheAlphaBars) {
  auto steps = ddpm::respaced_steps(1000, 50);
  ASSERT_EQ(steps.size(), 50u);
  // Improved DDPM's space_timesteps(1000, [50]): stride 999 / 49, rounded half to even.
  EXPECT_EQ(steps[0], 0);
  EXPECT_EQ(steps[1], 20);
  EXPECT_EQ(steps[2], 41);
  EXPECT_EQ(steps[49], 999);
  EXPECT_EQ(ddpm::respaced_steps(10, 10), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_THROW(ddpm::respaced_steps(10, 11), UsageError);
  for (auto schedule : {ddpm::BetaSchedule::Linear, ddpm::BetaSchedule::Cosine}) {
    auto c = ddpm::make_chain(schedule, 1000);
    auto r = ddpm::respace(c, steps);
    ASSERT_EQ(r.T(), 50);
    // Each new beta = 1 - a ratio of alpha-bars loses the digits of ratios
    // near 1 (1 - 1e-4 at first): 1e-12 of relative rounding per step, 50 steps.
    for (size_t i = 0; i < steps.size(); ++i) {
      EXPECT_LT(rel(r.alpha_bar[i], c.alpha_bar[steps[i]]), 5e-11) << i;
      EXPECT_LT(rel(r.sigma[i], c.sigma[steps[i]]), 5e-11) << i;
    }
    EXPECT_LT(rel(r.beta[0], c.beta[0]), 1e-11);  // the first kept step is step 0
  }
}

TEST(DdpmTerms, GaussianKl) {
  auto t = [](double v) { return torch::tensor({v}, torch::kFloat64); };
  EXPECT_NEAR(ddpm::normal_kl(t(0.3), t(0.1), t(0.3), t(0.1)).item<double>(), 0, 1e-15);
  // KL(N(1, 1) || N(0, 4)) = ln 2 + (1 + 1) / 8 - 1/2.
  EXPECT_NEAR(ddpm::normal_kl(t(1), t(0), t(0), t(std::log(4.0))).item<double>(), std::log(2.0) + 0.25 - 0.5, 1e-15);
}

TEST(DdpmTerms, DiscretizedGaussianSumsToOneOverTheBins) {
  auto bins = torch::arange(256, torch::kFloat64) * (2.0 / 255) - 1;
  for (double mean : {-1.3, -0.2, 0.0, 0.77, 1.0})
    for (double scale : {1e-3, 0.01, 0.2, 1.0, 5.0}) {
      auto logp = ddpm::discretized_gaussian_log_likelihood(bins, torch::full_like(bins, mean),
                                                            torch::full_like(bins, std::log(scale)));
      EXPECT_NEAR(logp.exp().sum().item<double>(), 1, 1e-9) << mean << " " << scale;
    }
  // A bin's mass: Phi((x + 1/255 - mean) / s) - Phi((x - 1/255 - mean) / s).
  const double x = 2.0 / 255, mean = 0.01, s = 0.02;
  auto one = [](double v) { return torch::tensor({v}, torch::kFloat64); };
  const double expected =
      0.5 * (std::erf((x + 1 / 255.0 - mean) / s / M_SQRT2) - std::erf((x - 1 / 255.0 - mean) / s / M_SQRT2));
  EXPECT_NEAR(ddpm::discretized_gaussian_log_likelihood(one(x), one(mean), one(std::log(s))).item<double>(),
              std::log(expected), 1e-12);
}

namespace {

// uint8 levels, the edges included, as [1,1,4,4].
torch::Tensor one_image() {
  auto k = torch::tensor({0, 255, 3, 17, 64, 100, 127, 128, 129, 150, 180, 200, 230, 250, 254, 90});
  return (k.to(torch::kFloat64) * (2.0 / 255) - 1).reshape({1, 1, 4, 4});
}

// The decoder's -log P(bin of x) under N(x, s^2), by erf: the bin is
// x +- 1/255, open towards the outside at +-1.
double decoder_nll(double x, double s) {
  const double h = 1 / 255.0 / s / M_SQRT2;
  if (x < -0.999 || x > 0.999) return -std::log(0.5 * (1 + std::erf(h)));
  return -std::log(std::erf(h));
}

// L_vlb in bits/dim of the ideal denoiser of one point x0 (it knows x_0
// exactly), with a constant learned variance v: the means agree, so only the
// variances enter each KL.
double one_point_bound(const ddpm::Chain& c, const torch::Tensor& x0, double v) {
  double sum = 0;
  auto flat = x0.flatten();
  const int64_t dims = flat.numel();
  for (int64_t t = 1; t < c.T(); ++t) {
    const double truth = std::log(c.beta_tilde[t]), model = v * std::log(c.beta[t]) + (1 - v) * truth;
    sum += dims * 0.5 * (model - truth + std::exp(truth - model) - 1);
  }
  const double s0 = std::exp(0.5 * (v * std::log(c.beta[0]) + (1 - v) * c.log_beta_tilde_clipped(0)));
  const double abar = c.alpha_bar.back();
  for (int64_t i = 0; i < dims; ++i) {
    const double x = flat[i].item<double>();
    sum += decoder_nll(x, s0);
    sum += 0.5 * (-1 - std::log(1 - abar) + (1 - abar) + abar * x * x);  // KL(q(x_T | x_0) || N(0, I))
  }
  return sum / dims / M_LN2;
}

}  // namespace

TEST(DdpmBound, OnePointIdealDenoiserGivesTheClosedForm) {
  auto x0 = one_image();
  auto ideal = std::make_shared<IdealDenoiser>(x0, torch::Tensor(), 0.0);
  for (auto schedule : {ddpm::BetaSchedule::Linear, ddpm::BetaSchedule::Cosine})
    for (double v : {-1.0, 0.0, 0.3, 1.0}) {
      auto chain = ddpm::make_chain(schedule, 100);
      ChainDenoiser net(ideal, chain, v);
      auto b = ddpm::variational_bound_bpd(net, ddpm::chain_of(net), torch::cat({x0, x0}), {}, 5);
      const double expected = one_point_bound(chain, x0, std::max(v, 0.0));
      for (int i = 0; i < 2; ++i)
        EXPECT_LT(rel(b.total_bpd[i].item<double>(), expected), 1e-8) << ddpm::beta_schedule_name(schedule) << v;
      if (v <= 0) EXPECT_LT(b.terms_bpd.narrow(1, 1, 99).abs().max().item<double>(), 1e-9);  // exact posterior
    }
  EXPECT_THROW(ddpm::chain_of(*ideal), UsageError);  // no discrete levels
}

namespace {

// Mean and variance (per element) of DDPM ancestral sampling of N(m, s^2)
// with its ideal denoiser, propagated exactly through the linear steps.
std::pair<double, double> exact_chain_moments(const ddpm::Chain& c, double m, double s) {
  double mean = 0, var = c.sigma.back() * c.sigma.back();  // x = latents * sigma_max, about m = 0 below
  for (int64_t t = c.T() - 1; t >= 0; --t) {
    const double sig = c.sigma[t], k = s * s / (s * s + sig * sig);  // D = m + k (x - m)
    const double scale = std::sqrt(c.alpha_bar[t]), scale_prev = std::sqrt(c.alpha_bar_prev[t]);
    const double a = (c.coef_x0(t) * k + c.coef_xt(t) * scale) / scale_prev;  // x' = a x + b + noise
    const double b = c.coef_x0(t) * (1 - k) * m / scale_prev;
    mean = a * mean + b;
    var = a * a * var + (t > 0 ? c.beta_tilde[t] / c.alpha_bar_prev[t] : 0.0);
  }
  return {mean, var};
}

}  // namespace

TEST(DdpmSampler, AncestralSamplingOfAGaussianFullAndRespaced) {
  const double m = 0.3, s = 0.5;
  auto ideal = std::make_shared<IdealDenoiser>(torch::full({1, 1, 4, 4}, m, torch::kFloat64), torch::Tensor(), s);
  auto chain = ddpm::make_chain(ddpm::BetaSchedule::Linear, 1000);
  ChainDenoiser net(ideal, chain);
  const int64_t n = 4000;  // x 16 elements
  for (int64_t K : {1000, 50}) {
    SeedBatch rnd([&] {
      std::vector<uint64_t> seeds;
      for (int64_t i = 0; i < n; ++i) seeds.push_back(static_cast<uint64_t>(i));
      return seeds;
    }());
    SamplerOptions o;
    o.respace = o.num_steps = K;
    NoiseFn noise = [&](const torch::Tensor& x) { return rnd.randn(x.sizes().slice(1), torch::kFloat64, x.device()); };
    auto x = run_sampler("ddpm", net, rnd.randn({1, 4, 4}, torch::kFloat64, torch::kCPU), {}, noise, o);
    const auto [mean, var] = exact_chain_moments(ddpm::respace(chain, ddpm::respaced_steps(1000, K)), m, s);
    const double got_mean = x.mean().item<double>(), got_var = x.var().item<double>();
    std::cout << K << " steps: mean " << got_mean << " (chain " << mean << "), variance " << got_var << " (chain "
              << var << ", data " << s * s << ")\n";
    // 64,000 values: standard errors 0.002 (mean) and 0.56% (variance); 5 of them.
    EXPECT_NEAR(got_mean, mean, 5 * s / std::sqrt(64000.0)) << K;
    EXPECT_NEAR(got_var / var, 1, 5 * std::sqrt(2 / 64000.0)) << K;
    // The chain itself: beta-tilde leaves out the posterior's spread of x_0
    // (coef_x0^2 Var[x_0 | x_t]), a shortfall that grows with the step: 1.5%
    // of the variance at 1000 steps, 21% respaced to 50 (what a learned
    // variance is for).
    EXPECT_NEAR(mean, m, 1e-3) << K;
    if (K == 1000) EXPECT_NEAR(var / (s * s), 0.985, 0.005);
    if (K == 50) EXPECT_NEAR(var / (s * s), 0.786, 0.005);
  }
  SamplerOptions o;
  o.respace = o.num_steps = 20;
  auto zero = [](const torch::Tensor& x) { return torch::zeros_like(x); };
  EXPECT_THROW(run_sampler("ddpm", *ideal, torch::zeros({1, 1, 4, 4}), {}, zero, o), UsageError);  // no levels
  o.num_steps = 18;
  EXPECT_THROW(run_sampler("ddpm", net, torch::zeros({1, 1, 4, 4}), {}, zero, o), UsageError);  // steps != K
}

namespace {

nlohmann::json ddpm_config(const std::string& beta, int64_t T, bool learn_sigma) {
  networks::PresetOverrides small;
  small.cbase = 8;
  auto config = networks::preset_config("fmnist-s", "ddpm", 8, 1, 0, 0, small);
  config["beta_schedule"] = beta;
  config["T"] = T;
  config["learn_sigma"] = learn_sigma;
  return config;
}

}  // namespace

TEST(DdpmModel, TheEpsilonModelAndTheDenoiserAgree) {
  torch::manual_seed(0);
  auto net = networks::make_precond(ddpm_config("cosine", 1000, true));
  const auto* pre = dynamic_cast<const DDPMPreconditioning*>(&net->preconditioning());
  ASSERT_NE(pre, nullptr);
  const auto& chain = pre->chain();
  auto denoiser = networks::as_denoiser(net, torch::kCPU);
  EXPECT_EQ(denoiser->sigma_levels(), chain.sigma);
  EXPECT_DOUBLE_EQ(denoiser->sigma_min(), chain.sigma.front());
  EXPECT_DOUBLE_EQ(denoiser->sigma_max(), chain.sigma.back());
  torch::NoGradGuard no_grad;
  for (int64_t t : {0, 1, 250, 700, 998}) {
    auto x_t = torch::randn({2, 1, 8, 8});
    // Discrete: eps_theta(x_t, t) with the time step on the 0..1000 scale, then
    // x_0 = (x_t - sqrt(1 - abar) eps) / sqrt(abar).
    auto F = net->model().forward(x_t, torch::full({2}, float(t)), {}, {});
    auto eps = F.narrow(1, 0, 1).to(torch::kFloat64);
    const double abar = chain.alpha_bar[t];
    auto x0 = (x_t.to(torch::kFloat64) - std::sqrt(1 - abar) * eps) / std::sqrt(abar);
    // EDM: D(x; sigma_t) at x = x_t / sqrt(abar), sigma slightly off the level (rounded).
    auto sigma = torch::full({2}, chain.sigma[t] * (1 + 1e-4), torch::kFloat64);
    auto [D, v] = denoiser->denoise_with_variance(x_t.to(torch::kFloat64) / std::sqrt(abar), sigma, {});
    EXPECT_LT(test::rel_diff(D, x0), 1e-5) << t;
    EXPECT_LT(test::max_abs_diff(v, (F.narrow(1, 1, 1) + 1) / 2), 1e-5) << t;
    EXPECT_DOUBLE_EQ(denoiser->round_sigma(sigma)[0].item<double>(), chain.sigma[t]);
  }
}

TEST(DdpmModel, LSimpleIsTheEpsilonErrorAndTheVpWeighting) {
  torch::manual_seed(1);
  auto net = networks::make_precond(ddpm_config("linear", 100, false));
  net->eval();
  LossConfig c = LossConfig::for_precond("DDPMPrecond");
  c.sigma_levels = net->sigma_levels();
  auto sigma = sample_sigma(c, 6, torch::kCPU);
  for (int64_t i = 0; i < 6; ++i) {  // every draw is one of the levels
    const double s = sigma[i].item<double>();
    EXPECT_NEAR(c.sigma_levels[ddpm::nearest_level(c.sigma_levels, s)], s, 1e-6 * s);
  }
  auto y = torch::rand({6, 1, 8, 8}) * 2 - 1, n = torch::randn({6, 1, 8, 8});
  auto loss = diffusion_loss(*net, y, {}, {}, c, sigma, n);
  auto D = net->forward(y + sigma * n, sigma.flatten());
  // L_simple = |eps_theta - n|^2 = |D - y|^2 / sigma^2.
  EXPECT_LT(test::rel_diff(loss, (D - y).square() / sigma.square()), 1e-3);
  auto eps = net->network_output(y + sigma * n, sigma.flatten());
  EXPECT_LT(test::rel_diff(loss, (eps - n).square()), 1e-6);
}

TEST(DdpmModel, HybridLossTrainsTheVarianceThroughTheBoundOnly) {
  torch::manual_seed(2);
  auto net = networks::make_precond(ddpm_config("cosine", 100, true));
  const auto levels = net->sigma_levels();
  auto sigma = torch::tensor({float(levels[0]), float(levels[40]), float(levels[99])}).reshape({3, 1, 1, 1});
  auto y = torch::rand({3, 1, 8, 8}) * 2 - 1, n = torch::randn({3, 1, 8, 8});
  // The bound's part of L_hybrid: its gradient reaches the output only
  // through the variance channels (the mean is held fixed).
  auto F = net->network_output(y + sigma * n, sigma.flatten()).detach().requires_grad_(true);
  const auto* pre = dynamic_cast<const DDPMPreconditioning*>(&net->preconditioning());
  auto t = pre->step_index(sigma.flatten());
  auto x_t = ddpm::q_sample(pre->chain(), y, t, n);
  auto x0_pred = y + sigma * n - sigma * F.narrow(1, 0, 1).detach();
  auto model = ddpm::reverse_step(pre->chain(), x0_pred, x_t, t, (F.narrow(1, 1, 1) + 1) / 2);
  ddpm::vlb_term(pre->chain(), y, x_t, t, model).sum().backward();
  EXPECT_EQ(F.grad().narrow(1, 0, 1).abs().max().item<double>(), 0);
  EXPECT_GT(F.grad().narrow(1, 1, 1).abs().max().item<double>(), 0);
  // And the loss is L_simple plus lambda T times that term in bits.
  auto hybrid = ddpm_loss(*net, y, {}, {}, sigma, n, 0.001);
  auto simple = (F.narrow(1, 0, 1) - n).square();
  auto vlb = ddpm::vlb_term(pre->chain(), y, x_t, t, model) / M_LN2;
  EXPECT_LT(test::rel_diff(hybrid, simple + 0.1 * vlb), 1e-5);
}

TEST(DdpmModel, FileRecordsTheChainAndBrokenRecordsAreRefused) {
  test::TempDir dir;
  torch::manual_seed(3);
  auto net = networks::make_precond(ddpm_config("cosine", 500, true));
  save_precond(dir / "m.safetensors", *net);
  auto back = load_denoiser(dir / "m.safetensors", torch::kCPU);
  EXPECT_EQ(back->sigma_levels(), ddpm::make_chain(ddpm::BetaSchedule::Cosine, 500).sigma);
  auto x = torch::randn({1, 1, 8, 8}, torch::kFloat64);
  auto sigma = torch::tensor({back->sigma_levels()[10]}, torch::kFloat64);
  EXPECT_TRUE(back->denoise_with_variance(x, sigma, {}).second.defined());
  // A broken record names what is wrong.
  auto tensors = state_dict(*net);
  for (auto [key, value, says] : {std::tuple<const char*, nlohmann::json, const char*>{"T", 1, "\"T\""},
                                  {"beta_schedule", "quadratic", "beta_schedule"},
                                  {"learn_sigma", "maybe", "learn_sigma"},
                                  {"T", 1000, "shape"}}) {
    auto config = net->config();
    config[key] = value;
    if (std::string(says) == "shape") config["learn_sigma"] = false;  // one output channel: the weights do not fit
    save_tensors(dir / "bad.safetensors", tensors, {{"edm.config", config.dump()}});
    try {
      load_denoiser(dir / "bad.safetensors", torch::kCPU);
      ADD_FAILURE() << key;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  }
}
