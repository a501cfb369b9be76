#include <torch/script.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "edm/core/error.h"
#include "edm/data/idx.h"
#include "edm/io/safetensors.h"
#include "edm/eval/detector.h"
#include "edm/eval/detector_train.h"
#include "edm/eval/fmnist_cnn.h"
#include "testing.h"

namespace {

using namespace edm;

TEST(DetectorTest, TorchScriptDetectorMatchesTheReference) {
  TensorFile io(test::reference("detector_tiny.io.safetensors"));
  auto det = load_detector(test::reference("detector_tiny.pt"), torch::kCPU);
  auto img = io.get("input.img"), expected = io.get("output.features");
  auto f = det->features(img);
  ASSERT_EQ(f.sizes(), expected.sizes());
  EXPECT_EQ(f.scalar_type(), torch::kFloat32);
  EXPECT_LT(test::max_abs_diff(f, expected), 1e-5 * std::max(1.0, expected.abs().max().item<double>()));
  // Grayscale images are repeated to three channels.
  auto gray = img.slice(1, 0, 1);
  EXPECT_TRUE(torch::allclose(det->features(gray), det->features(gray.repeat({1, 3, 1, 1}))));
  EXPECT_THROW(det->features(img.to(torch::kFloat32)), Error);
}

TEST(DetectorTest, NotTorchScriptOrWrongSignatureIsAClearError) {
  test::TempDir dir;
  {
    std::ofstream(dir / "junk.pt") << "PK\x03\x04 this is not a zip archive";
    std::ofstream(dir / "text.pt") << "hello";
  }
  EXPECT_THROW(load_detector(dir / "junk.pt", torch::kCPU), Error);
  EXPECT_THROW(load_detector(dir / "text.pt", torch::kCPU), Error);
  EXPECT_THROW(load_detector(dir / "missing.pt", torch::kCPU), Error);
  save_tensors(dir / "model.safetensors", {{"w", torch::zeros({2})}});
  EXPECT_THROW(load_detector(dir / "model.safetensors", torch::kCPU), Error);

  // TorchScript, but forward takes no return_features flag.
  torch::jit::Module one_arg("OneArg");
  one_arg.define("def forward(self, x: Tensor) -> Tensor:\n  return x\n");
  one_arg.save(dir / "one_arg.pt");
  try {
    load_detector(dir / "one_arg.pt", torch::kCPU);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("return_features"), std::string::npos) << e.what();
  }
  // Right signature, wrong output shape: caught when called.
  torch::jit::Module flat("Flat");
  flat.define("def forward(self, img: Tensor, return_features: bool = True) -> Tensor:\n  return img.float().sum()\n");
  flat.save(dir / "flat.pt");
  auto det = load_detector(dir / "flat.pt", torch::kCPU);
  EXPECT_THROW(det->features(torch::zeros({2, 3, 4, 4}, torch::kUInt8)), Error);
}

TEST(DetectorTest, FashionCnnFileRoundTripsAndChecksImageSize) {
  test::TempDir dir;
  torch::manual_seed(1);
  FashionCnn net;
  save_fashion_cnn(dir / "d.safetensors", net, 0.5);
  auto det = load_detector(dir / "d.safetensors", torch::kCPU);
  auto images = torch::randint(0, 256, {3, 1, 28, 28}, torch::kUInt8);
  auto f = det->features(images);
  EXPECT_EQ(f.sizes(), (std::vector<int64_t>{3, kFashionCnnFeatures}));
  torch::NoGradGuard no_grad;
  net->eval();
  EXPECT_TRUE(torch::allclose(f, net->features(fashion_cnn_input(images)), 1e-5, 1e-6));
  EXPECT_THROW(det->features(torch::zeros({2, 1, 32, 32}, torch::kUInt8)), Error);
  // A file with a tensor of the wrong shape.
  TensorFile good(dir / "d.safetensors");
  auto tensors = good.all();
  tensors["fc.weight"] = torch::zeros({3, 3});
  save_tensors(dir / "bad.safetensors", tensors, good.metadata());
  EXPECT_THROW(load_detector(dir / "bad.safetensors", torch::kCPU), Error);
}

TEST(DetectorTest, ShippedDetectorIsFoundAndAccurate) {
  std::string path = default_detector_path();
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_LT(std::filesystem::file_size(path), 2u << 20);
  auto net = load_fashion_cnn(path);
  auto test = load_fashion_mnist("t10k");
  EXPECT_GE(classifier_accuracy(*net, test.images, test.labels, torch::kCPU), 0.90);
  // EDM_DETECTOR overrides the shipped file.
  ::setenv("EDM_DETECTOR", "/nonexistent/detector.safetensors", 1);
  EXPECT_THROW(default_detector_path(), Error);
  ::unsetenv("EDM_DETECTOR");
}

}  // namespace
