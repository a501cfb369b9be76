#include "edm/nn/edm2_unet.h"

#include <algorithm>
#include <cmath>

#include "edm/core/error.h"

namespace edm::networks {

EDM2UNetOptions EDM2UNetOptions::read(ConfigReader& r, const nlohmann::json& model) {
  EDM2UNetOptions o;
  o.model_channels = r.integer("model_channels", o.model_channels);
  o.channel_mult = r.integers("channel_mult", o.channel_mult);
  o.channel_mult_noise = r.integer("channel_mult_noise", 0);
  o.channel_mult_emb = r.integer("channel_mult_emb", 0);
  o.num_blocks = r.integer("num_blocks", o.num_blocks);
  o.attn_resolutions = r.integers("attn_resolutions", o.attn_resolutions);
  o.label_balance = r.number("label_balance", o.label_balance);
  o.concat_balance = r.number("concat_balance", o.concat_balance);
  auto& b = o.block;
  b.resample_filter = r.numbers("resample_filter", b.resample_filter);
  b.channels_per_head = r.integer("channels_per_head", b.channels_per_head);
  b.dropout = r.number("dropout", b.dropout);
  b.res_balance = r.number("res_balance", b.res_balance);
  b.attn_balance = r.number("attn_balance", b.attn_balance);
  b.clip_act = r.number("clip_act", b.clip_act);
  if (model.contains("clip_act") && model["clip_act"].is_null()) b.clip_act = 0;
  if (o.channel_mult_noise < 0 || o.channel_mult_emb < 0 || b.channels_per_head < 1 || b.clip_act < 0)
    throw Error("edm.config model: channel multipliers, channels_per_head and clip_act must be positive");
  return o;
}

EDM2UNetImpl::EDM2UNetImpl(const NetworkShape& shape, const EDM2UNetOptions& o, const Build& build) : o_(o) {
  std::vector<int64_t> cblock;
  for (auto m : o.channel_mult) cblock.push_back(o.model_channels * m);
  const int64_t cnoise = o.channel_mult_noise ? o.model_channels * o.channel_mult_noise : cblock[0];
  const int64_t cemb =
      o.channel_mult_emb ? o.model_channels * o.channel_mult_emb : *std::max_element(cblock.begin(), cblock.end());
  out_gain_ = register_parameter("out_gain", torch::zeros({}, torch::TensorOptions().device(build.device)));
  emb_fourier_ = register_module("emb_fourier", MPFourier(cnoise, 1.0, build));
  emb_noise_ = register_module("emb_noise", MPConv(cnoise, cemb, std::vector<int64_t>{}, build));
  if (shape.label_dim)
    emb_label_ = register_module("emb_label", MPConv(shape.label_dim, cemb, std::vector<int64_t>{}, build));

  auto enc = register_module("enc", std::make_shared<torch::nn::Module>());
  auto dec = register_module("dec", std::make_shared<torch::nn::Module>());
  auto opts = [&](const std::string& flavor, const std::string& mode, bool attention) {
    auto b = o.block;
    b.flavor = flavor, b.resample_mode = mode, b.attention = attention;
    return b;
  };
  auto attn_at = [&](int64_t res) { return std::count(o.attn_resolutions.begin(), o.attn_resolutions.end(), res) > 0; };
  std::vector<int64_t> skips;
  int64_t cout = shape.in_channels + 1;
  for (size_t level = 0; level < cblock.size(); ++level) {
    const int64_t res = shape.img_resolution >> level;
    const std::string r = std::to_string(res) + "x" + std::to_string(res);
    if (level == 0) {
      enc_conv_ = enc->register_module(r + "_conv", MPConv(cout, cblock[0], std::vector<int64_t>{3, 3}, build));
      cout = cblock[0];
    } else {
      enc_.push_back(enc->register_module(r + "_down", EDM2Block(cout, cout, cemb, opts("enc", "down", false), build)));
    }
    skips.push_back(cout);
    for (int64_t i = 0; i < o.num_blocks; ++i) {
      auto block = EDM2Block(cout, cblock[level], cemb, opts("enc", "keep", attn_at(res)), build);
      enc_.push_back(enc->register_module(r + "_block" + std::to_string(i), block));
      cout = cblock[level];
      skips.push_back(cout);
    }
  }
  for (size_t level = cblock.size(); level-- > 0;) {
    const int64_t res = shape.img_resolution >> level;
    const std::string r = std::to_string(res) + "x" + std::to_string(res);
    auto add = [&](const std::string& name, bool skip, int64_t cin, int64_t c, const EDM2BlockOptions& b) {
      dec_.emplace_back(skip, dec->register_module(r + name, EDM2Block(cin, c, cemb, b, build)));
    };
    if (level == cblock.size() - 1) {
      add("_in0", false, cout, cout, opts("dec", "keep", true));
      add("_in1", false, cout, cout, opts("dec", "keep", false));
    } else {
      add("_up", false, cout, cout, opts("dec", "up", false));
    }
    for (int64_t i = 0; i <= o.num_blocks; ++i) {
      const int64_t cin = cout + skips.back();
      skips.pop_back();
      cout = cblock[level];
      add("_block" + std::to_string(i), true, cin, cout, opts("dec", "keep", attn_at(res)));
    }
  }
  out_conv_ = register_module("out_conv", MPConv(cout, shape.out_channels, std::vector<int64_t>{3, 3}, build));
}

torch::Tensor EDM2UNetImpl::embedding(const torch::Tensor& noise_labels, const torch::Tensor& class_labels) {
  auto emb = emb_noise_->forward(emb_fourier_->forward(noise_labels));
  if (emb_label_) {
    auto labels = class_labels * std::sqrt(double(class_labels.size(1)));
    emb = mp_sum(emb, emb_label_->forward(labels), o_.label_balance);
  }
  return mp_silu(emb);
}

torch::Tensor EDM2UNetImpl::forward(const torch::Tensor& x_in, const torch::Tensor& noise_labels,
                                    const torch::Tensor& class_labels, const torch::Tensor&) {
  auto emb = embedding(noise_labels, class_labels);
  auto x = torch::cat({x_in, torch::ones_like(x_in.narrow(1, 0, 1))}, 1);
  x = enc_conv_->forward(x);
  std::vector<torch::Tensor> skips{x};
  for (auto& block : enc_) skips.push_back(x = block->forward(x, emb));
  for (auto& [takes_skip, block] : dec_) {
    if (takes_skip) {
      x = mp_cat(x, skips.back(), 1, o_.concat_balance);
      skips.pop_back();
    }
    x = block->forward(x, emb);
  }
  return out_conv_->forward(x, out_gain_);
}

}  // namespace edm::networks
