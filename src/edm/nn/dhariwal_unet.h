// ADM (Dhariwal & Nichol, "Diffusion Models Beat GANs on Image Synthesis") as
// the reference reimplements it.
#pragma once
#include <vector>

#include "edm/nn/config_reader.h"
#include "edm/nn/embedding.h"
#include "edm/nn/network.h"
#include "edm/nn/unet_block.h"
#include "edm/nn/unet_options.h"

namespace edm::networks {

struct DhariwalUNetOptions : UNetOptions {
  DhariwalUNetOptions() {
    model_channels = 192;
    channel_mult = {1, 2, 3, 4};
    num_blocks = 3;
    attn_resolutions = {32, 16, 8};
  }
  static DhariwalUNetOptions read(ConfigReader& r);
};

class DhariwalUNetImpl : public NetworkImpl {
 public:
  DhariwalUNetImpl(const NetworkShape& shape, const DhariwalUNetOptions& options, const Build& build);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& noise_labels, const torch::Tensor& class_labels,
                        const torch::Tensor& augment_labels) override;

 private:
  DhariwalUNetOptions options_;
  PositionalEmbedding map_noise_{nullptr};
  Linear map_augment_{nullptr}, map_layer0_{nullptr}, map_layer1_{nullptr}, map_label_{nullptr};
  Conv2d enc_conv_{nullptr};  // the first stage, the only one without the embedding
  std::vector<UNetBlock> enc_, dec_;
  GroupNorm out_norm_{nullptr};
  Conv2d out_conv_{nullptr};
};

}  // namespace edm::networks
