// Latent diffusion: the per-channel normalisation of latents, the denoiser
// that decodes its samples, and edm train --latent with the model file that
// names its autoencoder.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "edm/core/error.h"
#include "edm/io/image.h"
#include "edm/io/safetensors.h"
#include "edm/model/autoencoder_file.h"
#include "edm/model/latent_denoiser.h"
#include "edm/model/model_file.h"
#include "edm/nn/autoencoder_config.h"
#include "testing.h"

namespace edm {
namespace {

namespace fs = std::filesystem;

// A random autoencoder for 1 x 28 x 28 images with latents 2 x 7 x 7, saved as
// edm train --autoencoder saves one.
std::string save_autoencoder(const std::string& path, uint64_t seed) {
  torch::manual_seed(seed);
  auto ae = networks::make_precond(networks::autoencoder_config(28, 1, 4, 2, 8));
  save_precond(path, *ae);
  return path;
}

// A denoiser of latents [N,2,7,7] that returns x / 2 (enough to see what wraps it).
class HalfDenoiser : public Denoiser {
 public:
  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor&, const torch::Tensor&,
                        const torch::Tensor&) override {
    return x / 2;
  }
  int64_t img_channels() const override { return 2; }
  int64_t img_resolution() const override { return 7; }
};

TEST(LatentSpace, NormalisesEachChannelToZeroMeanAndStdSigmaDataAndBack) {
  torch::manual_seed(0);
  auto z = torch::randn({500, 3, 4, 4}, torch::kFloat64) *
               torch::tensor({0.5, 2.0, 7.0}, torch::kFloat64).view({1, 3, 1, 1}) +
           torch::tensor({-1.0, 0.0, 3.0}, torch::kFloat64).view({1, 3, 1, 1});
  auto space = fit_latent_space(z, "ae.safetensors", std::string(64, 'a'));
  ASSERT_EQ(space.mean.size(), 3u);
  auto n = space.normalize(z);
  auto per_channel = n.transpose(0, 1).reshape({3, -1});
  EXPECT_LT(per_channel.mean(1).abs().max().item<double>(), 1e-12);
  EXPECT_LT((per_channel.std(1) - 0.5).abs().max().item<double>(), 1e-12);  // EDM2's final_std
  EXPECT_NEAR(space.std[2], 7.0, 7.0 * 0.05);                               // 8,000 draws per channel: a few percent
  EXPECT_NEAR(space.mean[0], -1.0, 0.05);
  EXPECT_LT(test::max_abs_diff(space.denormalize(n), z), 1e-12);
  EXPECT_THROW(space.normalize(torch::zeros({1, 2, 4, 4})), Error);
}

TEST(LatentSpace, JsonRoundTripsAndMalformedRecordsAreRefused) {
  LatentSpace s{"/x/ae.safetensors", std::string(64, 'b'), {0.1, -0.2}, {1.5, 0.5}};
  auto back = LatentSpace::from_json(s.to_json(), "m");
  EXPECT_EQ(back.autoencoder, s.autoencoder);
  EXPECT_EQ(back.sha256, s.sha256);
  EXPECT_EQ(back.mean, s.mean);
  EXPECT_EQ(back.std, s.std);
  EXPECT_EQ(back.target_std, 0.5);
  EXPECT_EQ(back.id(), s.id());
  auto old = s.to_json();
  old.erase("target_std");  // a record written before target_std was: unit variance
  EXPECT_EQ(LatentSpace::from_json(old, "m").target_std, 1.0);
  EXPECT_NE(LatentSpace::from_json(old, "m").id(), s.id());
  auto bad = s.to_json();
  bad["std"] = {1.0, 0.0};
  EXPECT_NE(test::error_of([&] { LatentSpace::from_json(bad, "m"); }).find("channel 1"), std::string::npos);
  bad = s.to_json();
  bad["mean"] = {1.0};
  EXPECT_NE(test::error_of([&] { LatentSpace::from_json(bad, "m"); }).find("differ in length"), std::string::npos);
  bad = s.to_json();
  bad["target_std"] = -0.5;
  EXPECT_NE(test::error_of([&] { LatentSpace::from_json(bad, "m"); }).find("\"target_std\""), std::string::npos);
  bad = s.to_json();
  bad.erase("sha256");
  EXPECT_NE(test::error_of([&] { LatentSpace::from_json(bad, "m"); }).find("\"sha256\""), std::string::npos);
  EXPECT_THROW(fit_latent_space(torch::ones({4, 1, 2, 2}), "a", "b"), Error);  // a constant channel
}

TEST(LatentDenoiser, DenoisesLatentsAndDecodesTheDenormalisedSamples) {
  test::TempDir dir;
  const auto path = save_autoencoder(dir / "ae.safetensors", 1);
  auto ae = load_autoencoder(path, torch::kCPU);
  LatentSpace space{path, std::string(64, 'c'), {0.5, -0.5}, {2.0, 0.25}};
  LatentDenoiser net(std::make_shared<HalfDenoiser>(), ae, space);
  EXPECT_EQ(net.sample_shape(), (std::vector<int64_t>{2, 7, 7}));
  EXPECT_EQ(net.sample_space(), space.id());
  torch::manual_seed(2);
  auto x = torch::randn({3, 2, 7, 7}, torch::kFloat64);
  EXPECT_LT(test::max_abs_diff(net.denoise(x, torch::ones({3})), x / 2), 1e-15);
  auto images = net.to_images(x);
  EXPECT_EQ(images.sizes().vec(), (std::vector<int64_t>{3, 1, 28, 28}));
  torch::NoGradGuard no_grad;
  auto z = x.to(torch::kFloat32) / 0.5f * torch::tensor({2.0f, 0.25f}).view({1, 2, 1, 1}) +
           torch::tensor({0.5f, -0.5f}).view({1, 2, 1, 1});
  EXPECT_LT(test::max_abs_diff(images, ae->decode(z)), 1e-6);
  space.mean = {0.0};
  space.std = {1.0};
  EXPECT_THROW(LatentDenoiser(std::make_shared<HalfDenoiser>(), ae, space), Error);  // 1 statistic, 2 channels
}

// One short latent run on the test split; the pieces below share it.
struct LatentRun {
  test::TempDir dir;
  std::string ae, model, output;
  int exit_code = -1;
  LatentRun() {
    ae = save_autoencoder(dir / "ae.safetensors", 3);
    auto r = test::run_edm("train --latent " + ae +
                           " --data fashion-mnist:test --cres 1 --cbase 8 --batch 8 --duration 0.000032 --grid 1 "
                           "--device cpu --seed 1 --outdir " +
                           (dir / "runs"));
    exit_code = r.exit_code, output = r.output;
    if (exit_code == 0) model = test::last_file(dir / "runs", "network-snapshot");
  }
};

TEST(LatentCli, TrainEncodesOnceRecordsTheAutoencoderAndGenerateDecodes) {
  LatentRun run;
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("encoded and cached in"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("10000 images, 2x7x7"), std::string::npos) << run.output;
  ASSERT_FALSE(run.model.empty());
  EXPECT_NE(run.model.find("-latent-"), std::string::npos) << run.model;
  EXPECT_TRUE(fs::exists(fs::path(run.model).parent_path() / "samples.png"));
  // The model file names the autoencoder by path and SHA-256 and keeps the statistics.
  TensorFile f(run.model);
  auto config = read_model_config(f);
  ASSERT_TRUE(config.contains("latent")) << config.dump();
  auto space = LatentSpace::from_json(config["latent"], "test");
  EXPECT_EQ(space.autoencoder, fs::absolute(run.ae).lexically_normal().string());
  EXPECT_EQ(space.mean.size(), 2u);
  EXPECT_EQ(config["img_channels"], 2);
  EXPECT_EQ(config["img_resolution"], 7);
  // A second run on the same pair reads the cache.
  auto r = test::run_edm("train -n --latent " + run.ae + " --data fashion-mnist:test --cres 1 --cbase 8 --outdir " +
                         (run.dir / "runs"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("latents      read from"), std::string::npos) << r.output;
  // generate decodes: PNGs of the data's size.
  r = test::run_edm("generate --net " + run.model + " --seeds 0-1 --steps 3 --device cpu --outdir " + (run.dir / "g") +
                    " --raw " + (run.dir / "raw.safetensors") + " --grid " + (run.dir / "grid.png"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto png = read_image(run.dir / "g/000000.png");
  EXPECT_EQ(png.sizes().vec(), (std::vector<int64_t>{1, 28, 28}));
  auto raw = TensorFile(run.dir / "raw.safetensors").get("images");  // images, not latents
  ASSERT_EQ(raw.sizes().vec(), (std::vector<int64_t>{2, 1, 28, 28}));
  EXPECT_TRUE(torch::equal(to_uint8_nhwc(raw)[0].permute({2, 0, 1}), png));
  // A latent model cannot be inverted or measured in bits per pixel.
  r = test::run_edm("likelihood --net " + run.model + " --images fashion-mnist:test --max-images 1 --device cpu");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("samples latents of an autoencoder"), std::string::npos) << r.output;
}

TEST(LatentCli, AMissingOrDifferentAutoencoderIsRefusedAndOneBesideTheModelIsFound) {
  LatentRun run;
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto gen = "generate --net " + run.model + " --seeds 0 --steps 2 --device cpu --outdir " + (run.dir / "g");
  fs::rename(run.ae, run.dir / "elsewhere.safetensors");
  auto r = test::run_edm(gen);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("its autoencoder " + run.ae + " is missing"), std::string::npos) << r.output;
  // Moved beside the model, it is found there.
  const auto beside = fs::path(run.model).parent_path() / "ae.safetensors";
  fs::copy_file(run.dir / "elsewhere.safetensors", beside);
  r = test::run_edm(gen);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // Another autoencoder under the recorded name: its digest differs.
  save_autoencoder(run.ae, 4);
  fs::remove(beside);
  r = test::run_edm(gen);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("has SHA-256"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("the model was trained on latents of"), std::string::npos) << r.output;
  // Resuming the run with that other autoencoder is refused the same way.
  const auto state = test::last_file(run.dir / "runs", "training-state");
  ASSERT_FALSE(state.empty());
  r = test::run_edm("train -n --resume " + state + " --latent " + run.ae +
                    " --data fashion-mnist:test --device cpu --outdir " + (run.dir / "runs"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("is not the autoencoder of the training state"), std::string::npos) << r.output;
}

TEST(LatentCli, OptionsThatDoNotFitAreUsageErrors) {
  test::TempDir dir;
  const auto ae = save_autoencoder(dir / "ae.safetensors", 5);
  auto r = test::run_edm("train -n --latent " + ae + " --augment 0.1 --device cpu --outdir " + (dir / "r"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--latent trains a denoiser on unaugmented latents"), std::string::npos) << r.output;
  r = test::run_edm("train -n --latent " + (dir / "none.safetensors") + " --device cpu --outdir " + (dir / "r"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  // An autoencoder of colour images does not fit grey ones.
  torch::manual_seed(6);
  save_precond(dir / "rgb.safetensors", *networks::make_precond(networks::autoencoder_config(28, 3, 4, 2, 8)));
  r = test::run_edm("train -n --latent " + (dir / "rgb.safetensors") +
                    " --data fashion-mnist:test --device cpu --outdir " + (dir / "r"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("encodes images of 3 channels, the data has 1"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace edm
