// DDPM from the command line: training with the cosine schedule and a
// learned variance on the built-in data, sampling the result with the
// discrete chain (respaced) and with the EDM sampler, and bad input.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "edm/data/dataset.h"
#include "edm/eval/ddpm_vlb.h"
#include "edm/io/atomic_file.h"
#include "edm/io/image.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"
#include "edm/nn/presets.h"
#include "testing.h"

using namespace edm;
namespace fs = std::filesystem;

namespace {

std::string find_snapshot(const std::string& outdir) {
  for (const auto& run : fs::directory_iterator(outdir))
    for (const auto& f : fs::directory_iterator(run.path()))
      if (f.path().filename().string().rfind("network-snapshot-", 0) == 0) return f.path().string();
  return "";
}

// The line of the error message, which must be the only one mentioning it.
std::string error_line(const std::string& output) {
  const auto at = output.find("error: ");
  if (at == std::string::npos) return "";
  return output.substr(at, output.find('\n', at) - at);
}

void expect_usage_error(const std::string& args, int code, const std::string& says) {
  auto r = test::run_edm(args);
  EXPECT_EQ(r.exit_code, code) << args << "\n" << r.output;
  EXPECT_NE(error_line(r.output).find(says), std::string::npos) << args << "\n" << r.output;
}

}  // namespace

TEST(DdpmCli, TrainCosineLearnedVarianceThenSampleBothWays) {
  test::TempDir dir;
  auto r = test::run_edm("train --precond ddpm --beta cosine --learn-sigma --outdir " + (dir / "runs") +
                         " --cbase 8 --batch 16 --duration 0.000032 --tick 0.016 --grid 1 --cond 0 --device cpu "
                         "--threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("DDPM L_hybrid"), std::string::npos) << r.output;
  const auto snapshot = find_snapshot(dir / "runs");
  ASSERT_FALSE(snapshot.empty());
  // The model file records the chain.
  auto config = read_model_config(TensorFile(snapshot));
  EXPECT_EQ(config["precond"], "DDPMPrecond");
  EXPECT_EQ(config["beta_schedule"], "cosine");
  EXPECT_EQ(config["T"], 1000);
  EXPECT_EQ(config["learn_sigma"], true);
  // Its discrete chain respaced to 50 steps, and EDM's sampler on its sigma range.
  for (const std::string sampler : {"--sampler ddpm --respace 50", "--sampler edm --steps 8"}) {
    const auto raw = dir / "raw.safetensors";
    r = test::run_edm("generate --net " + snapshot + " --seeds 0-3 --device cpu --raw " + raw + " " + sampler);
    ASSERT_EQ(r.exit_code, 0) << sampler << "\n" << r.output;
    auto images = TensorFile(raw).get("images");
    EXPECT_EQ(images.sizes(), torch::IntArrayRef({4, 1, 28, 28})) << sampler;
    EXPECT_TRUE(images.isfinite().all().item<bool>()) << sampler;
  }
  // --respace is the chain of a DDPM model, and ddpm's alone.
  expect_usage_error("generate --net " + snapshot + " --seeds 0 --device cpu --raw " + (dir / "x.safetensors") +
                         " --sampler edm --respace 5",
                     2, "--respace does not apply to sampler 'edm'");
  expect_usage_error("generate --net " + snapshot + " --seeds 0 --device cpu --raw " + (dir / "x.safetensors") +
                         " --sampler ddpm --respace 1001",
                     2, "cannot keep 1001 of 1000 steps");
}

TEST(DdpmCli, BadInputIsAOneLineError) {
  test::TempDir dir;
  const std::string out = " --outdir " + (dir / "runs") + " --device cpu -q";
  expect_usage_error("train --precond ddpm --beta quadratic" + out, 2, "unknown --beta 'quadratic'");
  expect_usage_error("train --precond ddpm --T 1" + out, 2, "--T must be in 2..1000000");
  expect_usage_error("train --learn-sigma" + out, 2, "--learn-sigma are for --precond ddpm");
  expect_usage_error("train --precond vp --beta cosine" + out, 2, "for --precond ddpm");
  EXPECT_FALSE(fs::exists(dir / "runs"));

  // A model without discrete levels has no chain to respace.
  networks::PresetOverrides small;
  small.cbase = 8;
  auto edm_net = networks::make_precond(networks::preset_config("fmnist-s", "edm", 8, 1, 0, 0, small));
  save_precond(dir / "edm.safetensors", *edm_net);
  const std::string gen = " --seeds 0 --device cpu --raw " + (dir / "x.safetensors");
  expect_usage_error("generate --net " + (dir / "edm.safetensors") + gen + " --sampler ddpm --respace 10", 2,
                     "--respace needs a model with discrete noise levels");
  // A DDPM model file whose record is broken.
  auto config = networks::preset_config("fmnist-s", "ddpm", 8, 1, 0, 0, small);
  auto ddpm_net = networks::make_precond(config);
  config["T"] = 0;
  save_tensors(dir / "bad.safetensors", state_dict(*ddpm_net), {{"edm.config", config.dump()}});
  expect_usage_error("generate --net " + (dir / "bad.safetensors") + gen, 1, "\"T\" must be in 2..1000000");
}

TEST(DdpmCli, LikelihoodReportsTheVariationalBoundBesideTheOde) {
  // A random 8x8 DDPM model of 50 steps and three 8-bit images: the command's
  // bound equals the library's on the same images and seed, in bits/dim of
  // the 8-bit pixels.
  test::TempDir dir;
  networks::PresetOverrides small;
  small.cbase = 8;
  auto config = networks::preset_config("fmnist-s", "ddpm", 8, 1, 0, 0, small);
  config["beta_schedule"] = "cosine", config["T"] = 50, config["learn_sigma"] = true;
  torch::manual_seed(2);
  const std::string model = dir / "ddpm.safetensors";
  save_precond(model, *networks::make_precond(config));
  fs::create_directory(dir / "img");
  auto pixels = torch::randint(0, 256, {3, 8, 8, 1}, torch::kUInt8);
  for (int i = 0; i < 3; ++i) write_png(dir / ("img/" + std::to_string(i) + ".png"), pixels[i]);
  auto r = test::run_edm("likelihood --net " + model + " --images " + (dir / "img") +
                         " --probes 1 --steps 4 --device cpu --json " + (dir / "out.json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("VLB "), std::string::npos) << r.output;
  EXPECT_LT(r.output.find("VLB "), r.output.find("NLL ")) << "the ODE's line ends the report";
  auto j = nlohmann::json::parse(read_file(dir / "out.json"));
  ASSERT_TRUE(j.contains("vlb")) << j.dump();

  auto net = load_denoiser(model, torch::kCPU);
  auto images = from_uint8(load_dataset(dir / "img").images, torch::kFloat64);
  auto bound = ddpm::variational_bound_bpd(*net, ddpm::chain_of(*net), images, {}, 0);
  EXPECT_NEAR(j["vlb"]["mean"]["bits_per_dim"].get<double>(), bound.total_bpd.mean().item<double>(), 1e-9);
}
