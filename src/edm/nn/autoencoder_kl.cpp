#include "edm/nn/autoencoder_kl.h"

#include <cmath>

#include "edm/core/error.h"

namespace edm::networks {

AutoencoderKLOptions AutoencoderKLOptions::read(ConfigReader& r) {
  AutoencoderKLOptions o;
  o.block_out_channels = r.integers("block_out_channels", o.block_out_channels);
  o.layers_per_block = r.integer("layers_per_block", o.layers_per_block);
  o.latent_channels = r.integer("latent_channels", o.latent_channels);
  o.norm_num_groups = r.integer("norm_num_groups", o.norm_num_groups);
  o.scaling_factor = r.number("scaling_factor", o.scaling_factor);
  check_autoencoder_options(o);
  return o;
}

nlohmann::json AutoencoderKLOptions::to_json() const {
  return {{"model_type", "AutoencoderKL"},        {"block_out_channels", block_out_channels},
          {"layers_per_block", layers_per_block}, {"latent_channels", latent_channels},
          {"norm_num_groups", norm_num_groups},   {"scaling_factor", scaling_factor}};
}

AutoencoderKLOptions AutoencoderKLOptions::sd_vae_ft_mse() {
  AutoencoderKLOptions o;
  o.block_out_channels = {128, 256, 512, 512};
  o.layers_per_block = 2;
  o.latent_channels = 4;
  o.norm_num_groups = 32;
  o.scaling_factor = 0.18215;
  return o;
}

void check_autoencoder_options(const AutoencoderKLOptions& o) {
  const std::string where = "autoencoder: ";
  if (o.block_out_channels.empty() || o.block_out_channels.size() > 6)
    throw Error(where + "block_out_channels needs 1 to 6 entries");
  if (o.layers_per_block < 1 || o.latent_channels < 1 || o.norm_num_groups < 1)
    throw Error(where + "layers_per_block, latent_channels and norm_num_groups must be positive");
  for (auto c : o.block_out_channels)
    if (c < 1 || c % o.norm_num_groups)
      throw Error(where + "block_out_channels " + std::to_string(c) + " is not a positive multiple of the " +
                  std::to_string(o.norm_num_groups) + " norm groups");
}

AutoencoderKLImpl::AutoencoderKLImpl(const NetworkShape& shape, const AutoencoderKLOptions& o, const Build& build)
    : options_(o), image_channels_(shape.in_channels) {
  check_autoencoder_options(o);
  if (shape.out_channels != shape.in_channels)
    throw Error("autoencoder: output channels must equal the image channels");
  AutoencoderShape s{shape.in_channels, o.block_out_channels, o.layers_per_block, o.latent_channels, o.norm_num_groups};
  ConvOptions c;
  c.kernel = 1;
  c.init = Init{InitMode::KaimingUniform, std::sqrt(1.0 / 3), std::sqrt(1.0 / 3)};
  encoder_ = register_module("encoder", AEEncoder(s, build));
  decoder_ = register_module("decoder", AEDecoder(s, build));
  quant_conv_ = register_module("quant_conv", Conv2d(2 * o.latent_channels, 2 * o.latent_channels, c, build));
  post_quant_conv_ = register_module("post_quant_conv", Conv2d(o.latent_channels, o.latent_channels, c, build));
}

AutoencoderKLImpl::Moments AutoencoderKLImpl::encode(const torch::Tensor& x) {
  const int64_t f = options_.factor();
  if (x.dim() != 4 || x.size(1) != image_channels_ || x.size(2) % f || x.size(3) % f)
    throw Error("autoencoder: images must be [N," + std::to_string(image_channels_) +
                ",H,W] with H and W multiples of " + std::to_string(f));
  auto moments = quant_conv_(encoder_(x)).chunk(2, 1);
  return {moments[0], moments[1].clamp(-30, 20)};
}

torch::Tensor AutoencoderKLImpl::decode(const torch::Tensor& z) {
  if (z.dim() != 4 || z.size(1) != options_.latent_channels)
    throw Error("autoencoder: latents must be [N," + std::to_string(options_.latent_channels) + ",h,w]");
  return decoder_(post_quant_conv_(z));
}

torch::Tensor AutoencoderKLImpl::forward(const torch::Tensor& x, const torch::Tensor&, const torch::Tensor&,
                                         const torch::Tensor&) {
  return decode(encode(x).mean);
}

}  // namespace edm::networks
