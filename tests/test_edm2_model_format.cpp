// The edm.format tag of model files: EDM2 models are written as the EDM2
// fixtures are ("edm2-model-v1"), every other as "edm-model-v1"; both load,
// and a tag that does not fit the file is a one-line error.
#include "edm/core/error.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"
#include "edm/nn/presets.h"
#include "testing.h"

using namespace edm;

namespace {

// The file's tensors and config again, under another edm.format.
std::string retagged(const std::string& from, const std::string& dir, const std::string& format) {
  TensorFile f(from);
  const auto path = dir + "/" + format + ".safetensors";
  save_tensors(path, f.all(), {{"edm.config", f.metadata("edm.config", "")}, {"edm.format", format}});
  return path;
}

}  // namespace

TEST(EDM2ModelFormat, WrittenAsTheFixturesAreAndBothTagsLoad) {
  const auto fixture = test::reference("edm2/edm2_cond.model.safetensors");
  ASSERT_EQ(TensorFile(fixture).metadata("edm.format", ""), "edm2-model-v1");
  test::TempDir dir;
  auto net = load_precond(TensorFile(fixture), read_model_config(TensorFile(fixture)), torch::kCPU);
  save_precond(dir / "edm2.safetensors", *net);
  EXPECT_EQ(TensorFile(dir / "edm2.safetensors").metadata("edm.format", ""), "edm2-model-v1");
  EXPECT_EQ(model_format(net->config()), "edm2-model-v1");

  auto classic = networks::make_precond(networks::preset_config("fmnist-s", "edm", 8, 1, 0, 0));
  save_precond(dir / "edm.safetensors", *classic);
  EXPECT_EQ(TensorFile(dir / "edm.safetensors").metadata("edm.format", ""), "edm-model-v1");

  // EDM2 models written before the tag existed load as well, with the same outputs.
  auto old = load_denoiser(retagged(fixture, dir.path(), "edm-model-v1"), torch::kCPU);
  auto now = load_denoiser(dir / "edm2.safetensors", torch::kCPU);
  auto x = torch::randn({2, 4, 16, 16});
  auto sigma = torch::tensor({0.5, 3.0});
  auto labels = torch::eye(10).narrow(0, 0, 2);
  EXPECT_TRUE(torch::equal(old->denoise(x, sigma, labels), now->denoise(x, sigma, labels)));
}

TEST(EDM2ModelFormat, TagsThatDoNotFitAreErrors) {
  test::TempDir dir;
  auto classic = networks::make_precond(networks::preset_config("fmnist-s", "edm", 8, 1, 0, 0));
  save_precond(dir / "edm.safetensors", *classic);
  for (const char* bad : {"edm2-model-v1", "edm-model-v9"}) {
    const auto path = retagged(dir / "edm.safetensors", dir.path(), bad);
    try {
      load_denoiser(path, torch::kCPU);
      ADD_FAILURE() << bad << " loaded";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(bad), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  }
}
