#include "edm/eval/fmnist_cnn.h"

#include <nlohmann/json.hpp>

#include "edm/core/error.h"
#include "edm/io/image.h"
#include "edm/io/safetensors.h"

namespace edm {

namespace nn = torch::nn;

FashionCnnImpl::FashionCnnImpl() {
  conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(1, 32, 3).padding(1)));
  conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1)));
  conv3 = register_module("conv3", nn::Conv2d(nn::Conv2dOptions(64, 64, 3).padding(1)));
  fc = register_module("fc", nn::Linear(64 * 3 * 3, kFashionCnnFeatures));
  head = register_module("head", nn::Linear(kFashionCnnFeatures, 10));
}

torch::Tensor FashionCnnImpl::features(const torch::Tensor& x) {
  auto h = torch::max_pool2d(torch::relu(conv1(x)), 2);  // 14x14
  h = torch::max_pool2d(torch::relu(conv2(h)), 2);       // 7x7
  h = torch::max_pool2d(torch::relu(conv3(h)), 2);       // 3x3
  return torch::relu(fc(h.flatten(1)));
}

torch::Tensor FashionCnnImpl::forward(const torch::Tensor& x) { return head(features(x)); }

torch::Tensor fashion_cnn_input(const torch::Tensor& images) {
  if (images.dim() != 4 || images.size(2) != 28 || images.size(3) != 28 || (images.size(1) != 1 && images.size(1) != 3))
    throw Error("the built-in detector takes 28x28 grayscale images, got " + c10::str(images.sizes()) +
                "; pass --detector for other data");
  auto x = from_uint8(images);
  return images.size(1) == 3 ? x.mean(1, true) : x;
}

void save_fashion_cnn(const std::string& path, FashionCnn& net, double test_accuracy) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& p : net->named_parameters()) tensors[p.key()] = p.value().detach();
  nlohmann::json meta{{"arch", "fmnist_cnn"},
                      {"resolution", 28},
                      {"channels", 1},
                      {"features", kFashionCnnFeatures},
                      {"test_accuracy", test_accuracy}};
  save_tensors(path, tensors, {{"edm.detector", meta.dump()}});
}

bool is_fashion_cnn_file(const std::string& path) {
  try {
    TensorFile f(path);
    return f.metadata("edm.detector", "").find("fmnist_cnn") != std::string::npos;
  } catch (const Error&) {
    return false;
  }
}

FashionCnn load_fashion_cnn(const std::string& path) {
  TensorFile f(path);
  auto meta = nlohmann::json::parse(f.metadata("edm.detector", "{}"), nullptr, false);
  if (!meta.is_object() || meta.value("arch", "") != "fmnist_cnn")
    throw Error(path + ": not a detector file (no edm.detector metadata with arch fmnist_cnn)");
  FashionCnn net;
  torch::NoGradGuard no_grad;
  for (auto& p : net->named_parameters()) {
    auto t = f.get(p.key());
    if (t.sizes() != p.value().sizes())
      throw Error(path + ": tensor " + p.key() + " is " + c10::str(t.sizes()) + ", expected " +
                  c10::str(p.value().sizes()));
    p.value().copy_(t);
  }
  net->eval();
  return net;
}

namespace {

class CnnDetector : public Detector {
 public:
  CnnDetector(FashionCnn net, std::string name, torch::Device device)
      : net_(std::move(net)), name_(std::move(name)), device_(device) {
    net_->to(device_);
    net_->eval();
  }
  torch::Tensor features(const torch::Tensor& images) override {
    torch::NoGradGuard no_grad;
    return net_->features(fashion_cnn_input(images).to(device_)).to(torch::kCPU, torch::kFloat32);
  }
  std::string name() const override { return name_; }

 private:
  FashionCnn net_;
  std::string name_;
  torch::Device device_;
};

}  // namespace

std::unique_ptr<Detector> make_fashion_cnn_detector(FashionCnn net, std::string name, torch::Device device) {
  return std::make_unique<CnnDetector>(std::move(net), std::move(name), device);
}

}  // namespace edm
