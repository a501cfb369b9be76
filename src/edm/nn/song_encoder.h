// The encoder half of DDPM++ with a classification head: the noise-aware
// classifier p(y | x; sigma) of classifier guidance (Dhariwal & Nichol 2021
// use ADM's encoder the same way). Conditioned on the noise level exactly as
// the denoiser is, through the positional embedding of c_noise.
#pragma once
#include <vector>

#include "edm/nn/config_reader.h"
#include "edm/nn/embedding.h"
#include "edm/nn/network.h"
#include "edm/nn/unet_block.h"
#include "edm/nn/unet_options.h"

namespace edm::networks {

struct SongEncoderOptions : UNetOptions {
  static SongEncoderOptions read(ConfigReader& r);
};

class SongEncoderImpl : public NetworkImpl {
 public:
  // shape.out_channels is the number of classes.
  SongEncoderImpl(const NetworkShape& shape, const SongEncoderOptions& options, const Build& build);
  // Returns logits [N, classes]; class and augment labels are not inputs.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& noise_labels, const torch::Tensor& class_labels,
                        const torch::Tensor& augment_labels) override;

 private:
  PositionalEmbedding map_noise_{nullptr};
  Linear map_layer0_{nullptr}, map_layer1_{nullptr};
  Conv2d conv_in_{nullptr};
  std::vector<UNetBlock> blocks_;
  GroupNorm out_norm_{nullptr};
  Linear out_linear_{nullptr};
};

}  // namespace edm::networks
