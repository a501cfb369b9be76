// The unified U-Net block of the reference (union of DDPM++, NCSN++ and ADM):
// GroupNorm-SiLU-conv, noise embedding as shift or adaptive scale+shift,
// dropout, conv, skip path (optionally resampled / projected), and optional
// multi-head self-attention; both paths scaled by skip_scale.
#pragma once
#include <torch/torch.h>

#include <optional>
#include <vector>

#include "edm/nn/layers.h"

namespace edm::networks {

struct BlockOptions {
  int64_t emb_channels = 0;
  bool up = false;
  bool down = false;
  bool attention = false;
  int64_t num_heads = 0;  // 0: out_channels / channels_per_head
  int64_t channels_per_head = 64;
  double dropout = 0;
  double skip_scale = 1;
  double eps = 1e-5;
  std::vector<double> resample_filter{1, 1};
  bool resample_proj = false;  // 1x1 conv on the resampled skip path
  bool adaptive_scale = true;  // embedding gives scale and shift (ADM) or a shift only
  Init init;
  Init init_zero{InitMode::KaimingNormal, 0, 0};
  std::optional<Init> init_attn;
};

class UNetBlockImpl : public torch::nn::Module {
 public:
  UNetBlockImpl(int64_t in_channels, int64_t out_channels, const BlockOptions& options, const Build& build);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& emb);

  int64_t in_channels, out_channels, num_heads;
  BlockOptions options;
  GroupNorm norm0{nullptr}, norm1{nullptr}, norm2{nullptr};
  Conv2d conv0{nullptr}, conv1{nullptr}, skip{nullptr}, qkv{nullptr}, proj{nullptr};
  Linear affine{nullptr};
};
TORCH_MODULE(UNetBlock);

}  // namespace edm::networks
