// Noise-level embeddings: sinusoidal positional (DDPM++, ADM) and random
// Fourier features (NCSN++; buffer `freqs`).
#pragma once
#include <torch/torch.h>

#include "edm/nn/init.h"

namespace edm::networks {

class PositionalEmbeddingImpl : public torch::nn::Module {
 public:
  PositionalEmbeddingImpl(int64_t num_channels, int64_t max_positions = 10000, bool endpoint = false);
  torch::Tensor forward(const torch::Tensor& x);  // [N] -> [N, num_channels] as [cos | sin]
  int64_t num_channels, max_positions;
  bool endpoint;
};
TORCH_MODULE(PositionalEmbedding);

class FourierEmbeddingImpl : public torch::nn::Module {
 public:
  FourierEmbeddingImpl(int64_t num_channels, const Build& build, double scale = 16);
  torch::Tensor forward(const torch::Tensor& x);  // [N] -> [N, num_channels] as [cos | sin]
  torch::Tensor freqs;
};
TORCH_MODULE(FourierEmbedding);

}  // namespace edm::networks
