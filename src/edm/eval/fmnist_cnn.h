// The built-in Fashion-MNIST detector: a small CNN classifier whose
// penultimate layer (128 ReLU units) serves as the feature space, so that the
// Frechet distance works out of the box on 28x28 grayscale data.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>

#include "edm/eval/detector.h"

namespace edm {

struct FashionCnnImpl : torch::nn::Module {
  FashionCnnImpl();
  // x: float [N,1,28,28] in [-1, 1].
  torch::Tensor features(const torch::Tensor& x);
  torch::Tensor forward(const torch::Tensor& x);  // class logits [N,10]

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::Linear fc{nullptr}, head{nullptr};
};
TORCH_MODULE(FashionCnn);

inline constexpr int64_t kFashionCnnFeatures = 128;

// uint8 [N,C,28,28] -> float [N,1,28,28] in [-1, 1] (the images' own scaling);
// three channels are averaged. Throws edm::Error for other sizes.
torch::Tensor fashion_cnn_input(const torch::Tensor& images);

// Model file: the parameters by name plus __metadata__["edm.detector"] JSON.
void save_fashion_cnn(const std::string& path, FashionCnn& net, double test_accuracy);
FashionCnn load_fashion_cnn(const std::string& path);  // throws edm::Error naming the file
bool is_fashion_cnn_file(const std::string& path);

std::unique_ptr<Detector> make_fashion_cnn_detector(FashionCnn net, std::string name, torch::Device device);

}  // namespace edm
