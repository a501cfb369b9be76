#include "edm/nn/autoencoder_blocks.h"

#include <cmath>
#include <string>

namespace edm::networks {

namespace {

// PyTorch's default initialisation (uniform within 1/sqrt(fan_in)), as the
// published autoencoder was trained from.
ConvOptions conv_options(int64_t kernel) {
  ConvOptions c;
  c.kernel = kernel;
  c.init = Init{InitMode::KaimingUniform, std::sqrt(1.0 / 3), std::sqrt(1.0 / 3)};
  return c;
}
Linear linear(int64_t in, int64_t out, const Build& build) {
  return Linear(in, out, true, Init{InitMode::KaimingUniform, std::sqrt(1.0 / 3), std::sqrt(1.0 / 3)}, build);
}
GroupNorm norm(int64_t channels, int64_t groups, const Build& build) {
  return GroupNorm(channels, 1e-6, build, groups, 1);
}
std::shared_ptr<torch::nn::Module> holder() { return std::make_shared<torch::nn::Module>(); }
// A resampler holds its convolution as "conv" (downsamplers.0.conv.weight).
std::shared_ptr<torch::nn::Module> named(const std::string& name, const Conv2d& conv) {
  auto h = holder();
  h->register_module(name, conv);
  return h;
}

// One level appended to `blocks` under diffusers' names: `count` resnets from
// `in` to `out` channels as "resnets", then, unless `last`, the resampling
// convolution as "<resampler>.0.conv".
AELevel add_level(torch::nn::ModuleList& blocks, int64_t in, int64_t out, int64_t count, const char* resampler,
                  bool last, int64_t groups, const Build& build) {
  AELevel level;
  auto block = holder();
  auto resnets = block->register_module("resnets", torch::nn::ModuleList());
  for (int64_t j = 0; j < count; ++j, in = out) resnets->push_back(level.resnets.emplace_back(in, out, groups, build));
  if (!last) {
    auto list = block->register_module(resampler, torch::nn::ModuleList());
    level.resample = Conv2d(out, out, conv_options(3), build);
    list->push_back(named("conv", level.resample));
  }
  blocks->push_back(block);
  return level;
}

}  // namespace

AEResnetImpl::AEResnetImpl(int64_t in, int64_t out, int64_t groups, const Build& build) {
  norm1_ = register_module("norm1", norm(in, groups, build));
  conv1_ = register_module("conv1", Conv2d(in, out, conv_options(3), build));
  norm2_ = register_module("norm2", norm(out, groups, build));
  conv2_ = register_module("conv2", Conv2d(out, out, conv_options(3), build));
  if (in != out) conv_shortcut_ = register_module("conv_shortcut", Conv2d(in, out, conv_options(1), build));
}

torch::Tensor AEResnetImpl::forward(const torch::Tensor& x) {
  auto h = conv1_(torch::silu(norm1_(x)));
  h = conv2_(torch::silu(norm2_(h)));
  return (conv_shortcut_ ? conv_shortcut_(x) : x) + h;
}

AEAttentionImpl::AEAttentionImpl(int64_t c, int64_t groups, const Build& build) {
  group_norm_ = register_module("group_norm", norm(c, groups, build));
  to_q_ = register_module("to_q", linear(c, c, build));
  to_k_ = register_module("to_k", linear(c, c, build));
  to_v_ = register_module("to_v", linear(c, c, build));
  auto out = register_module("to_out", torch::nn::ModuleList());
  to_out_ = linear(c, c, build);
  out->push_back(to_out_);
}

torch::Tensor AEAttentionImpl::forward(const torch::Tensor& x) {
  const auto N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  auto h = group_norm_(x).reshape({N, C, H * W}).transpose(1, 2);  // [N, HW, C]
  auto q = to_q_(h), k = to_k_(h), v = to_v_(h);
  auto w = torch::softmax(torch::bmm(q, k.transpose(1, 2)) / std::sqrt(double(C)), -1);
  auto y = to_out_(torch::bmm(w, v)).transpose(1, 2).reshape({N, C, H, W});
  return x + y;
}

AEMidBlockImpl::AEMidBlockImpl(int64_t c, int64_t groups, const Build& build) {
  resnets_ = register_module("resnets", torch::nn::ModuleList());
  attentions_ = register_module("attentions", torch::nn::ModuleList());
  resnets_->push_back(AEResnet(c, c, groups, build));
  attentions_->push_back(AEAttention(c, groups, build));
  resnets_->push_back(AEResnet(c, c, groups, build));
}

torch::Tensor AEMidBlockImpl::forward(torch::Tensor x) {
  x = resnets_[0]->as<AEResnetImpl>()->forward(x);
  x = attentions_[0]->as<AEAttentionImpl>()->forward(x);
  return resnets_[1]->as<AEResnetImpl>()->forward(x);
}

AEEncoderImpl::AEEncoderImpl(const AutoencoderShape& s, const Build& build) {
  const auto& ch = s.block_out_channels;
  conv_in_ = register_module("conv_in", Conv2d(s.in_channels, ch[0], conv_options(3), build));
  down_blocks_ = register_module("down_blocks", torch::nn::ModuleList());
  for (size_t i = 0; i < ch.size(); ++i)
    levels_.push_back(add_level(down_blocks_, i ? ch[i - 1] : ch[0], ch[i], s.layers_per_block, "downsamplers",
                                i + 1 == ch.size(), s.norm_num_groups, build));
  mid_block_ = register_module("mid_block", AEMidBlock(ch.back(), s.norm_num_groups, build));
  conv_norm_out_ = register_module("conv_norm_out", norm(ch.back(), s.norm_num_groups, build));
  conv_out_ = register_module("conv_out", Conv2d(ch.back(), 2 * s.latent_channels, conv_options(3), build));
}

torch::Tensor AEEncoderImpl::forward(torch::Tensor x) {
  x = conv_in_(x);
  for (auto& level : levels_) {
    for (auto& r : level.resnets) x = r(x);
    if (!level.resample) continue;
    // A stride-2 3x3 convolution after padding right and bottom by one: even
    // sizes halve exactly (the published weights were trained so).
    auto& d = level.resample;
    x = torch::conv2d(torch::constant_pad_nd(x, {0, 1, 0, 1}), d->weight.to(x.scalar_type()),
                      d->bias.to(x.scalar_type()), 2);
  }
  x = mid_block_(x);
  return conv_out_(torch::silu(conv_norm_out_(x)));
}

AEDecoderImpl::AEDecoderImpl(const AutoencoderShape& s, const Build& build) {
  std::vector<int64_t> ch(s.block_out_channels.rbegin(), s.block_out_channels.rend());
  conv_in_ = register_module("conv_in", Conv2d(s.latent_channels, ch[0], conv_options(3), build));
  mid_block_ = register_module("mid_block", AEMidBlock(ch[0], s.norm_num_groups, build));
  up_blocks_ = register_module("up_blocks", torch::nn::ModuleList());
  for (size_t i = 0; i < ch.size(); ++i)  // the decoder's levels have one resnet more
    levels_.push_back(add_level(up_blocks_, i ? ch[i - 1] : ch[0], ch[i], s.layers_per_block + 1, "upsamplers",
                                i + 1 == ch.size(), s.norm_num_groups, build));
  conv_norm_out_ = register_module("conv_norm_out", norm(ch.back(), s.norm_num_groups, build));
  conv_out_ = register_module("conv_out", Conv2d(ch.back(), s.in_channels, conv_options(3), build));
}

torch::Tensor AEDecoderImpl::forward(torch::Tensor z) {
  auto x = mid_block_(conv_in_(z));
  for (auto& level : levels_) {
    for (auto& r : level.resnets) x = r(x);
    if (level.resample)  // nearest-neighbour doubling, then a 3x3 convolution
      x = level.resample(torch::upsample_nearest2d(x, std::vector<int64_t>{x.size(2) * 2, x.size(3) * 2}));
  }
  return conv_out_(torch::silu(conv_norm_out_(x)));
}

}  // namespace edm::networks
