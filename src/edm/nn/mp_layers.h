// The magnitude-preserving primitives of EDM2 (Karras et al. 2024, section 3):
// every layer keeps unit-variance activations at unit variance, so that no
// part of the network drifts in scale during training.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "edm/nn/init.h"

namespace edm::networks {

// x / (eps + ||x|| / sqrt(#reduced)) over `dims` (empty: all but the first).
torch::Tensor mp_normalize(const torch::Tensor& x, std::vector<int64_t> dims = {}, double eps = 1e-4);
// silu(x) / 0.596: the SiLU rescaled to unit output magnitude for unit input.
torch::Tensor mp_silu(const torch::Tensor& x);
// lerp(a, b, t) / sqrt((1-t)^2 + t^2): a weighted sum that keeps unit magnitude.
torch::Tensor mp_sum(const torch::Tensor& a, const torch::Tensor& b, double t = 0.5);
// Concatenation along `dim` weighted so that a and b contribute (1-t) : t.
torch::Tensor mp_cat(const torch::Tensor& a, const torch::Tensor& b, int64_t dim = 1, double t = 0.5);
// Depthwise FIR resampling by 2 with the normalised outer product of `f`;
// mode "keep", "down" or "up".
torch::Tensor mp_resample(const torch::Tensor& x, const std::vector<double>& f, const std::string& mode);

// Fourier features cos(x freqs + phases) sqrt(2) with fixed random buffers.
class MPFourierImpl : public torch::nn::Module {
 public:
  MPFourierImpl(int64_t num_channels, double bandwidth, const Build& build);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor freqs, phases;
};
TORCH_MODULE(MPFourier);

// Convolution (kernel {kh,kw}) or fully connected layer (kernel {}) whose
// weight is normalised on every use; in training mode the stored weight is
// also replaced by its normalised self first (forced weight normalisation),
// so training computes with normalize(normalize(W)) as the reference does.
class MPConvImpl : public torch::nn::Module {
 public:
  MPConvImpl(int64_t in_channels, int64_t out_channels, const std::vector<int64_t>& kernel, const Build& build);
  torch::Tensor forward(const torch::Tensor& x, double gain = 1);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& gain);  // a learned 0-dim gain
  int64_t out_channels;
  torch::Tensor weight;

 private:
  torch::Tensor normalized_weight();
  torch::Tensor apply(const torch::Tensor& x, const torch::Tensor& w);
};
TORCH_MODULE(MPConv);

}  // namespace edm::networks
