// The blocks of the KL autoencoder of latent diffusion (Rombach et al. 2022),
// named as in the published Stable Diffusion VAE weights (diffusers'
// AutoencoderKL): ResNet blocks, single-head self-attention, and the encoder
// and decoder stacks built from them.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "edm/nn/layers.h"

namespace edm::networks {

// The stack's shape: block_out_channels per resolution (each but the last
// halves the resolution), resnets per encoder block (the decoder has one
// more), GroupNorm groups.
struct AutoencoderShape {
  int64_t in_channels = 1;
  std::vector<int64_t> block_out_channels{32, 64, 64};
  int64_t layers_per_block = 1;
  int64_t latent_channels = 4;
  int64_t norm_num_groups = 16;
};

// GroupNorm -> SiLU -> conv3x3, twice, plus a 1x1 conv_shortcut when the
// channel count changes.
class AEResnetImpl : public torch::nn::Module {
 public:
  AEResnetImpl(int64_t in, int64_t out, int64_t groups, const Build& build);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  GroupNorm norm1_{nullptr}, norm2_{nullptr};
  Conv2d conv1_{nullptr}, conv2_{nullptr}, conv_shortcut_{nullptr};
};
TORCH_MODULE(AEResnet);

// One head over every pixel, residual: x + to_out(softmax(q k^T / sqrt(C)) v).
class AEAttentionImpl : public torch::nn::Module {
 public:
  AEAttentionImpl(int64_t channels, int64_t groups, const Build& build);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  GroupNorm group_norm_{nullptr};
  Linear to_q_{nullptr}, to_k_{nullptr}, to_v_{nullptr}, to_out_{nullptr};
};
TORCH_MODULE(AEAttention);

// resnet, attention, resnet at the lowest resolution.
class AEMidBlockImpl : public torch::nn::Module {
 public:
  AEMidBlockImpl(int64_t channels, int64_t groups, const Build& build);
  torch::Tensor forward(torch::Tensor x);

 private:
  torch::nn::ModuleList resnets_, attentions_;
};
TORCH_MODULE(AEMidBlock);

// One level of the encoder or decoder: its resnets, then a same-width 3x3
// convolution that resamples (undefined at the last level).
struct AELevel {
  std::vector<AEResnet> resnets;
  Conv2d resample{nullptr};
};

// Image [N,in,H,W] -> moments [N,2*latent,H/f,W/f] (before quant_conv).
class AEEncoderImpl : public torch::nn::Module {
 public:
  AEEncoderImpl(const AutoencoderShape& s, const Build& build);
  torch::Tensor forward(torch::Tensor x);

 private:
  Conv2d conv_in_{nullptr}, conv_out_{nullptr};
  torch::nn::ModuleList down_blocks_;
  std::vector<AELevel> levels_;
  AEMidBlock mid_block_{nullptr};
  GroupNorm conv_norm_out_{nullptr};
};
TORCH_MODULE(AEEncoder);

// Latent [N,latent,h,w] (after post_quant_conv) -> image [N,in,h*f,w*f].
class AEDecoderImpl : public torch::nn::Module {
 public:
  AEDecoderImpl(const AutoencoderShape& s, const Build& build);
  torch::Tensor forward(torch::Tensor z);

 private:
  Conv2d conv_in_{nullptr}, conv_out_{nullptr};
  torch::nn::ModuleList up_blocks_;
  std::vector<AELevel> levels_;
  AEMidBlock mid_block_{nullptr};
  GroupNorm conv_norm_out_{nullptr};
};
TORCH_MODULE(AEDecoder);

}  // namespace edm::networks
