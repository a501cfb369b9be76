// Model files of preconditioned networks: round trips, and every way a file
// can be wrong gives an edm::Error naming what is wrong.
#include <cmath>

#include "edm/core/error.h"
#include "edm/model/model_file.h"
#include "edm/nn/precond.h"
#include "edm/nn/presets.h"
#include "testing.h"

namespace edm {
namespace {

const std::string kCase = "ncsnpp_ve";  // small, and has the Fourier `freqs` buffer

std::string model_path() { return test::reference(kCase + ".model.safetensors"); }

// Expects load_denoiser(path) to throw edm::Error whose message contains `needle`.
void expect_error(const std::string& path, const std::string& needle) {
  try {
    load_denoiser(path, torch::kCPU);
    ADD_FAILURE() << "no error; expected one naming " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

class ModelFileNn : public ::testing::Test {
 protected:
  void SetUp() override {
    TensorFile file(model_path());
    tensors = file.all();
    metadata = file.metadata();
  }
  std::string write(const std::string& name) {
    auto path = dir / name;
    save_tensors(path, tensors, metadata);
    return path;
  }
  test::TempDir dir;
  std::map<std::string, torch::Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

TEST_F(ModelFileNn, MissingTensorIsNamed) {
  tensors.erase("model.dec.16x16_block1.conv0.weight");
  expect_error(write("missing.safetensors"), "missing tensor 'model.dec.16x16_block1.conv0.weight'");
}

TEST_F(ModelFileNn, MissingBufferIsNamed) {
  tensors.erase("model.map_noise.freqs");
  expect_error(write("missing.safetensors"), "'model.map_noise.freqs'");
}

TEST_F(ModelFileNn, UnexpectedTensorIsNamed) {
  tensors["model.enc.16x16_block0.extra"] = torch::zeros({3});
  expect_error(write("unexpected.safetensors"), "unexpected tensor 'model.enc.16x16_block0.extra'");
}

TEST_F(ModelFileNn, MisshapedTensorIsNamed) {
  tensors["model.map_layer0.weight"] = tensors["model.map_layer0.weight"].t().contiguous();
  expect_error(write("shape.safetensors"), "'model.map_layer0.weight' has shape [64,128], expected [128,64]");
}

TEST_F(ModelFileNn, NonFiniteWeightsAreNamed) {
  for (double bad : {std::nan(""), double(INFINITY)}) {
    auto w = tensors["model.map_layer0.weight"].clone();
    w.view(-1)[5] = bad;
    tensors["model.map_layer0.weight"] = w;
    expect_error(write("nan.safetensors"), "'model.map_layer0.weight' has non-finite values");
  }
}

TEST_F(ModelFileNn, MissingConfig) {
  metadata.erase("edm.config");
  expect_error(write("noconfig.safetensors"), "edm.config");
}

TEST_F(ModelFileNn, BadConfigs) {
  auto config = nlohmann::json::parse(metadata["edm.config"]);
  auto with = [&](nlohmann::json c, const std::string& name) {
    metadata["edm.config"] = c.dump();
    return write(name);
  };
  metadata["edm.config"] = "{not json";
  expect_error(write("a.safetensors"), "edm.config");
  auto c = config;
  c["precond"] = "FancyPrecond";
  expect_error(with(c, "b.safetensors"), "FancyPrecond");
  c = config;
  c["model"]["num_blokcs"] = 2;
  expect_error(with(c, "c.safetensors"), "num_blokcs");
  c = config;
  c["model"]["encoder_type"] = "sideways";
  expect_error(with(c, "d.safetensors"), "encoder_type");
  c = config;
  c["model"]["channel_mult"] = "wide";
  expect_error(with(c, "e.safetensors"), "channel_mult");
  c = config;
  c.erase("model");
  expect_error(with(c, "f.safetensors"), "model");
  c = config;
  c["sigma_data"] = 0.5;  // an EDMPrecond argument given to VEPrecond
  expect_error(with(c, "g.safetensors"), "sigma_data");
  c = config;
  c["img_resolution"] = 15;
  expect_error(with(c, "h.safetensors"), "img_resolution");
}

TEST_F(ModelFileNn, DenoiserReportsThePrecondRange) {
  auto d = load_denoiser(model_path(), torch::kCPU);
  EXPECT_DOUBLE_EQ(d->sigma_min(), 0.02);
  EXPECT_DOUBLE_EQ(d->sigma_max(), 100);
  EXPECT_EQ(d->img_resolution(), 16);
  EXPECT_EQ(d->img_channels(), 3);
  EXPECT_EQ(d->label_dim(), 0);
  auto edm = load_denoiser(test::reference("ddpmpp_edm.model.safetensors"), torch::kCPU);
  EXPECT_EQ(edm->sigma_min(), 0);
  EXPECT_TRUE(std::isinf(edm->sigma_max()));
  EXPECT_EQ(edm->label_dim(), 10);
  // VP: the reference's sigma(epsilon_t) and sigma(1), evaluated in float32.
  auto vp = load_denoiser(test::reference("ddpmpp_vp.model.safetensors"), torch::kCPU);
  EXPECT_NEAR(vp->sigma_min(), std::sqrt(std::expm1(0.5 * 19.9 * 1e-10 + 0.1 * 1e-5)), 1e-4);
  EXPECT_NEAR(vp->sigma_max(), std::sqrt(std::expm1(0.5 * 19.9 + 0.1)), 1e-3);
}

TEST_F(ModelFileNn, SaveLoadRoundTripOfReferenceFile) {
  TensorFile file(model_path());
  auto net = load_precond(file, read_model_config(file), torch::kCPU);
  auto path = dir / "copy.safetensors";
  save_precond(path, *net);
  TensorFile copy(path);
  ASSERT_EQ(copy.names(), file.names());
  for (const auto& name : file.names()) EXPECT_TRUE(torch::equal(copy.get(name), file.get(name))) << name;
  TensorFile io(test::reference(kCase + ".io.safetensors"));
  auto D = load_denoiser(path, torch::kCPU)->denoise(io.get("input.x"), io.get("input.sigma"));
  // Float32 summation order only (seen: 7.8e-7 relative to max |D| = 36.5).
  EXPECT_LT(test::rel_diff(D, io.get("output.D")), 1e-5);
}

TEST_F(ModelFileNn, SaveLoadRoundTripOfFreshNetwork) {
  auto net = networks::make_precond(networks::preset_config("fmnist-s", "vp", 28, 1, 10, 9));
  net->eval();
  auto path = dir / "fresh.safetensors";
  save_precond(path, *net);
  auto x = torch::randn({2, 1, 28, 28});
  auto sigma = torch::tensor({0.3f, 3.0f});
  auto labels = torch::eye(10).narrow(0, 3, 2);
  auto augment = torch::randn({2, 9});
  torch::Tensor expected;
  {
    torch::NoGradGuard no_grad;
    expected = net->forward(x, sigma, labels, augment);
  }
  auto D = load_denoiser(path, torch::kCPU)->denoise(x, sigma, labels, augment);
  EXPECT_TRUE(torch::equal(D, expected));
  EXPECT_EQ(read_model_config(TensorFile(path)), net->config());
}

}  // namespace
}  // namespace edm

namespace edm {
namespace {

TEST(ModelFileNnState, StateDictCopiesBetweenIdenticalBuilds) {
  // How training copies weights into an EMA network and back.
  auto config = networks::preset_config("fmnist-s", "ve", 28, 1, 0, 0);
  auto a = networks::make_precond(config), b = networks::make_precond(config);
  auto state = state_dict(*a);
  EXPECT_TRUE(state.count("model.enc.28x28_conv.weight"));
  load_state_dict(*b, state, "ema");
  for (const auto& kv : state_dict(*b)) EXPECT_TRUE(torch::equal(kv.second, state.at(kv.first))) << kv.first;
  state.erase("model.map_layer1.bias");
  try {
    load_state_dict(*b, state, "ema");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "ema: missing tensor 'model.map_layer1.bias'");
  }
}

}  // namespace
}  // namespace edm
