// Training the built-in Fashion-MNIST detector: a classifier whose features
// are only as good as its accuracy, so the test accuracy is measured and kept.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace edm {

struct DetectorTrainOptions {
  int epochs = 4;
  int64_t batch = 128;
  double lr = 1e-3;
  uint64_t seed = 0;
  std::string data_dir;  // empty: Debian's dataset-fashion-mnist
};

// Trains on the training split, writes the model file to `dest` and returns
// the accuracy on the t10k split.
double train_fashion_detector(const std::string& dest, const DetectorTrainOptions& o, torch::Device device);

// Fraction of images classified correctly (uint8 [N,1,28,28], labels [N]).
struct FashionCnnImpl;
double classifier_accuracy(FashionCnnImpl& net, const torch::Tensor& images, const torch::Tensor& labels,
                           torch::Device device);

}  // namespace edm
