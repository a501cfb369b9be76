// TorchScript detectors: what the reference's fid.py calls, saved with torch.jit.save.
#include <torch/script.h>

#include "edm/core/error.h"
#include "edm/eval/detector.h"
#include "edm/io/atomic_file.h"

namespace edm {

namespace {

class ScriptDetector : public Detector {
 public:
  ScriptDetector(torch::jit::Module module, std::string path, torch::Device device)
      : module_(std::move(module)), path_(std::move(path)), device_(device) {}

  torch::Tensor features(const torch::Tensor& images) override {
    if (images.dim() != 4 || images.scalar_type() != torch::kUInt8)
      throw Error("detector input must be uint8 [N,C,H,W]");
    auto x = images.size(1) == 1 ? images.repeat({1, 3, 1, 1}) : images;
    if (x.size(1) != 3) throw Error("detector takes 1- or 3-channel images, got " + std::to_string(x.size(1)));
    torch::NoGradGuard no_grad;
    c10::IValue out;
    try {
      out = module_.get_method("forward")({x.to(device_)}, {{"return_features", true}});
    } catch (const c10::Error& e) {
      std::string what = e.what_without_backtrace();
      throw Error(path_ + ": detector failed on images " + c10::str(x.sizes()) + ": " +
                  what.substr(0, what.find('\n')));
    }
    if (!out.isTensor()) throw Error(path_ + ": detector forward must return a tensor of features");
    auto f = out.toTensor();
    if (f.dim() != 2 || f.size(0) != x.size(0))
      throw Error(path_ + ": detector returned " + c10::str(f.sizes()) + ", expected [" + std::to_string(x.size(0)) +
                  ",F]");
    return f.to(torch::kCPU, torch::kFloat32);
  }

  std::string name() const override { return "torchscript:" + path_.substr(path_.find_last_of('/') + 1); }

 private:
  torch::jit::Module module_;
  std::string path_;
  torch::Device device_;
};

}  // namespace

std::unique_ptr<Detector> load_script_detector(const std::string& path, torch::Device device) {
  require_regular_file(path);
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, device);
  } catch (const c10::Error& e) {
    throw Error(path + ": not a TorchScript module (save one with torch.jit.save)");
  }
  module.eval();
  auto method = module.find_method("forward");
  if (!method) throw Error(path + ": TorchScript module has no forward method");
  // forward(self, images, return_features: bool, <more with defaults>) as fid.py calls it.
  const auto& args = method->function().getSchema().arguments();
  bool has_flag = false;
  for (size_t i = 2; i < args.size(); ++i)
    if (args[i].name() == "return_features" && args[i].type()->kind() == c10::TypeKind::BoolType) has_flag = true;
  bool rest_defaulted = true;
  for (size_t i = 2; i < args.size(); ++i)
    if (args[i].name() != "return_features") rest_defaulted = rest_defaulted && args[i].default_value().has_value();
  if (args.size() < 3 || args[1].type()->kind() != c10::TypeKind::TensorType || !has_flag || !rest_defaulted)
    throw Error(path + ": detector forward must be forward(images: Tensor, return_features: bool), got " +
                c10::str(method->function().getSchema()));
  return std::make_unique<ScriptDetector>(std::move(module), path, device);
}

}  // namespace edm
