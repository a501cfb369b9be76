// The KL-regularised autoencoder of latent diffusion: an encoder to the mean
// and log-variance of a diagonal Gaussian over latents of latent_channels x
// H/f x W/f (f = 2^(blocks - 1)), and a decoder back to images. Tensor names
// follow the published Stable Diffusion VAE (diffusers AutoencoderKL:
// encoder.*, decoder.*, quant_conv, post_quant_conv), so that the same class
// reads sd-vae-ft-mse and the small autoencoders edm train --autoencoder makes.
#pragma once
#include <torch/torch.h>

#include "edm/nn/autoencoder_blocks.h"
#include "edm/nn/config_reader.h"
#include "edm/nn/network.h"

namespace edm::networks {

struct AutoencoderKLOptions {
  std::vector<int64_t> block_out_channels{32, 64, 64};
  int64_t layers_per_block = 1;
  int64_t latent_channels = 4;
  int64_t norm_num_groups = 16;
  double scaling_factor = 1;  // the latent scale the published model is used with (informational)

  static AutoencoderKLOptions read(ConfigReader& r);
  nlohmann::json to_json() const;  // the edm.config "model" object (with model_type)
  // stabilityai/sd-vae-ft-mse: 128,256,512,512, two resnets a block, 4 latent
  // channels, 32 groups, scaling factor 0.18215.
  static AutoencoderKLOptions sd_vae_ft_mse();
  int64_t factor() const { return int64_t(1) << (block_out_channels.size() - 1); }
};

class AutoencoderKLImpl : public NetworkImpl {
 public:
  // shape.in_channels image channels (shape.out_channels must equal them).
  AutoencoderKLImpl(const NetworkShape& shape, const AutoencoderKLOptions& options, const Build& build);

  struct Moments {
    torch::Tensor mean, logvar;  // [N, latent_channels, H/f, W/f]
  };
  // Images [N,C,H,W] (H, W multiples of f) -> the posterior's moments; the
  // log-variance is clamped to [-30, 20] as the published model does.
  Moments encode(const torch::Tensor& x);
  // Latents -> images [N,C,H*f,W*f].
  torch::Tensor decode(const torch::Tensor& z);
  // The deterministic reconstruction decode(mean); noise, class and augment
  // labels are ignored.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& noise_labels, const torch::Tensor& class_labels,
                        const torch::Tensor& augment_labels) override;
  const AutoencoderKLOptions& options() const { return options_; }
  int64_t image_channels() const { return image_channels_; }

 private:
  AutoencoderKLOptions options_;
  int64_t image_channels_;
  AEEncoder encoder_{nullptr};
  AEDecoder decoder_{nullptr};
  Conv2d quant_conv_{nullptr}, post_quant_conv_{nullptr};
};

// Throws edm::Error naming what does not fit (empty or non-positive channel
// lists, channels not divisible by the groups).
void check_autoencoder_options(const AutoencoderKLOptions& o);

}  // namespace edm::networks
