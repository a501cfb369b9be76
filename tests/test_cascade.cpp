// Cascaded diffusion: the low-resolution condition (downsampling, bilinear
// upsampling, conditioning augmentation), the upsampler network that takes
// it as extra channels, edm train --cascade-from and edm generate --upsampler.
#include <gtest/gtest.h>

#include <filesystem>

#include "edm/core/error.h"
#include "edm/data/dataset.h"
#include "edm/diffusion/cascade.h"
#include "edm/io/atomic_file.h"
#include "edm/io/image.h"
#include "edm/model/model_file.h"
#include "edm/model/upsampler.h"
#include "edm/nn/precond.h"
#include "edm/nn/presets.h"
#include "edm/sampling/ideal_denoiser.h"
#include "testing.h"

namespace edm {
namespace {

namespace fs = std::filesystem;

// A small unconditional upsampler of 4x4 to 8x8 single-channel images.
nlohmann::json upsampler_config() {
  networks::PresetOverrides o;
  o.cbase = 8;
  o.cres = std::vector<int64_t>{1, 2};
  auto config = networks::preset_config("fmnist-s", "edm", 8, 1, 0, 1, o);
  config["upsampler"] = {{"low_resolution", 4}, {"cond_aug_max", 0.5}};
  return config;
}

TEST(Cascade, DownsamplingAveragesBlocksAndUpsamplingKeepsConstants) {
  auto x = torch::arange(16, torch::kFloat32).view({1, 1, 4, 4});
  auto low = cascade::downsample(x, 2);
  EXPECT_TRUE(torch::allclose(low, torch::tensor({2.5f, 4.5f, 10.5f, 12.5f}).view({1, 1, 2, 2})));
  EXPECT_THROW(cascade::downsample(x, 3), UsageError);
  auto flat = torch::full({2, 3, 2, 2}, 0.25f);
  EXPECT_LT(test::max_abs_diff(cascade::upsample(flat, 8), torch::full({2, 3, 8, 8}, 0.25f)), 1e-7);
  // Bilinear with half-pixel centres: between two pixels 0 and 1, the inner
  // output pixels of 4 are 0.25 and 0.75 of the way.
  auto ramp = cascade::upsample(torch::tensor({0.f, 1.f}).view({1, 1, 1, 2}).expand({1, 1, 2, 2}).contiguous(), 4);
  EXPECT_TRUE(torch::allclose(ramp[0][0][0], torch::tensor({0.f, 0.25f, 0.75f, 1.f})));
}

TEST(Cascade, ConditioningAugmentationAddsNoiseOfTheLevel) {
  torch::manual_seed(0);
  auto low = torch::rand({2, 1, 4, 4}) * 2 - 1;
  auto n = torch::randn({2, 1, 8, 8});
  auto c = cascade::condition(low, 8, torch::tensor({0.f, 2.f}), n);
  auto up = cascade::upsample(low, 8);
  EXPECT_LT(test::max_abs_diff(c[0], up[0]), 1e-7);
  EXPECT_LT(test::max_abs_diff(c[1] - up[1], 2 * n[1]), 1e-6);
  EXPECT_EQ(cascade::augment_label(torch::tensor({0.f, 2.f})).sizes().vec(), (std::vector<int64_t>{2, 1}));
}

TEST(Cascade, TheUpsamplerTakesItsConditionAsExtraInputChannels) {
  torch::manual_seed(1);
  auto net = networks::make_precond(upsampler_config());
  EXPECT_EQ(net->low_resolution(), 4);
  EXPECT_EQ(net->img_channels(), 1);
  const auto sd = state_dict(*net);
  const auto& first = sd.at("model.enc.8x8_conv.weight");
  EXPECT_EQ(first.size(1), 2) << "x and the condition";
  auto x = torch::randn({2, 1, 8, 8});
  auto sigma = torch::full({2}, 1.0f);
  EXPECT_NE(test::error_of([&] { net->forward(x, sigma); }).find("needs its conditioning image"), std::string::npos);
  torch::NoGradGuard no_grad;
  net->set_condition(torch::zeros({2, 1, 8, 8}));
  auto a = net->forward(x, sigma, {}, torch::zeros({2, 1}));
  EXPECT_EQ(a.sizes().vec(), x.sizes().vec());
  net->set_condition(torch::ones({2, 1, 8, 8}));
  auto b = net->forward(x, sigma, {}, torch::zeros({2, 1}));
  EXPECT_GT(test::max_abs_diff(a, b), 1e-6) << "the condition reaches the output";
  auto bad = upsampler_config();
  bad["upsampler"]["low_resolution"] = 3;
  EXPECT_NE(test::error_of([&] { networks::make_precond(bad); }).find("must divide img_resolution"), std::string::npos);
}

// One short upsampler run (14 -> 28) on the test split and a base "model":
// the ideal denoiser of 14x14 points.
struct CascadeRun {
  test::TempDir dir;
  std::string base, up, output;
  int exit_code = -1;
  CascadeRun() {
    torch::manual_seed(2);
    base = dir / "base14.safetensors";
    save_ideal_denoiser(base, torch::rand({5, 1, 14, 14}, torch::kFloat64) * 2 - 1, {}, 0.0);
    auto r = test::run_edm(
        "train --cascade-from 14 --data fashion-mnist:test --cbase 8 --batch 8 --duration 0.000032 --grid 3 "
        "--device cpu --seed 1 --outdir " +
        (dir / "runs"));
    exit_code = r.exit_code, output = r.output;
    if (exit_code == 0) up = test::last_file(dir / "runs", "network-snapshot");
  }
};

TEST(CascadeCli, TrainAnUpsamplerAndChainItBehindABaseModel) {
  CascadeRun run;
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("upsampler    from 14x14"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("unconditional"), std::string::npos) << run.output;
  EXPECT_NE(run.up.find("-sr14-"), std::string::npos) << run.up;
  EXPECT_TRUE(fs::exists(fs::path(run.up).parent_path() / "samples.png"));
  const auto g = run.dir / "g";
  auto r = test::run_edm("generate --net " + run.base + " --upsampler " + run.up +
                         " --cond-aug 0.1 --seeds 3-4 --steps 3 --device cpu --outdir " + g + " --raw " +
                         (run.dir / "raw.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto png = read_image(g + "/000003.png");
  EXPECT_EQ(png.sizes().vec(), (std::vector<int64_t>{1, 28, 28}));
  // fid calc --net --upsampler sees the very images generate wrote: zero
  // distance to their statistics, and not zero for other seeds.
  const std::string tiny = test::reference("detector_tiny.pt"), stats = run.dir / "g.safetensors";
  r = test::run_edm("fid ref --data " + g + " --dest " + stats + " --detector " + tiny);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto fd_at = [&](const std::string& level, const std::string& seeds = "3-4") {
    auto c = test::run_edm("fid calc --net " + run.base + " --upsampler " + run.up + " --cond-aug " + level +
                           " --seeds " + seeds + " --steps 3 --device cpu --ref " + stats + " --detector " + tiny);
    EXPECT_EQ(c.exit_code, 0) << c.output;
    return c.exit_code ? -1.0 : std::stod(c.output.substr(c.output.find_last_of('\n', c.output.size() - 2) + 1));
  };
  EXPECT_LT(std::abs(fd_at("0.1")), 1e-6);
  EXPECT_GT(fd_at("0.1", "5-6"), 1e-3);
  r = test::run_edm("fid calc --net " + run.base + " --cond-aug 0.1 --seeds 0-1 --ref " + stats);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--cond-aug needs --upsampler"), std::string::npos) << r.output;
  // The record names the upsampler and its level: --from-png makes the image again.
  fs::copy_file(g + "/000003.png", run.dir / "again.png");
  fs::copy_file(run.base, g + "/base14.safetensors");
  fs::copy_file(run.up, g + "/" + fs::path(run.up).filename().string());
  r = test::run_edm("generate --from-png " + g + "/000003.png --outdir " + (run.dir / "h"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_file(run.dir / "h/000003.png"), read_file(run.dir / "again.png"));
  // The level matters: another one makes another image.
  r = test::run_edm("generate --net " + run.base + " --upsampler " + run.up +
                    " --cond-aug 0.4 --seeds 3 --steps 3 --device cpu --outdir " + (run.dir / "k"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(torch::equal(read_image(run.dir / "k/000003.png"), png));
}

TEST(CascadeCli, StagesThatDoNotFollowEachOtherAreRefused) {
  CascadeRun run;
  ASSERT_EQ(run.exit_code, 0) << run.output;
  // A base of 28 px is not what the upsampler enlarges.
  const auto base28 = run.dir / "base28.safetensors";
  save_ideal_denoiser(base28, torch::zeros({2, 1, 28, 28}, torch::kFloat64), {}, 0.0);
  auto r = test::run_edm("generate --net " + base28 + " --upsampler " + run.up +
                         " --seeds 0 --steps 2 --device cpu --outdir " + (run.dir / "x"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("enlarges 1x14x14 images; --net " + base28 + " makes [1, 28, 28]"), std::string::npos)
      << r.output;
  r = test::run_edm("generate --net " + run.up + " --seeds 0 --steps 2 --device cpu --outdir " + (run.dir / "x"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("is an upsampler"), std::string::npos) << r.output;
  r = test::run_edm("generate --net " + run.base + " --upsampler " + run.base +
                    " --seeds 0 --steps 2 --device cpu --outdir " + (run.dir / "x"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("is not an upsampler"), std::string::npos) << r.output;
  r = test::run_edm("generate --net " + run.base + " --cond-aug 0.1 --seeds 0 --steps 2 --device cpu");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  // Training options that do not fit.
  r = test::run_edm("train -n --cascade-from 5 --device cpu --outdir " + (run.dir / "x"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("must divide the data's 28 px"), std::string::npos) << r.output;
  r = test::run_edm("train -n --cascade-from 14 --cond 1 --device cpu --outdir " + (run.dir / "x"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  const auto state = test::last_file(run.dir / "runs", "training-state");
  r = test::run_edm("train -n --resume " + state +
                    " --cascade-from 7 --data fashion-mnist:test --device cpu --outdir " + (run.dir / "runs"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--cascade-from 7 conflicts"), std::string::npos) << r.output;
}

// A cascade's base model (edm train --resolution r) trains on the data
// averaged down exactly as its upsampler's condition is: the sigma_data it
// measures is that of cascade::downsample's images, and a resumed run is
// given it again, like its data.
TEST(CascadeCli, ABaseModelTrainsOnTheDataAsItsUpsamplerSeesIt) {
  test::TempDir dir;
  auto r = test::run_edm(
      "train --resolution 14 --cres 1,2 --data fashion-mnist:test --cbase 8 --batch 8 --duration 0.000016 --grid 3 "
      "--device cpu --seed 1 --outdir " +
      (dir / "runs"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("1x14x14"), std::string::npos) << r.output;
  const auto test_split = load_dataset("fashion-mnist:test");
  Dataset averaged = test_split;
  averaged.images = cascade::downsample(from_uint8(test_split.images), 14);
  const double expected = std::round(data_std(averaged) * 1000) / 1000;
  ASSERT_GT(std::abs(expected - std::round(data_std(test_split) * 1000) / 1000), 1e-3)
      << "the test can tell them apart";
  char buf[32];
  std::snprintf(buf, sizeof buf, "sigma_data %.4g\n", expected);
  EXPECT_NE(r.output.find(buf), std::string::npos) << buf << " in " << r.output;
  const auto net = test::last_file(dir / "runs", "network-snapshot");
  EXPECT_EQ(read_model_config(TensorFile(net)).at("img_resolution"), 14);
  const auto state = test::last_file(dir / "runs", "training-state");
  r = test::run_edm("train -n --resume " + state + " --data fashion-mnist:test --device cpu --outdir " +
                    (dir / "runs"));
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("trained with --resolution 14 needs it again"), std::string::npos) << r.output;
  r = test::run_edm("train -n --resume " + state + " --resolution 14 --data fashion-mnist:test --device cpu --outdir " +
                    (dir / "runs"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("1x14x14"), std::string::npos) << r.output;
  r = test::run_edm("train -n --resume " + state + " --resolution 7 --data fashion-mnist:test --device cpu --outdir " +
                    (dir / "runs"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--resolution 7 conflicts with the training state's 14"), std::string::npos) << r.output;
  r = test::run_edm("train -n --resolution 12 --device cpu --outdir " + (dir / "x"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--resolution 12 must divide the data's 28 px"), std::string::npos) << r.output;
  r = test::run_edm("train -n --resolution 7 --latent " + net + " --device cpu --outdir " + (dir / "x"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--resolution acts on pixels"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace edm
