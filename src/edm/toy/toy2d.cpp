#include "edm/toy/toy2d.h"

#include <cmath>

#include "edm/core/error.h"
#include "edm/core/progress.h"
#include "edm/core/rng.h"
#include "edm/nn/precond.h"
#include "edm/sampling/sampler.h"
#include "edm/train/adam.h"
#include "edm/train/loss.h"

namespace edm {

namespace {

constexpr double kSigmaData = 0.5;
constexpr double kPi = 3.14159265358979323846;

// Standardise each axis to std sigma_data: the scale EDM's preconditioning expects.
torch::Tensor standardise(const torch::Tensor& x) { return (x - x.mean(0)) / x.std(0) * kSigmaData; }

}  // namespace

torch::Tensor toy2d_data(const std::string& name, int64_t n, uint64_t seed) {
  auto gen = seed_generator(seed);
  auto opts = torch::TensorOptions().dtype(torch::kFloat32);
  auto u = torch::rand({n}, gen, opts), noise = torch::randn({n, 2}, gen, opts);
  torch::Tensor x;
  if (name == "moons") {
    // Two interleaved half circles.
    auto upper = torch::rand({n}, gen, opts) < 0.5;
    auto a = u * kPi;
    auto xu = torch::stack({torch::cos(a), torch::sin(a)}, 1);
    auto xl = torch::stack({1 - torch::cos(a), 0.5 - torch::sin(a)}, 1);
    x = torch::where(upper.unsqueeze(1), xu, xl) + 0.06 * noise;
  } else if (name == "gmm") {
    // Eight tight Gaussians on a circle.
    auto k = torch::randint(8, {n}, gen, torch::kInt64).to(torch::kFloat32);
    auto a = k * (2 * kPi / 8);
    x = 2 * torch::stack({torch::cos(a), torch::sin(a)}, 1) + 0.12 * noise;
  } else if (name == "spiral") {
    auto r = torch::sqrt(u) * 3 * kPi;
    x = torch::stack({r * torch::cos(r), r * torch::sin(r)}, 1) / (3 * kPi) + 0.025 * noise;
  } else {
    throw UsageError("--data must be moons, gmm or spiral, got '" + name + "'");
  }
  return standardise(x);
}

nlohmann::json toy2d_config(int64_t hidden) {
  return {{"precond", "EDMPrecond"},
          {"sigma_data", kSigmaData},
          {"sample_shape", nlohmann::json::array({2})},
          {"model", {{"model_type", "MLP"}, {"hidden", hidden}}}};
}

std::shared_ptr<Denoiser> train_toy2d(const torch::Tensor& data, const Toy2dOptions& o, double* final_loss) {
  if (o.steps < 1 || o.batch < 1 || o.hidden < 1 || !(o.lr > 0))
    throw UsageError("toy training options must be positive");
  torch::manual_seed(o.seed);  // the MLP's initial weights
  auto gen = seed_generator(o.seed + 1);
  auto net = networks::make_precond(toy2d_config(o.hidden));
  net->train();
  Adam opt(*net);
  // The loss of `edm train` (EDM p_train and lambda), on points instead of images.
  LossConfig loss_cfg = LossConfig::for_precond("edm");
  loss_cfg.sigma_data = kSigmaData;
  Progress progress("train toy", o.steps);
  double ema_loss = 0;
  for (int64_t step = 0; step < o.steps; ++step) {
    auto idx = torch::randint(data.size(0), {o.batch}, gen, torch::kInt64);
    auto y = data.index_select(0, idx);
    auto sigma = sample_sigma(loss_cfg, o.batch, torch::kCPU, gen);
    auto n = torch::randn({o.batch, 2}, gen, torch::kFloat32);
    auto loss = diffusion_loss(*net, y, {}, {}, loss_cfg, sigma, n).sum(1).mean();
    for (auto& p : net->parameters()) p.mutable_grad() = torch::Tensor();
    loss.backward();
    // No lr ramp-up (a few thousand steps from scratch do not need one); a
    // step down in the last third sharpens the fit.
    opt.step(o.lr * (step < o.steps * 2 / 3 ? 1.0 : 0.2));
    ema_loss = step == 0 ? loss.item<double>() : 0.98 * ema_loss + 0.02 * loss.item<double>();
    if (step % 50 == 0 || step + 1 == o.steps) progress.update(step + 1, "loss " + std::to_string(ema_loss));
  }
  progress.finish();
  if (final_loss) *final_loss = ema_loss;
  return networks::as_denoiser(net, torch::kCPU);
}

torch::Tensor sample_toy2d(Denoiser& net, int64_t n, int64_t steps, uint64_t seed) {
  auto gen = seed_generator(seed);
  auto latents = torch::randn({n, 2}, gen, torch::kFloat64);
  SamplerOptions o;
  o.num_steps = steps;
  auto noise = [&](const torch::Tensor& x) { return torch::randn(x.sizes(), gen, torch::kFloat64); };
  return edm_sampler(net, latents, {}, noise, o).reshape({n, 2}).to(torch::kFloat32);
}

double nearest_distance(const torch::Tensor& samples, const torch::Tensor& data) {
  auto d = torch::cdist(samples.to(torch::kFloat32), data.to(torch::kFloat32));
  return std::get<0>(d.min(1)).mean().item<double>();
}

plot::Plot toy2d_plot(const torch::Tensor& data, const torch::Tensor& samples, const std::string& title) {
  auto vec = [](const torch::Tensor& t) {
    auto c = t.to(torch::kFloat64).contiguous();
    return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  };
  double lim = 1.15 * std::max(data.abs().max().item<double>(), 0.1);
  plot::Plot p;
  p.title(title).xlabel("x0").ylabel("x1").size(620, 600).xlim(-lim, lim).ylim(-lim, lim);
  p.add_points("data", vec(data.select(1, 0)), vec(data.select(1, 1)), plot::kGray.with_alpha(0.35f), 1.6);
  p.add_points("samples", vec(samples.select(1, 0)), vec(samples.select(1, 1)), plot::palette(3).with_alpha(0.8f), 1.8);
  return p;
}

}  // namespace edm
