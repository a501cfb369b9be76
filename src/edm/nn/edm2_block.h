// One EDM2 U-Net block (Karras et al. 2024, Figure 21): magnitude-preserving
// residual branch modulated by the embedding, optional cosine attention,
// activations clipped. "enc" blocks normalise pixels and change channels
// before the branch, "dec" blocks after it.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "edm/nn/mp_layers.h"

namespace edm::networks {

struct EDM2BlockOptions {
  std::string flavor = "enc";          // "enc" or "dec"
  std::string resample_mode = "keep";  // "keep", "down" or "up"
  std::vector<double> resample_filter{1, 1};
  bool attention = false;
  int64_t channels_per_head = 64;
  double dropout = 0;
  double res_balance = 0.3;
  double attn_balance = 0.3;
  double clip_act = 256;  // <= 0: no clipping
};

class EDM2BlockImpl : public torch::nn::Module {
 public:
  EDM2BlockImpl(int64_t in_channels, int64_t out_channels, int64_t emb_channels, const EDM2BlockOptions& o,
                const Build& build);
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& emb);
  int64_t out_channels;

 private:
  torch::Tensor attention(const torch::Tensor& x);
  EDM2BlockOptions o_;
  int64_t num_heads_;
  torch::Tensor emb_gain_;
  MPConv conv_res0_{nullptr}, emb_linear_{nullptr}, conv_res1_{nullptr}, conv_skip_{nullptr};
  MPConv attn_qkv_{nullptr}, attn_proj_{nullptr};
};
TORCH_MODULE(EDM2Block);

}  // namespace edm::networks
