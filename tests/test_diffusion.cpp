// The diffusion formulas (src/edm/diffusion/) and the preconditioning of
// non-image data: one home per formula, the same numbers for every user.
#include <cmath>
#include <tuple>

#include "edm/core/error.h"
#include "edm/core/rng.h"
#include "edm/diffusion/iddpm.h"
#include "edm/diffusion/preconditioning.h"
#include "edm/diffusion/schedule.h"
#include "edm/diffusion/vp.h"
#include "edm/model/model_file.h"
#include "edm/nn/precond.h"
#include "edm/toy/toy2d.h"
#include "edm/train/loss.h"
#include "testing.h"

namespace edm {
namespace {

TEST(Diffusion, VpBetaFitRoundTripsTheSigmaRange) {
  for (auto [sigma_min, sigma_max, eps] : {std::tuple{0.002, 80.0, 1e-3}, {0.02, 100.0, 1e-3}, {0.1, 5.0, 1e-2}}) {
    const VPBeta b = vp_beta_fit(sigma_min, sigma_max, eps);
    EXPECT_NEAR(vp_sigma(1.0, b.beta_d, b.beta_min), sigma_max, 1e-12 * sigma_max);
    EXPECT_NEAR(vp_sigma(eps, b.beta_d, b.beta_min), sigma_min, 1e-8 * sigma_min);
    EXPECT_NEAR(vp_sigma_inv(sigma_min, b.beta_d, b.beta_min), eps, 1e-7 * eps);
  }
  // The reference's defaults: beta_d = 19.9, beta_min = 0.1 give its VP range.
  const double smin = vp_sigma(1e-3, 19.9, 0.1), smax = vp_sigma(1.0, 19.9, 0.1);
  const VPBeta b = vp_beta_fit(smin, smax, 1e-3);
  EXPECT_NEAR(b.beta_d, 19.9, 1e-7);
  EXPECT_NEAR(b.beta_min, 0.1, 1e-7);
}

TEST(Diffusion, VpTensorAndScalarFormsAgree) {
  auto t = torch::linspace(1e-5, 1, 50, torch::kFloat64);
  auto s = vp_sigma(t, 19.9, 0.1);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const double ti = t[i].item<double>();
    EXPECT_NEAR(s[i].item<double>(), vp_sigma(ti, 19.9, 0.1), 1e-9 * s[i].item<double>());
  }
  EXPECT_LT((vp_sigma_inv(s, 19.9, 0.1) - t).abs().max().item<double>(), 1e-12);
  // sigma'(t) by central differences.
  const Schedule vp = Schedule::parse("vp");
  const double h = 1e-6, t0 = 0.3;
  EXPECT_NEAR(vp.sigma_deriv(t0), (vp.sigma(t0 + h) - vp.sigma(t0 - h)) / (2 * h), 1e-5);
  // The loss's float32 draws are the schedule's sigma(t).
  LossConfig c;
  c.kind = "vp";
  auto sigma = sample_sigma(c, 64, torch::kCPU, seed_generator(3));
  auto back = vp_sigma_inv(sigma.to(torch::kFloat64), c.beta_d, c.beta_min);
  EXPECT_GE(back.min().item<double>(), c.epsilon_t * 0.99);
  EXPECT_LE(back.max().item<double>(), 1 + 1e-5);
}

TEST(Diffusion, IddpmGridIsTheOneThePreconditioningStores) {
  // The float32 recursion as the reference's iDDPMPrecond writes it
  // (alpha_bar of a float32 j): bit for bit the shared grid.
  const int64_t M = 1000;
  const double C_1 = 0.001, C_2 = 0.008;
  auto alpha_bar = [&](int64_t j) {
    auto t = torch::full({}, double(j), torch::kFloat32);
    return (0.5 * M_PI * t / double(M) / (C_2 + 1)).sin().pow(2);
  };
  auto u = torch::zeros({M + 1}, torch::kFloat32);
  for (int64_t j = M; j > 0; --j)
    u[j - 1] = ((u[j].pow(2) + 1) / (alpha_bar(j - 1) / alpha_bar(j)).clamp_min(C_1) - 1).sqrt();
  EXPECT_TRUE(torch::equal(u, iddpm_u_tensor(M, C_1, C_2, torch::kFloat32)));
  iDDPMPreconditioning pre(C_1, C_2, M);
  EXPECT_TRUE(torch::equal(pre.u(), u));
  // round_sigma lands on the grid; c_noise is the level's index from the top.
  auto sigma = torch::tensor({0.5, 3.0, 70.0}, torch::kFloat32).reshape({-1, 1});
  auto r = pre.round_sigma(sigma);
  auto c = pre.coefficients(r);
  for (int64_t i = 0; i < 3; ++i) {
    const int64_t j = M - 1 - int64_t(c.c_noise[i][0].item<float>());
    EXPECT_EQ(r[i][0].item<float>(), u[j].item<float>());
  }
}

torch::Tensor by_hand(networks::PrecondImpl& net, const Preconditioning& pre, const torch::Tensor& x,
                      const torch::Tensor& sigma) {
  auto c = pre.coefficients(sigma.reshape({-1, 1}));
  auto F = net.model().forward(c.c_in * x, c.c_noise.flatten(), {}, {});
  return c.c_skip * x + c.c_out * F.narrow(1, 0, x.size(1));
}

TEST(Diffusion, PreconditioningOfPointsIsTheFormula) {
  torch::manual_seed(0);
  for (std::string precond : {"EDMPrecond", "VPPrecond", "VEPrecond", "iDDPMPrecond"}) {
    auto config = toy2d_config(16);
    config["precond"] = precond;
    if (precond != "EDMPrecond") config.erase("sigma_data");
    auto net = networks::make_precond(config);
    net->eval();
    torch::NoGradGuard no_grad;
    auto x = torch::randn({5, 2});
    auto sigma = torch::tensor({0.1, 0.5, 1.0, 2.0, 5.0}, torch::kFloat32);
    auto D = net->forward(x, sigma);
    EXPECT_EQ(D.sizes(), x.sizes()) << precond;
    EXPECT_TRUE(torch::allclose(D, by_hand(*net, net->preconditioning(), x, sigma), 1e-6, 1e-6)) << precond;
    // A scalar sigma broadcasts over the batch.
    EXPECT_TRUE(torch::allclose(net->forward(x, torch::tensor(0.5f)), net->forward(x, torch::full({5}, 0.5f)), 0, 0))
        << precond;
    EXPECT_THROW(net->forward(torch::randn({5, 2, 1, 1}), sigma), Error) << precond;
  }
}

TEST(Diffusion, ToyModelIsAModelFile) {
  test::TempDir dir;
  torch::manual_seed(1);
  auto net = networks::make_precond(toy2d_config(8));
  save_precond(dir / "toy.safetensors", *net);
  auto d = load_denoiser(dir / "toy.safetensors", torch::kCPU);
  EXPECT_EQ(d->sample_shape(), (std::vector<int64_t>{2}));
  net->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({4, 2});
  auto sigma = torch::tensor({0.2f, 0.4f, 0.8f, 1.6f});
  EXPECT_TRUE(torch::equal(d->denoise(x, sigma), net->forward(x, sigma)));
  // An MLP refuses images and labels.
  auto bad = toy2d_config(8);
  bad.erase("sample_shape");
  bad["img_channels"] = 2, bad["img_resolution"] = 4;
  EXPECT_THROW(networks::make_precond(bad), Error);
  bad = toy2d_config(8);
  bad["label_dim"] = 3;
  EXPECT_THROW(networks::make_precond(bad), Error);
}

}  // namespace
}  // namespace edm
