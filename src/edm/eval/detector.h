// Feature detectors for the Frechet distance: uint8 images in, one feature
// vector per image out. Either a TorchScript module with the reference's
// calling convention (Inception-v3 for FID) or the built-in Fashion-MNIST CNN.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>

namespace edm {

class Detector {
 public:
  virtual ~Detector() = default;
  // uint8 images [N,C,H,W] -> float32 features [N,F] on the CPU.
  virtual torch::Tensor features(const torch::Tensor& images) = 0;
  // What the statistics file records as the detector.
  virtual std::string name() const = 0;
};

// forward(uint8 [N,3,H,W], return_features: bool) -> float32 [N,F]; grayscale
// images are repeated to three channels. Throws edm::Error if the file is not
// TorchScript or forward does not take (images, return_features).
std::unique_ptr<Detector> load_script_detector(const std::string& path, torch::Device device);

// TorchScript (a zip) or a safetensors detector file, told apart by content.
std::unique_ptr<Detector> load_detector(const std::string& path, torch::Device device);

// The shipped Fashion-MNIST detector: $EDM_DETECTOR if set, else
// models/fmnist_detector.safetensors in the source tree or next to the binary.
// Throws edm::Error saying where it looked.
std::string default_detector_path();

}  // namespace edm
