// The EDM training recipe, term by term, against NVlabs/edm on the fmnist-s
// configuration (tests/reference/train_recipe.safetensors): initialisation,
// the noise-level and noise draws, lambda(sigma), the loss, its gradients,
// nan_to_num, Adam, the learning-rate ramp and the EMA. Any term that
// differed would make edm's 10-minute run another recipe than the reference's.
#include <cmath>
#include <cstdio>

#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"
#include "edm/nn/precond.h"
#include "edm/train/adam.h"
#include "edm/train/ema.h"
#include "edm/train/loss.h"
#include "testing.h"

namespace edm {
namespace {

using json = nlohmann::json;

const TensorFile& fixture() {
  static const TensorFile file(test::reference("train_recipe.safetensors"));
  return file;
}

json recipe() { return json::parse(fixture().metadata("recipe", "{}")); }

// Every tensor of the module (parameters, then buffers) by state_dict name.
std::map<std::string, torch::Tensor> state_of(const torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value();
  for (const auto& b : m.named_buffers()) out[b.key()] = b.value();
  return out;
}

// The fixture's 16-channel network in training mode, at the weights stored
// under `prefix`.
std::shared_ptr<networks::PrecondImpl> network_at(const std::string& prefix) {
  auto net = networks::make_precond(read_model_config(fixture()), networks::Build{torch::kCPU, false});
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : state_of(*net)) t.copy_(fixture().get(prefix + name));
  net->train();
  return net;
}

// max |a - b| over max |b|: float32 summation order moves each value by a
// few ulps of the largest one it is summed with.
double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  const double scale = b.abs().max().item<double>();
  return test::max_abs_diff(a, b) / (scale > 0 ? scale : 1);
}

struct Draws {
  torch::Tensor sigma, noise;
};

// The reference's EDMLoss draws rnd_normal [N,1,1,1] and then the noise from
// the global generator, which the fixture seeded with 100 + step.
Draws draws_of_step(int step) {
  const auto& y = fixture().get("input.images");
  torch::manual_seed(100 + step);
  Draws d;
  d.sigma = sample_sigma(LossConfig::for_precond("edm"), y.size(0), torch::kCPU);
  d.noise = torch::randn_like(y);
  return d;
}

// loss(net, y, labels).sum() / N, backward; the per-pixel loss.
torch::Tensor loss_and_gradients(networks::PrecondImpl& net, int step) {
  const auto& f = fixture();
  auto d = draws_of_step(step);
  for (auto& p : net.parameters()) p.mutable_grad() = torch::Tensor();
  auto loss = diffusion_loss(net, f.get("input.images"), f.get("input.labels"), {}, LossConfig::for_precond("edm"),
                             d.sigma, d.noise);
  (loss.sum() / static_cast<double>(loss.size(0))).backward();
  return loss.detach();
}

// The worst relative error of the network's gradients against the
// reference's of a step (prefix "step0." or "step1."), with its tensor.
std::pair<double, std::string> worst_gradient_error(const networks::PrecondImpl& net, const std::string& prefix) {
  std::pair<double, std::string> worst{0, ""};
  for (const auto& p : net.named_parameters()) {
    EXPECT_TRUE(p.value().grad().defined()) << p.key() << " has no gradient";
    if (!p.value().grad().defined()) continue;
    const double e = relative_error(p.value().grad(), fixture().get(prefix + "grad." + p.key()));
    if (e > worst.first) worst = {e, p.key()};
  }
  std::printf("%sgradients: worst relative error %.3g (%s)\n", prefix.c_str(), worst.first, worst.second.c_str());
  return worst;
}

TEST(TrainRecipe, InitialisationHasTheReferencesStatistics) {
  // fmnist-s as edm initialises it against the reference's freshly built
  // network: the same tensors; zeros and constants exactly; random tensors
  // with the reference's mean and std to within six standard errors of the
  // sample (uniform draws: the std's relative error is sqrt(0.8 / 4n)).
  auto config = json::parse(fixture().metadata("edm.config", "{}"));
  config["model"]["model_channels"] = 32;
  torch::manual_seed(0);
  auto net = networks::make_precond(config, networks::Build{torch::kCPU, true});
  auto ours = state_of(*net);
  size_t seen = 0;
  for (const auto& key : fixture().names()) {
    if (key.rfind("init.", 0) != 0) continue;
    const auto name = key.substr(5);
    ++seen;
    ASSERT_TRUE(ours.count(name)) << name << " is in the reference's network, not in edm's";
    auto stats = fixture().get(key);  // numel, mean, std, max |.|
    auto t = ours[name].to(torch::kFloat64);
    const double n = stats[0].item<double>(), mean = stats[1].item<double>(), std = stats[2].item<double>();
    const double peak = stats[3].item<double>();
    ASSERT_EQ(t.numel(), static_cast<int64_t>(n)) << name;
    if (peak == 0) {
      EXPECT_EQ(t.abs().max().item<double>(), 0) << name << " is zero-initialised by the reference";
    } else if (std == 0 || n == 1) {
      EXPECT_DOUBLE_EQ(t.mean().item<double>(), mean) << name << " is a constant in the reference";
    } else {
      const double our_std = t.std(/*unbiased=*/false).item<double>();
      EXPECT_NEAR(our_std / std, 1, 6 * std::sqrt(0.8 / (4 * n))) << name;
      EXPECT_NEAR(t.mean().item<double>(), mean, 6 * std * std::sqrt(2 / n)) << name;
    }
  }
  EXPECT_EQ(seen, ours.size()) << "edm's network has tensors the reference's has not";
}

TEST(TrainRecipe, NoiseLevelsAndNoiseAreTheReferencesDraws) {
  // sigma = exp(P_mean + P_std rnd_normal) from the same generator state,
  // then the noise: bit for bit, so a run seeded alike sees the same sigmas.
  for (int step = 0; step < 2; ++step) {
    auto d = draws_of_step(step);
    const auto prefix = "step" + std::to_string(step) + ".";
    EXPECT_TRUE(torch::equal(d.noise, fixture().get(prefix + "noise"))) << step;
    EXPECT_LT(relative_error(d.sigma, fixture().get(prefix + "sigma")), 1e-6) << step;  // exp's last ulp
    auto w = loss_weight(LossConfig::for_precond("edm"), d.sigma);
    EXPECT_LT(relative_error(w, fixture().get(prefix + "weight")), 1e-6) << step;
  }
}

TEST(TrainRecipe, LossAndGradientsMatchTheReference) {
  auto net = network_at("start.");
  auto loss = loss_and_gradients(*net, 0);
  const double loss_error = relative_error(loss, fixture().get("step0.loss"));
  std::printf("loss: max relative error %.3g\n", loss_error);
  EXPECT_LT(loss_error, 1e-5);
  // Each gradient tensor against the reference's, relative to its largest
  // value; the worst over all tensors is printed.
  const auto [worst, worst_name] = worst_gradient_error(*net, "step0.");
  EXPECT_LT(worst, 1e-5) << worst_name;
}

TEST(TrainRecipe, TwoStepsOfAdamAndEmaMatchTheReference) {
  // nan_to_num, Adam at the ramped learning rate, the EMA at the ramped
  // half-life, twice. Each step takes edm's gradients and checks them against
  // the reference's, then updates from the reference's gradients: Adam
  // normalises the gradient per value, so a value whose gradient is float32
  // rounding only (the keys' biases in attention, which the softmax ignores)
  // would move by lr either way, and the second step's gradients would
  // depend on which BLAS kernel summed the first's. From the same gradients
  // the two updates differ by float32 rounding only, on any CPU.
  const auto r = recipe();
  auto net = network_at("start.");
  auto ema = network_at("start.");
  Adam adam(*net);
  const auto nimg = r.at("nimg").get<std::vector<double>>();
  double lr_sum = 0;
  for (int step = 0; step < 2; ++step) {
    const auto prefix = "step" + std::to_string(step) + ".";
    loss_and_gradients(*net, step);
    // The second step's weights differ from the reference's by rounding
    // only, so its gradients are held to the first step's bound.
    const auto [worst, worst_name] = worst_gradient_error(*net, prefix);
    EXPECT_LT(worst, 1e-5) << prefix << worst_name;
    for (const auto& p : net->named_parameters())
      p.value().mutable_grad().copy_(fixture().get(prefix + "grad." + p.key()));
    const double lr = ramped_lr(r.at("lr"), nimg[step], r.at("lr_rampup_nimg"));
    const double beta =
        ema_beta(r.at("batch_for_formulas"), r.at("ema_halflife_nimg"), nimg[step], r.at("ema_rampup").get<double>());
    EXPECT_DOUBLE_EQ(lr, fixture().get(prefix + "lr").item<double>());
    EXPECT_DOUBLE_EQ(beta, fixture().get(prefix + "ema_beta").item<double>());
    force_finite_gradients(net->parameters(), 1e5);
    adam.step(lr);
    ema_update(*ema, *net, beta);
    lr_sum += lr;
  }
  // The update each value received (final - start) against the reference's.
  // Adam's update of one value is a handful of float32 operations on the
  // same gradients, each rounding to 2^-24 of its result: the bound is 16
  // such roundings of an update of at most (lr_0 + lr_1), plus the rounding
  // of the weights themselves. The EMA moves by a part of the network's
  // update and gets the same bound. A wrong moment, bias correction,
  // learning rate or EMA weight moves values by a good part of lr and fails
  // it by orders of magnitude.
  double net_worst = 0, ema_worst = 0;
  auto check = [&](const std::string& name, const torch::Tensor& ours, const std::string& which) {
    auto start = fixture().get("start." + name).to(torch::kFloat64);
    auto final_ref = fixture().get("final." + which + "." + name).to(torch::kFloat64);
    auto error = (ours.to(torch::kFloat64) - final_ref).abs();
    auto bound = 4 * std::ldexp(1.0, -24) * (start.abs() + final_ref.abs()) + 16 * std::ldexp(lr_sum, -24);
    return (error / bound).max().item<double>();
  };
  for (auto& [name, t] : state_of(*net)) net_worst = std::max(net_worst, check(name, t, "net"));
  for (auto& [name, t] : state_of(*ema)) ema_worst = std::max(ema_worst, check(name, t, "ema"));
  std::printf("updates: worst error over its bound: net %.3g, ema %.3g\n", net_worst, ema_worst);
  EXPECT_LE(net_worst, 1);
  EXPECT_LE(ema_worst, 1);
}

}  // namespace
}  // namespace edm
