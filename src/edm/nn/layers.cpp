#include "edm/nn/layers.h"

#include <algorithm>

#include "edm/core/error.h"
#include "edm/nn/bf16_kernels.h"
#include "edm/nn/dnnl_conv.h"
#include "edm/nn/product_dtype.h"

namespace edm::networks {

LinearImpl::LinearImpl(int64_t in, int64_t out, bool has_bias, const Init& init, const Build& build)
    : in_features(in), out_features(out) {
  weight = register_parameter("weight", weight_init({out, in}, init.mode, in, out, init.weight, build));
  if (has_bias) bias = register_parameter("bias", weight_init({out}, init.mode, in, out, init.bias, build));
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
  const auto dt = product_dtype(x);
  auto y = torch::matmul(x.to(dt), weight.to(dt).t()).to(activation_dtype(x));
  count_product_flops(y, 2.0 * static_cast<double>(in_features));
  if (bias.defined()) y = y.add_(bias.to(y.scalar_type()));
  return y;
}

Conv2dImpl::Conv2dImpl(int64_t in, int64_t out, const ConvOptions& opt, const Build& build)
    : in_channels(in), out_channels(out), options(opt) {
  if (opt.up && opt.down) throw Error("Conv2d: up and down at once");
  const int64_t k = opt.kernel;
  if (k) {
    const int64_t fan_in = in * k * k, fan_out = out * k * k;
    weight = register_parameter("weight",
                                weight_init({out, in, k, k}, opt.init.mode, fan_in, fan_out, opt.init.weight, build));
    if (opt.bias)
      bias = register_parameter("bias", weight_init({out}, opt.init.mode, fan_in, fan_out, opt.init.bias, build));
  }
  if (opt.up || opt.down) {
    if (opt.resample_filter.empty()) throw Error("Conv2d: empty resample_filter");
    auto f = torch::tensor(std::vector<float>(opt.resample_filter.begin(), opt.resample_filter.end()));
    f = torch::outer(f, f).unsqueeze(0).unsqueeze(1) / f.sum().square();
    resample_filter = register_buffer("resample_filter", f.to(build.device));
  }
}

torch::Tensor Conv2dImpl::forward(const torch::Tensor& x) {
  const auto out_dtype = activation_dtype(x), dtype = product_dtype(x);
  if (dtype == torch::kBFloat16 && out_dtype == torch::kFloat32 && x.device().is_cpu() && x.dim() == 4 &&
      bf16_kernels_available())  // framed by the fused kernels, channels-last
    return bf16_to_float_add_bias(resample_and_convolve(to_bf16_channels_last(x)), bias);
  auto y = resample_and_convolve(x.to(dtype));
  y = y.to(out_dtype);
  if (bias.defined()) y = y.add_(bias.to(y.scalar_type()).reshape({1, -1, 1, 1}));
  return y;
}

torch::Tensor Conv2dImpl::resample_and_convolve(const torch::Tensor& x_in) {
  auto x = x_in;
  const auto dt = x.scalar_type();
  // A bfloat16 product of a float32 weight on a CPU goes to oneDNN directly
  // (a resampling fused into the product stays with LibTorch).
  const bool resample_in_product = options.fused_resample && (options.up || options.down);
  const bool dnnl = weight.defined() && !resample_in_product && dt == torch::kBFloat16 &&
                    weight.scalar_type() == torch::kFloat32 && x.device().is_cpu() && weight.size(-1) % 2 == 1 &&
                    dnnl_conv_available();
  torch::Tensor w = weight.defined() && !dnnl ? weight.to(dt) : weight;
  torch::Tensor f = resample_filter.defined() ? resample_filter.to(dt) : resample_filter;
  const int64_t w_pad = w.defined() ? w.size(-1) / 2 : 0;
  const int64_t f_pad = f.defined() ? (f.size(-1) - 1) / 2 : 0;
  const auto none = torch::Tensor();
  const std::vector<int64_t> one{1, 1}, two{2, 2};
  auto pad = [](int64_t p) { return std::vector<int64_t>{p, p}; };
  // Upsampling is a stride-2 depthwise transposed convolution by 4f (4: the
  // gain lost to zero insertion), downsampling a stride-2 one by f.
  auto up_filter = [&](int64_t c) { return f.mul(4).repeat({c, 1, 1, 1}); };
  auto down_filter = [&](int64_t c) { return f.repeat({c, 1, 1, 1}); };
  if (options.fused_resample && options.up && w.defined()) {
    x = torch::conv_transpose2d(x, up_filter(in_channels), none, two, pad(std::max<int64_t>(f_pad - w_pad, 0)), pad(0),
                                in_channels);
    x = torch::conv2d(x, w, none, one, pad(std::max<int64_t>(w_pad - f_pad, 0)));
  } else if (options.fused_resample && options.down && w.defined()) {
    x = torch::conv2d(x, w, none, one, pad(w_pad + f_pad));
    x = torch::conv2d(x, down_filter(out_channels), none, two, pad(0), one, out_channels);
  } else {
    // The two-tap box filter [1,1] is nearest-neighbour upsampling and 2x2
    // average pooling: the same numbers, without slow per-channel convolutions.
    const bool box =
        f.defined() && options.resample_filter.size() == 2 && options.resample_filter[0] == options.resample_filter[1];
    if (options.up && box)
      x = torch::upsample_nearest2d(x, std::vector<int64_t>{x.size(2) * 2, x.size(3) * 2});
    else if (options.up)
      x = torch::conv_transpose2d(x, up_filter(in_channels), none, two, pad(f_pad), pad(0), in_channels);
    if (options.down && box)
      x = torch::avg_pool2d(x, two);
    else if (options.down)
      x = torch::conv2d(x, down_filter(in_channels), none, two, pad(f_pad), one, in_channels);
    if (w.defined()) x = dnnl ? dnnl_conv2d_bf16(x, weight) : torch::conv2d(x, w, none, one, pad(w_pad));
  }
  // The weighted convolution's count (the resampling filters' is small).
  if (w.defined()) count_product_flops(x, 2.0 * static_cast<double>(w[0].numel()));
  return x;
}

GroupNormImpl::GroupNormImpl(int64_t num_channels, double eps_, const Build& build, int64_t groups,
                             int64_t min_channels_per_group)
    : num_groups(std::min(groups, num_channels / min_channels_per_group)), eps(eps_) {
  if (num_groups < 1) throw Error("GroupNorm: " + std::to_string(num_channels) + " channels are too few");
  auto opt = torch::TensorOptions().dtype(torch::kFloat32).device(build.device);
  weight = register_parameter("weight", torch::ones({num_channels}, opt));
  bias = register_parameter("bias", torch::zeros({num_channels}, opt));
}

torch::Tensor GroupNormImpl::forward(const torch::Tensor& x) {
  return torch::group_norm(x, num_groups, weight.to(x.scalar_type()), bias.to(x.scalar_type()), eps);
}

torch::Tensor GroupNormImpl::forward_silu(const torch::Tensor& x) {
  // Before a bfloat16 product on a CPU: its input, made in one pass.
  if (x.scalar_type() == torch::kFloat32 && product_dtype(x) == torch::kBFloat16 && x.device().is_cpu() &&
      bf16_kernels_available())
    return group_norm_silu_bf16(x, num_groups, weight, bias, eps);
  return torch::silu(forward(x));
}

}  // namespace edm::networks
