#include "edm/nn/embedding.h"

#include <cmath>

namespace edm::networks {

PositionalEmbeddingImpl::PositionalEmbeddingImpl(int64_t channels, int64_t max_pos, bool end)
    : num_channels(channels), max_positions(max_pos), endpoint(end) {}

torch::Tensor PositionalEmbeddingImpl::forward(const torch::Tensor& x) {
  const int64_t half = num_channels / 2;
  auto freqs = torch::arange(0, half, torch::TensorOptions().dtype(torch::kFloat32).device(x.device()));
  freqs = freqs / double(half - (endpoint ? 1 : 0));
  freqs = torch::pow(1.0 / double(max_positions), freqs);
  auto a = torch::outer(x, freqs.to(x.scalar_type()));
  return torch::cat({a.cos(), a.sin()}, 1);
}

FourierEmbeddingImpl::FourierEmbeddingImpl(int64_t num_channels, const Build& build, double scale) {
  auto f = torch::empty({num_channels / 2}, torch::TensorOptions().dtype(torch::kFloat32).device(build.device));
  if (build.initialise && build.device.type() != torch::kMeta) f.normal_().mul_(scale);
  freqs = register_buffer("freqs", f);
}

torch::Tensor FourierEmbeddingImpl::forward(const torch::Tensor& x) {
  auto a = torch::outer(x, (2 * M_PI * freqs).to(x.scalar_type()));
  return torch::cat({a.cos(), a.sin()}, 1);
}

}  // namespace edm::networks
