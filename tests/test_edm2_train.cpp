// Training with the EDM2 recipe: the learning-rate schedule step by step, the
// optimizer, non-finite gradients, the log-variance head, post-hoc EMA
// snapshots, exact resume and a model file that edm generate loads.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "edm/core/error.h"
#include "edm/io/atomic_file.h"
#include "edm/io/image.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"
#include "edm/nn/edm2_presets.h"
#include "edm/nn/presets.h"
#include "edm/train/adam.h"
#include "edm/train/edm2_loss.h"
#include "edm/train/loop.h"
#include "edm/train/options.h"
#include "testing.h"
#include "train_testing.h"

using namespace edm;
namespace fs = std::filesystem;

namespace {

// n labelled 8x8 grey images, two classes.
void write_dataset(const std::string& dir, int n) {
  fs::create_directories(dir);
  nlohmann::json list = nlohmann::json::array();
  auto gen = at::detail::createCPUGenerator(3);
  for (int i = 0; i < n; ++i) {
    auto img = at::randint(0, 255, {8, 8, 1}, gen, torch::TensorOptions().dtype(torch::kUInt8));
    const std::string name = "img" + std::to_string(i) + ".png";
    write_png(dir + "/" + name, img);
    list.push_back({name, i % 2});
  }
  write_file_atomic(dir + "/dataset.json", nlohmann::json({{"labels", list}}).dump());
}

// A tiny EDM2 network, one step (8 images) per tick, learning rate ramped up
// over two steps and decaying after two batches.
TrainOptions tiny(const std::string& data, const std::string& outdir, double steps) {
  TrainOptions o;
  o.data = data;
  o.outdir = outdir;
  o.arch = "edm2-fmnist-xs";
  o.cbase = 8;
  o.batch = 8;
  o.duration = steps * 8e-6;
  o.tick = 0.008;
  o.lr = 0.01;
  o.decay = 2;
  o.lr_rampup = 0.016;
  o.snap = 1;
  o.dump = 1;
  return o;
}

std::vector<nlohmann::json> stats(const std::string& run) {
  std::ifstream in(run + "/stats.jsonl");
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::map<std::string, torch::Tensor> tensors(const std::string& path) { return TensorFile(path).all(); }

}  // namespace

TEST(EDM2Train, PresetsCarryTheRecipe) {
  const auto d = networks::preset_training("edm2", true);
  EXPECT_TRUE(d.edm2);
  EXPECT_EQ(d.batch, 128);
  EXPECT_DOUBLE_EQ(d.decay, 2000);
  EXPECT_DOUBLE_EQ(d.ema, 0);  // no classic EMA, as train_edm2.py
  EXPECT_EQ(d.ema_std, (std::vector<double>{0.050, 0.100}));
  EXPECT_DOUBLE_EQ(d.P_mean, -0.4);
  EXPECT_DOUBLE_EQ(d.P_std, 1.0);
  EXPECT_FALSE(networks::preset_training("fmnist-s", true).edm2);
  // train_edm2.py's img512-xs learning rate, and img64's noise levels.
  EXPECT_DOUBLE_EQ(networks::preset_training("edm2-img512-xs", false).lr, 0.0120);
  const auto img64 = networks::preset_training("edm2-img64-s", false);
  EXPECT_DOUBLE_EQ(img64.P_mean, -0.8);
  EXPECT_DOUBLE_EQ(img64.decay, 35000);
  EXPECT_EQ(networks::preset_config("edm2", "edm", 28, 1, 10, 0)["precond"], "EDM2Precond");
  EXPECT_THROW(networks::preset_config("edm2", "vp", 28, 1, 10, 0), UsageError);
  EXPECT_THROW(networks::preset_config("edm2", "edm", 28, 1, 10, 9), UsageError);  // no augmentation labels
}

TEST(EDM2Train, NonFiniteGradientsAreZeroedAndNeverReachTheWeights) {
  torch::manual_seed(0);
  networks::PresetOverrides small;
  small.cbase = 8;
  auto config = networks::preset_config("edm2-fmnist-xs", "edm", 8, 1, 0, 0, small);
  auto net = networks::make_precond(config);
  net->train();
  auto images = torch::randn({4, 1, 8, 8}) * 0.5;
  auto sigma = edm2_sigma({}, torch::randn({4, 1, 1, 1}));
  edm2_loss(*net, images, {}, {}, sigma, torch::randn_like(images)).sum().backward();
  // The log-variance head (the U-Net's out_gain starts at 0, so its other weights get no gradient yet).
  auto w = net->named_parameters()["logvar_linear.weight"];
  auto flat = w.mutable_grad().view(-1);
  flat[0] = std::numeric_limits<float>::quiet_NaN();
  flat[1] = std::numeric_limits<float>::infinity();
  flat[2] = -std::numeric_limits<float>::infinity();
  const auto before = w.detach().clone();
  force_finite_gradients(net->parameters(), 0.0);
  EXPECT_TRUE(torch::isfinite(w.grad()).all().item<bool>());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(w.grad().view(-1)[i].item<float>(), 0.0f) << i;
  Adam adam(*net, 0.9, 0.99, 1e-8);
  adam.step(0.1);
  const auto after = w.detach().view(-1), was = before.view(-1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(after[i].item<float>(), was[i].item<float>()) << i;
  EXPECT_GT((after.narrow(0, 3, after.numel() - 3) - was.narrow(0, 3, was.numel() - 3)).abs().max().item<double>(),
            1e-3);
  // NVlabs/edm's rule for the other presets: +-1e5.
  flat = w.mutable_grad().view(-1);
  flat[1] = std::numeric_limits<float>::infinity();
  force_finite_gradients(net->parameters(), 1e5);
  EXPECT_EQ(w.grad().view(-1)[1].item<float>(), 1e5f);
}

TEST(EDM2Train, ShortRunUsesTheRecipeAndLoadsForGenerate) {
  test::TempDir dir;
  write_dataset(dir / "data", 16);
  const auto run = train(tiny(dir / "data", dir / "runs", 4), test::quiet_cpu());

  // The learning rate of each step (one per tick): ramp-up over 16 images,
  // then ref_lr / sqrt(nimg / (2 batches of 8)), at the images before the step.
  const auto ticks = stats(run);
  ASSERT_EQ(ticks.size(), 4u);
  const double expected[] = {0.0, 0.005, 0.01, 0.01 / std::sqrt(1.5)};
  for (int i = 0; i < 4; ++i) {
    const auto& lr = ticks[i]["Loss/learning_rate"];
    EXPECT_EQ(lr["num"], 1) << i;
    EXPECT_NEAR(lr["mean"].get<double>(), expected[i], 1e-15) << i;
    EXPECT_DOUBLE_EQ(lr["mean"].get<double>(), edm2_learning_rate(8.0 * i, 8, 0.01, 2, 16e-6)) << i;
  }

  // The run's options and state record the optimizer and the loss's noise levels.
  std::ifstream opts_in(run + "/training_options.json");
  const auto opts = nlohmann::json::parse(opts_in);
  EXPECT_EQ(opts["optimizer"], nlohmann::json({{"beta1", 0.9}, {"beta2", 0.99}, {"eps", 1e-8}}));
  EXPECT_DOUBLE_EQ(opts["P_mean"].get<double>(), -0.4);
  EXPECT_EQ(opts["ema"], 0.0);
  const auto state_path = run + "/training-state-000000.safetensors";
  TensorFile state(state_path);
  const auto info = nlohmann::json::parse(state.metadata("edm.train", "{}"));
  EXPECT_EQ(info["adam"]["beta2"], 0.99);
  EXPECT_EQ(info["arch"], "edm2-fmnist-xs");
  EXPECT_EQ(info["cur_nimg"], 32);

  // No classic EMA: the EMA copy is the network itself.
  for (const auto& name : state.names())
    if (name.rfind("net.", 0) == 0) {
      EXPECT_TRUE(torch::equal(state.get(name), state.get("ema." + name.substr(4))));
    }

  // The log-variance head learned: its direction moved (forced weight
  // normalisation alone only rescales it).
  torch::manual_seed(0);
  auto init = networks::make_precond(opts["network"]);
  auto unit = [](const torch::Tensor& w) { return w / w.norm(2, {1}, true); };
  const auto w0 = init->named_parameters()["logvar_linear.weight"].detach();
  const auto w1 = state.get("net.logvar_linear.weight");
  EXPECT_GT((unit(w1) - unit(w0)).abs().max().item<double>(), 1e-5);

  // Snapshots: the network (EDM2 format) and one per post-hoc EMA std.
  const auto model = run + "/network-snapshot-000000.safetensors";
  EXPECT_EQ(TensorFile(model).metadata("edm.format", ""), "edm2-model-v1");
  for (const char* s : {"0.050", "0.100"})
    EXPECT_TRUE(fs::exists(run + "/network-snapshot-0000000-" + s + ".safetensors")) << s;
  auto r = test::run_edm("generate --net " + model + " --seeds 0-1 --steps 4 --device cpu --outdir " + (dir / "png"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir / "png/000001.png"));
}

TEST(EDM2Train, ResumeIsExact) {
  test::TempDir dir;
  write_dataset(dir / "data", 16);
  const auto full = train(tiny(dir / "data", dir / "full", 4), test::quiet_cpu());
  const auto half = train(tiny(dir / "data", dir / "half", 2), test::quiet_cpu());
  // The preset (and so the recipe) comes from the state, whatever --arch says.
  auto resumed_opts = tiny(dir / "data", dir / "resumed", 4);
  resumed_opts.arch = "fmnist-s";
  resumed_opts.resume = half + "/training-state-000000.safetensors";
  const auto resumed = train(resumed_opts, test::quiet_cpu());
  for (const char* file :
       {"training-state-000000.safetensors", "training-state-000000.phema.safetensors",
        "network-snapshot-0000000-0.050.safetensors", "network-snapshot-0000000-0.100.safetensors"}) {
    SCOPED_TRACE(file);
    const auto a = tensors(full + "/" + file), b = tensors(resumed + "/" + file);
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [name, t] : a) EXPECT_TRUE(torch::equal(t, b.at(name))) << name;
  }
  const auto t_full = stats(full), t_resumed = stats(resumed);
  ASSERT_EQ(t_resumed.size(), 2u);
  EXPECT_EQ(t_resumed[1]["Loss/learning_rate"]["mean"], t_full[3]["Loss/learning_rate"]["mean"]);
}

TEST(EDM2Train, OptionsThatDoNotFitAreUsageErrors) {
  test::TempDir dir;
  write_dataset(dir / "data", 8);
  const std::string common = " --data " + (dir / "data") + " --outdir " + (dir / "runs") + " --device cpu -q --dry-run";
  for (const char* bad : {"--arch fmnist-s --decay 10", "--arch edm2 --precond vp", "--arch edm2 --augment 0.1",
                          "--arch edm2 --label-dropout 0.1", "--arch edm2 --P-std 0", "--precond ve --P-mean 0"}) {
    auto r = test::run_edm(std::string("train ") + bad + common);
    EXPECT_EQ(r.exit_code, 2) << bad << "\n" << r.output;
  }
  auto r = test::run_edm("train --arch edm2 --cbase 8" + common);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("EDM2 (uncertainty-weighted), Adam betas (0.9, 0.99)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("post-hoc EMA stds 0.05,0.1"), std::string::npos) << r.output;
}
