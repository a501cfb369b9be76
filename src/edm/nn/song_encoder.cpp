#include "edm/nn/song_encoder.h"

#include <cmath>

namespace edm::networks {

SongEncoderOptions SongEncoderOptions::read(ConfigReader& r) {
  SongEncoderOptions o;
  o.read_shared(r);
  return o;
}

SongEncoderImpl::SongEncoderImpl(const NetworkShape& shape, const SongEncoderOptions& o, const Build& build) {
  const int64_t emb_channels = o.model_channels * o.channel_mult_emb;
  const Init init{InitMode::XavierUniform, 1, 0};
  BlockOptions block;  // DDPM++'s blocks (song_unet.cpp)
  block.emb_channels = emb_channels;
  block.num_heads = 1;
  block.dropout = o.dropout;
  block.skip_scale = std::sqrt(0.5);
  block.eps = 1e-6;
  block.resample_proj = true;
  block.adaptive_scale = false;
  block.init = init;
  block.init_zero = Init{InitMode::XavierUniform, 1e-5, 0};
  block.init_attn = Init{InitMode::XavierUniform, std::sqrt(0.2), 0};

  map_noise_ = register_module("map_noise", PositionalEmbedding(o.model_channels, 10000, true));
  map_layer0_ = register_module("map_layer0", Linear(o.model_channels, emb_channels, true, init, build));
  map_layer1_ = register_module("map_layer1", Linear(emb_channels, emb_channels, true, init, build));
  ConvOptions c;
  c.kernel = 3;
  c.init = init;
  conv_in_ = register_module("conv_in", Conv2d(shape.in_channels, o.model_channels, c, build));
  int64_t cout = o.model_channels;
  for (size_t level = 0; level < o.channel_mult.size(); ++level) {
    const int64_t res = shape.img_resolution >> level;
    auto add = [&](int64_t out, bool down) {
      BlockOptions b = block;
      b.down = down;
      b.attention = !down && std::count(o.attn_resolutions.begin(), o.attn_resolutions.end(), res) > 0;
      blocks_.push_back(register_module("block" + std::to_string(blocks_.size()), UNetBlock(cout, out, b, build)));
      cout = out;
    };
    if (level > 0) add(cout, true);
    for (int64_t i = 0; i < o.num_blocks; ++i) add(o.model_channels * o.channel_mult[level], false);
  }
  out_norm_ = register_module("out_norm", GroupNorm(cout, 1e-6, build));
  out_linear_ = register_module("out_linear", Linear(cout, shape.out_channels, true, init, build));
}

torch::Tensor SongEncoderImpl::forward(const torch::Tensor& x_in, const torch::Tensor& noise_labels,
                                       const torch::Tensor&, const torch::Tensor&) {
  auto emb = map_noise_(noise_labels);
  emb = emb.reshape({emb.size(0), 2, -1}).flip(1).reshape(emb.sizes());  // [sin | cos] as DDPM++
  emb = torch::silu(map_layer1_(torch::silu(map_layer0_(emb))));
  auto x = conv_in_(x_in);
  for (auto& b : blocks_) x = b(x, emb);
  x = torch::silu(out_norm_(x)).mean({2, 3});  // global average pooling
  return out_linear_(x);
}

}  // namespace edm::networks
