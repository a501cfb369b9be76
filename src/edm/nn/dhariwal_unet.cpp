#include "edm/nn/dhariwal_unet.h"

#include <cmath>

namespace edm::networks {

DhariwalUNetOptions DhariwalUNetOptions::read(ConfigReader& r) {
  DhariwalUNetOptions o;
  o.read_shared(r);
  return o;
}

DhariwalUNetImpl::DhariwalUNetImpl(const NetworkShape& shape, const DhariwalUNetOptions& o, const Build& build)
    : options_(o) {
  const int64_t emb_channels = o.model_channels * o.channel_mult_emb;
  const Init init{InitMode::KaimingUniform, std::sqrt(1.0 / 3), std::sqrt(1.0 / 3)};
  const Init init_zero{InitMode::KaimingUniform, 0, 0};
  BlockOptions block;
  block.emb_channels = emb_channels;
  block.channels_per_head = 64;
  block.dropout = o.dropout;
  block.init = init;
  block.init_zero = init_zero;

  // Mapping.
  map_noise_ = register_module("map_noise", PositionalEmbedding(o.model_channels));
  if (shape.augment_dim)
    map_augment_ = register_module("map_augment", Linear(shape.augment_dim, o.model_channels, false, init_zero, build));
  map_layer0_ = register_module("map_layer0", Linear(o.model_channels, emb_channels, true, init, build));
  map_layer1_ = register_module("map_layer1", Linear(emb_channels, emb_channels, true, init, build));
  if (shape.label_dim)
    map_label_ = register_module("map_label",
                                 Linear(shape.label_dim, emb_channels, false,
                                        Init{InitMode::KaimingNormal, std::sqrt(double(shape.label_dim)), 0}, build));

  auto unet_block = [&](int64_t in, int64_t out, bool up, bool down, bool attention) {
    BlockOptions b = block;
    b.up = up;
    b.down = down;
    b.attention = attention;
    return UNetBlock(in, out, b, build);
  };
  auto has_attention = [&](int64_t res) {
    for (auto r : o.attn_resolutions)
      if (r == res) return true;
    return false;
  };

  // Encoder.
  auto enc = register_module("enc", std::make_shared<torch::nn::Module>("ModuleDict"));
  int64_t cout = shape.in_channels;
  std::vector<int64_t> skips;
  for (size_t level = 0; level < o.channel_mult.size(); ++level) {
    const int64_t res = shape.img_resolution >> level;
    const std::string r = std::to_string(res) + "x" + std::to_string(res);
    if (level == 0) {
      const int64_t cin = cout;
      cout = o.model_channels * o.channel_mult[level];
      ConvOptions c;
      c.kernel = 3;
      c.init = init;
      enc_conv_ = enc->register_module(r + "_conv", Conv2d(cin, cout, c, build));
    } else {
      enc_.push_back(enc->register_module(r + "_down", unet_block(cout, cout, false, true, false)));
    }
    skips.push_back(cout);
    for (int64_t idx = 0; idx < o.num_blocks; ++idx) {
      const int64_t cin = cout;
      cout = o.model_channels * o.channel_mult[level];
      enc_.push_back(enc->register_module(r + "_block" + std::to_string(idx),
                                          unet_block(cin, cout, false, false, has_attention(res))));
      skips.push_back(cout);
    }
  }

  // Decoder.
  auto dec = register_module("dec", std::make_shared<torch::nn::Module>("ModuleDict"));
  const int64_t levels = int64_t(o.channel_mult.size());
  for (int64_t level = levels - 1; level >= 0; --level) {
    const int64_t res = shape.img_resolution >> level;
    const std::string r = std::to_string(res) + "x" + std::to_string(res);
    if (level == levels - 1) {
      dec_.push_back(dec->register_module(r + "_in0", unet_block(cout, cout, false, false, true)));
      dec_.push_back(dec->register_module(r + "_in1", unet_block(cout, cout, false, false, false)));
    } else {
      dec_.push_back(dec->register_module(r + "_up", unet_block(cout, cout, true, false, false)));
    }
    for (int64_t idx = 0; idx <= o.num_blocks; ++idx) {
      const int64_t cin = cout + skips.back();
      skips.pop_back();
      cout = o.model_channels * o.channel_mult[level];
      dec_.push_back(dec->register_module(r + "_block" + std::to_string(idx),
                                          unet_block(cin, cout, false, false, has_attention(res))));
    }
  }
  out_norm_ = register_module("out_norm", GroupNorm(cout, 1e-5, build));
  ConvOptions c;
  c.kernel = 3;
  c.init = init_zero;
  out_conv_ = register_module("out_conv", Conv2d(cout, shape.out_channels, c, build));
}

torch::Tensor DhariwalUNetImpl::forward(const torch::Tensor& x_in, const torch::Tensor& noise_labels,
                                        const torch::Tensor& class_labels, const torch::Tensor& augment_labels) {
  // Mapping.
  auto emb = map_noise_(noise_labels);
  if (map_augment_ && augment_labels.defined()) emb = emb + map_augment_(augment_labels);
  emb = torch::silu(map_layer0_(emb));
  emb = map_layer1_(emb);
  if (map_label_) {
    auto labels = class_labels;
    if (is_training() && options_.label_dropout > 0) {
      auto keep = torch::rand({x_in.size(0), 1}, labels.options()) >= options_.label_dropout;
      labels = labels * keep.to(labels.scalar_type());
    }
    emb = emb + map_label_(labels);
  }
  emb = torch::silu(emb);

  // Encoder.
  std::vector<torch::Tensor> skips;
  auto x = enc_conv_(x_in);
  skips.push_back(x);
  for (auto& block : enc_) {
    x = block(x, emb);
    skips.push_back(x);
  }

  // Decoder.
  for (auto& block : dec_) {
    if (x.size(1) != block->in_channels) {
      x = torch::cat({x, skips.back()}, 1);
      skips.pop_back();
    }
    x = block(x, emb);
  }
  return out_conv_(torch::silu(out_norm_(x)));
}

}  // namespace edm::networks
