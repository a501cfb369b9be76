#include "edm/nn/song_unet.h"

#include <cmath>

#include "edm/core/error.h"

namespace edm::networks {

SongUNetOptions SongUNetOptions::read(ConfigReader& r) {
  SongUNetOptions o;
  o.read_shared(r);
  o.embedding_type = r.string("embedding_type", o.embedding_type, {"positional", "fourier"});
  o.channel_mult_noise = r.integer("channel_mult_noise", o.channel_mult_noise);
  o.encoder_type = r.string("encoder_type", o.encoder_type, {"standard", "skip", "residual"});
  o.decoder_type = r.string("decoder_type", o.decoder_type, {"standard", "skip"});
  o.resample_filter = r.numbers("resample_filter", o.resample_filter);
  return o;
}

void SongUNetImpl::add(std::vector<Stage>& list, torch::nn::Module& dict, const std::string& name, Kind kind,
                       std::shared_ptr<torch::nn::Module> module) {
  dict.register_module(name, module);
  list.push_back({kind, std::move(module)});
}

SongUNetImpl::SongUNetImpl(const NetworkShape& shape, const SongUNetOptions& o, const Build& build) : options_(o) {
  const int64_t emb_channels = o.model_channels * o.channel_mult_emb;
  const int64_t noise_channels = o.model_channels * o.channel_mult_noise;
  const Init init{InitMode::XavierUniform, 1, 0};
  const Init init_zero{InitMode::XavierUniform, 1e-5, 0};
  const Init init_attn{InitMode::XavierUniform, std::sqrt(0.2), 0};
  BlockOptions block;
  block.emb_channels = emb_channels;
  block.num_heads = 1;
  block.dropout = o.dropout;
  block.skip_scale = std::sqrt(0.5);
  block.eps = 1e-6;
  block.resample_filter = o.resample_filter;
  block.resample_proj = true;
  block.adaptive_scale = false;
  block.init = init;
  block.init_zero = init_zero;
  block.init_attn = init_attn;

  // Mapping.
  if (o.embedding_type == "positional")
    map_positional_ = register_module("map_noise", PositionalEmbedding(noise_channels, 10000, true));
  else
    map_fourier_ = register_module("map_noise", FourierEmbedding(noise_channels, build));
  if (shape.label_dim)
    map_label_ = register_module("map_label", Linear(shape.label_dim, noise_channels, true, init, build));
  if (shape.augment_dim)
    map_augment_ = register_module("map_augment", Linear(shape.augment_dim, noise_channels, false, init, build));
  map_layer0_ = register_module("map_layer0", Linear(noise_channels, emb_channels, true, init, build));
  map_layer1_ = register_module("map_layer1", Linear(emb_channels, emb_channels, true, init, build));

  auto conv = [&](int64_t in, int64_t out, int64_t kernel, Init i, bool up = false, bool down = false,
                  bool fused = false) {
    ConvOptions c;
    c.kernel = kernel;
    c.up = up;
    c.down = down;
    c.resample_filter = o.resample_filter;
    c.fused_resample = fused;
    c.init = i;
    return Conv2d(in, out, c, build).ptr();
  };
  auto unet_block = [&](int64_t in, int64_t out, bool up, bool down, bool attention) {
    BlockOptions b = block;
    b.up = up;
    b.down = down;
    b.attention = attention;
    return UNetBlock(in, out, b, build).ptr();
  };
  auto has_attention = [&](int64_t res) {
    for (auto r : o.attn_resolutions)
      if (r == res) return true;
    return false;
  };

  // Encoder.
  auto enc = register_module("enc", std::make_shared<torch::nn::Module>("ModuleDict"));
  int64_t cout = shape.in_channels, caux = shape.in_channels;
  std::vector<int64_t> skips;
  for (size_t level = 0; level < o.channel_mult.size(); ++level) {
    const int64_t res = shape.img_resolution >> level;
    const std::string r = std::to_string(res) + "x" + std::to_string(res);
    if (level == 0) {
      const int64_t cin = cout;
      cout = o.model_channels;
      add(enc_, *enc, r + "_conv", Kind::Conv, conv(cin, cout, 3, init));
      skips.push_back(cout);
    } else {
      add(enc_, *enc, r + "_down", Kind::Block, unet_block(cout, cout, false, true, false));
      skips.push_back(cout);
      if (o.encoder_type == "skip") {
        add(enc_, *enc, r + "_aux_down", Kind::AuxDown, conv(caux, caux, 0, Init{}, false, true));
        add(enc_, *enc, r + "_aux_skip", Kind::AuxSkip, conv(caux, cout, 1, init));
      }
      if (o.encoder_type == "residual") {
        add(enc_, *enc, r + "_aux_residual", Kind::AuxResidual, conv(caux, cout, 3, init, false, true, true));
        caux = cout;
      }
    }
    for (int64_t idx = 0; idx < o.num_blocks; ++idx) {
      const int64_t cin = cout;
      cout = o.model_channels * o.channel_mult[level];
      add(enc_, *enc, r + "_block" + std::to_string(idx), Kind::Block,
          unet_block(cin, cout, false, false, has_attention(res)));
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
      add(dec_, *dec, r + "_in0", Kind::Block, unet_block(cout, cout, false, false, true));
      add(dec_, *dec, r + "_in1", Kind::Block, unet_block(cout, cout, false, false, false));
    } else {
      add(dec_, *dec, r + "_up", Kind::Block, unet_block(cout, cout, true, false, false));
    }
    for (int64_t idx = 0; idx <= o.num_blocks; ++idx) {
      const int64_t cin = cout + skips.back();
      skips.pop_back();
      cout = o.model_channels * o.channel_mult[level];
      const bool attention = idx == o.num_blocks && has_attention(res);
      add(dec_, *dec, r + "_block" + std::to_string(idx), Kind::Block, unet_block(cin, cout, false, false, attention));
    }
    if (o.decoder_type == "skip" || level == 0) {
      if (o.decoder_type == "skip" && level < levels - 1)
        add(dec_, *dec, r + "_aux_up", Kind::AuxUp,
            conv(shape.out_channels, shape.out_channels, 0, Init{}, true, false));
      add(dec_, *dec, r + "_aux_norm", Kind::AuxNorm, GroupNorm(cout, 1e-6, build).ptr());
      add(dec_, *dec, r + "_aux_conv", Kind::AuxConv, conv(cout, shape.out_channels, 3, init_zero));
    }
  }
}

torch::Tensor SongUNetImpl::forward(const torch::Tensor& x_in, const torch::Tensor& noise_labels,
                                    const torch::Tensor& class_labels, const torch::Tensor& augment_labels) {
  // Mapping.
  auto emb = map_positional_ ? map_positional_(noise_labels) : map_fourier_(noise_labels);
  emb = emb.reshape({emb.size(0), 2, -1}).flip(1).reshape(emb.sizes());  // [sin | cos] as the original
  if (map_label_) {
    auto labels = class_labels;
    if (is_training() && options_.label_dropout > 0) {
      auto keep = torch::rand({x_in.size(0), 1}, labels.options()) >= options_.label_dropout;
      labels = labels * keep.to(labels.scalar_type());
    }
    emb = emb + map_label_(labels * std::sqrt(double(map_label_->in_features)));
  }
  if (map_augment_ && augment_labels.defined()) emb = emb + map_augment_(augment_labels);
  emb = torch::silu(map_layer0_(emb));
  emb = torch::silu(map_layer1_(emb));

  // Encoder.
  std::vector<torch::Tensor> skips;
  auto x = x_in, aux = x_in;
  for (auto& s : enc_) {
    switch (s.kind) {
      case Kind::AuxDown:
        aux = std::static_pointer_cast<Conv2dImpl>(s.module)->forward(aux);
        break;
      case Kind::AuxSkip:
        x = skips.back() = x + std::static_pointer_cast<Conv2dImpl>(s.module)->forward(aux);
        break;
      case Kind::AuxResidual:
        x = skips.back() = aux = (x + std::static_pointer_cast<Conv2dImpl>(s.module)->forward(aux)) / std::sqrt(2.0);
        break;
      case Kind::Conv:
        x = std::static_pointer_cast<Conv2dImpl>(s.module)->forward(x);
        skips.push_back(x);
        break;
      default:
        x = std::static_pointer_cast<UNetBlockImpl>(s.module)->forward(x, emb);
        skips.push_back(x);
    }
  }

  // Decoder.
  torch::Tensor out, tmp;
  for (auto& s : dec_) {
    switch (s.kind) {
      case Kind::AuxUp:
        out = std::static_pointer_cast<Conv2dImpl>(s.module)->forward(out);
        break;
      case Kind::AuxNorm:
        tmp = std::static_pointer_cast<GroupNormImpl>(s.module)->forward_silu(x);
        break;
      case Kind::AuxConv:
        tmp = std::static_pointer_cast<Conv2dImpl>(s.module)->forward(tmp);
        out = out.defined() ? tmp + out : tmp;
        break;
      default: {
        auto block = std::static_pointer_cast<UNetBlockImpl>(s.module);
        if (x.size(1) != block->in_channels) {
          x = torch::cat({x, skips.back()}, 1);
          skips.pop_back();
        }
        x = block->forward(x, emb);
      }
    }
  }
  return out;
}

}  // namespace edm::networks
