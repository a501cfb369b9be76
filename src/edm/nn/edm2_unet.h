// The EDM2 U-Net (Karras et al. 2024, config G): magnitude-preserving layers
// throughout, no biases or group norms, learned gains only at the embedding
// and the output, skips joined by mp_cat.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "edm/nn/config_reader.h"
#include "edm/nn/edm2_block.h"
#include "edm/nn/network.h"

namespace edm::networks {

struct EDM2UNetOptions {
  int64_t model_channels = 192;
  std::vector<int64_t> channel_mult{1, 2, 3, 4};
  int64_t channel_mult_noise = 0;  // 0: channel_mult[0]
  int64_t channel_mult_emb = 0;    // 0: max(channel_mult)
  int64_t num_blocks = 3;
  std::vector<int64_t> attn_resolutions{16, 8};
  double label_balance = 0.5;
  double concat_balance = 0.5;
  EDM2BlockOptions block;  // flavor, resample_mode and attention are per block

  // `model` is the raw object: a null clip_act means no clipping.
  static EDM2UNetOptions read(ConfigReader& r, const nlohmann::json& model);
};

class EDM2UNetImpl : public NetworkImpl {
 public:
  EDM2UNetImpl(const NetworkShape& shape, const EDM2UNetOptions& o, const Build& build);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& noise_labels, const torch::Tensor& class_labels,
                        const torch::Tensor& augment_labels) override;

 private:
  torch::Tensor embedding(const torch::Tensor& noise_labels, const torch::Tensor& class_labels);
  EDM2UNetOptions o_;
  torch::Tensor out_gain_;
  MPFourier emb_fourier_{nullptr};
  MPConv emb_noise_{nullptr}, emb_label_{nullptr}, enc_conv_{nullptr}, out_conv_{nullptr};
  std::vector<EDM2Block> enc_;                   // after enc_conv_, in order
  std::vector<std::pair<bool, EDM2Block>> dec_;  // (takes a skip, block)
};

}  // namespace edm::networks
