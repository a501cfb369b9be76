#include "edm/nn/edm2_block.h"

#include <cmath>

#include "edm/nn/product_dtype.h"

namespace edm::networks {

EDM2BlockImpl::EDM2BlockImpl(int64_t in_channels, int64_t out_channels, int64_t emb_channels, const EDM2BlockOptions& o,
                             const Build& build)
    : out_channels(out_channels), o_(o) {
  // Zero heads (too few channels) means no attention at all, even where asked.
  num_heads_ = o.attention ? out_channels / o.channels_per_head : 0;
  auto gain_init = torch::zeros({}, torch::TensorOptions().device(build.device));
  emb_gain_ = register_parameter("emb_gain", gain_init);
  const int64_t res0_in = o.flavor == "enc" ? out_channels : in_channels;
  conv_res0_ = register_module("conv_res0", MPConv(res0_in, out_channels, std::vector<int64_t>{3, 3}, build));
  emb_linear_ = register_module("emb_linear", MPConv(emb_channels, out_channels, std::vector<int64_t>{}, build));
  conv_res1_ = register_module("conv_res1", MPConv(out_channels, out_channels, std::vector<int64_t>{3, 3}, build));
  if (in_channels != out_channels)
    conv_skip_ = register_module("conv_skip", MPConv(in_channels, out_channels, std::vector<int64_t>{1, 1}, build));
  if (num_heads_) {
    attn_qkv_ = register_module("attn_qkv", MPConv(out_channels, out_channels * 3, std::vector<int64_t>{1, 1}, build));
    attn_proj_ = register_module("attn_proj", MPConv(out_channels, out_channels, std::vector<int64_t>{1, 1}, build));
  }
}

torch::Tensor EDM2BlockImpl::forward(torch::Tensor x, const torch::Tensor& emb) {
  x = mp_resample(x, o_.resample_filter, o_.resample_mode);
  if (o_.flavor == "enc") {
    if (conv_skip_) x = conv_skip_->forward(x);
    x = mp_normalize(x, {1});  // pixel norm
  }
  auto y = conv_res0_->forward(mp_silu(x));
  auto c = emb_linear_->forward(emb, emb_gain_) + 1;
  y = mp_silu(y * c.unsqueeze(2).unsqueeze(3).to(y.scalar_type()));
  if (is_training() && o_.dropout != 0) y = torch::dropout(y, o_.dropout, true);
  y = conv_res1_->forward(y);
  if (o_.flavor == "dec" && conv_skip_) x = conv_skip_->forward(x);
  x = mp_sum(x, y, o_.res_balance);
  if (num_heads_) x = mp_sum(x, attention(x), o_.attn_balance);
  if (o_.clip_act > 0) x = x.clamp(-o_.clip_act, o_.clip_act);
  return x;
}

// Cosine attention: q, k, v normalised per head; qkv channels are interleaved
// (head, channel, q|k|v), as the reference's reshape implies.
torch::Tensor EDM2BlockImpl::attention(const torch::Tensor& x) {
  auto y = attn_qkv_->forward(x);
  y = y.reshape({y.size(0), num_heads_, -1, 3, y.size(2) * y.size(3)});
  auto qkv = mp_normalize(y, {2}).unbind(3);
  const auto &q = qkv[0], &k = qkv[1], &v = qkv[2];
  auto w = torch::einsum("nhcq,nhck->nhqk", {q, k / std::sqrt(double(q.size(2)))}).softmax(3);
  y = torch::einsum("nhqk,nhck->nhcq", {w, v});
  count_product_flops(w, 2.0 * static_cast<double>(2 * v.size(2)));  // q.k and w.v
  return attn_proj_->forward(y.reshape(x.sizes()));
}

}  // namespace edm::networks
