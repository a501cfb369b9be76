#include "edm/nn/unet_block.h"

#include "edm/nn/attention.h"
#include "edm/nn/product_dtype.h"

namespace edm::networks {

UNetBlockImpl::UNetBlockImpl(int64_t in, int64_t out, const BlockOptions& opt, const Build& build)
    : in_channels(in), out_channels(out), options(opt) {
  num_heads = !opt.attention ? 0 : opt.num_heads ? opt.num_heads : out / opt.channels_per_head;
  // Registration order follows the reference so that state_dict order matches.
  norm0 = register_module("norm0", GroupNorm(in, opt.eps, build));
  ConvOptions c0;
  c0.kernel = 3;
  c0.up = opt.up;
  c0.down = opt.down;
  c0.resample_filter = opt.resample_filter;
  c0.init = opt.init;
  conv0 = register_module("conv0", Conv2d(in, out, c0, build));
  affine =
      register_module("affine", Linear(opt.emb_channels, out * (opt.adaptive_scale ? 2 : 1), true, opt.init, build));
  norm1 = register_module("norm1", GroupNorm(out, opt.eps, build));
  ConvOptions c1;
  c1.kernel = 3;
  c1.init = opt.init_zero;
  conv1 = register_module("conv1", Conv2d(out, out, c1, build));
  if (out != in || opt.up || opt.down) {
    ConvOptions cs = c0;
    cs.kernel = (opt.resample_proj || out != in) ? 1 : 0;
    skip = register_module("skip", Conv2d(in, out, cs, build));
  }
  if (num_heads) {
    norm2 = register_module("norm2", GroupNorm(out, opt.eps, build));
    ConvOptions cq;
    cq.kernel = 1;
    cq.init = opt.init_attn ? *opt.init_attn : opt.init;
    qkv = register_module("qkv", Conv2d(out, out * 3, cq, build));
    ConvOptions cp;
    cp.kernel = 1;
    cp.init = opt.init_zero;
    proj = register_module("proj", Conv2d(out, out, cp, build));
  }
}

torch::Tensor UNetBlockImpl::forward(const torch::Tensor& input, const torch::Tensor& emb) {
  auto x = conv0(norm0->forward_silu(input));
  auto params = affine(emb).unsqueeze(2).unsqueeze(3).to(x.scalar_type());
  if (options.adaptive_scale) {
    auto chunks = params.chunk(2, 1);
    x = torch::silu(torch::addcmul(chunks[1], norm1(x), chunks[0] + 1));
    x = torch::dropout(x, options.dropout, is_training());
  } else if (options.dropout > 0 && is_training()) {
    x = torch::dropout(torch::silu(norm1(x.add_(params))), options.dropout, true);
  } else {
    x = norm1->forward_silu(x.add_(params));
  }
  x = conv1(x);
  x = x.add_(skip ? skip(input) : input);
  x = x * options.skip_scale;

  if (num_heads) {
    const int64_t n = x.size(0), c = x.size(1);
    auto qkv_out = qkv(norm2(x)).reshape({n * num_heads, c / num_heads, 3, -1}).unbind(2);
    auto w = attention_weights(qkv_out[0], qkv_out[1]);
    auto a = torch::einsum("nqk,nck->ncq", {w, qkv_out[2]});
    count_product_flops(w, 2.0 * static_cast<double>(2 * qkv_out[2].size(1)));  // q.k and w.v
    x = proj(a.reshape(x.sizes())).add_(x);
    x = x * options.skip_scale;
  }
  return x;
}

}  // namespace edm::networks
