// A noise-aware classifier p(y | x; sigma): what classifier guidance
// (Dhariwal & Nichol 2021) needs from a model, as the denoiser is what a
// sampler needs.
#pragma once
#include <torch/torch.h>

#include <vector>

namespace edm {

class NoisyClassifier {
 public:
  virtual ~NoisyClassifier() = default;
  // log p(y | x; sigma) for y one-hot [N, num_classes]: [N], differentiable
  // in x. x [N, sample_shape...] float32 or float64 (computed in float64 for
  // float64 x, for gradient checks); sigma [N] or a scalar tensor.
  virtual torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& y) = 0;
  virtual int64_t num_classes() const = 0;
  virtual std::vector<int64_t> sample_shape() const = 0;
  virtual torch::Device device() const { return torch::kCPU; }
};

}  // namespace edm
