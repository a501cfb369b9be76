// The building blocks of the reference networks with the reference's
// semantics: weights are cast to the input's dtype inside each layer, so a
// float32 network runs in fp16/bf16 by feeding it fp16/bf16 activations
// (on CUDA), or runs only its products in bfloat16 (CPU, nn/product_dtype.h).
#pragma once
#include <torch/torch.h>

#include <vector>

#include "edm/nn/init.h"

namespace edm::networks {

class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features, bool bias, const Init& init, const Build& build);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t in_features, out_features;
  torch::Tensor weight, bias;  // bias undefined when absent
};
TORCH_MODULE(Linear);

struct ConvOptions {
  int64_t kernel = 3;  // 0: no weight, only resampling
  bool bias = true;
  bool up = false;
  bool down = false;
  std::vector<double> resample_filter{1, 1};
  bool fused_resample = false;  // resample and convolve in one padded pass
  Init init;
};

// 2-D convolution with optional up/down-sampling by a separable FIR filter
// (the buffer `resample_filter`, outer product normalised to sum 1).
class Conv2dImpl : public torch::nn::Module {
 public:
  Conv2dImpl(int64_t in_channels, int64_t out_channels, const ConvOptions& options, const Build& build);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t in_channels, out_channels;
  ConvOptions options;
  torch::Tensor weight, bias, resample_filter;  // each undefined when absent

 private:
  torch::Tensor resample_and_convolve(const torch::Tensor& x);  // in x's dtype, without the bias
};
TORCH_MODULE(Conv2d);

// Group normalisation with at least `min_channels_per_group` channels a group.
class GroupNormImpl : public torch::nn::Module {
 public:
  GroupNormImpl(int64_t num_channels, double eps, const Build& build, int64_t num_groups = 32,
                int64_t min_channels_per_group = 4);
  torch::Tensor forward(const torch::Tensor& x);
  // silu(forward(x)); in the CPU's mixed precision it is the bfloat16 input
  // of the product that follows (nn/bf16_kernels.h).
  torch::Tensor forward_silu(const torch::Tensor& x);
  int64_t num_groups;
  double eps;
  torch::Tensor weight, bias;
};
TORCH_MODULE(GroupNorm);

}  // namespace edm::networks
