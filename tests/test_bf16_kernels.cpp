// The fused kernels around a CPU network's bfloat16 products
// (nn/bf16_kernels.h) against the LibTorch ops they replace: values and
// gradients.
#include <cmath>

#include "edm/nn/bf16_kernels.h"
#include "edm/nn/layers.h"
#include "edm/nn/product_dtype.h"
#include "testing.h"

namespace edm::networks {
namespace {

#define SKIP_WITHOUT_KERNELS() \
  if (!bf16_kernels_available()) GTEST_SKIP() << "this CPU has no AVX-512"

// Channels of several groups, planes of 63 and 6 values (not multiples of
// the 16 lanes), and a group whose mean is 350 times its spread, whose
// variance a one-pass sum of squares in float32 would lose.
struct GroupCase {
  torch::Tensor x, gamma, beta;
  int64_t groups;
};

GroupCase group_case(int64_t h, int64_t w, int64_t channels = 12) {
  torch::manual_seed(11);
  const int64_t groups = channels / 4;
  auto x = torch::randn({3, channels, h, w}) * 2;
  x.select(1, 0).add_(40);
  x.narrow(1, 0, channels / groups).select(0, 1).mul_(1e-2).add_(7);
  return {x, torch::randn({channels}) + 1, torch::randn({channels}), groups};
}

const auto kChannelsLast = torch::MemoryFormat::ChannelsLast;

// The same values whatever the layouts, zeros' signs included, NaN where
// NaN (LibTorch's vector and scalar casts give NaN different bits).
bool same_values(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const auto x = a.to(torch::kFloat32), y = b.to(torch::kFloat32);
  const auto nan = x.isnan() & y.isnan();
  return (x.eq(y) | nan).all().item<bool>() && (x.signbit().eq(y.signbit()) | nan).all().item<bool>();
}

torch::Tensor torch_group_norm_silu(const GroupCase& c, torch::ScalarType dtype) {
  return torch::silu(torch::group_norm(c.x.to(dtype), c.groups, c.gamma.to(dtype), c.beta.to(dtype), 1e-6));
}

TEST(Bf16Kernels, GroupNormSiLUIsTheExactValueRoundedOnce) {
  SKIP_WITHOUT_KERNELS();
  // 12 and 40 channels: fewer than the 16 lanes, and two blocks and a part.
  for (auto [h, w, channels] : {std::tuple{7, 9, 12}, std::tuple{2, 3, 12}, std::tuple{28, 28, 12}, {5, 3, 40}}) {
    const auto c = group_case(h, w, channels);
    const auto y = group_norm_silu_bf16(c.x, c.groups, c.gamma, c.beta, 1e-6);
    ASSERT_EQ(y.scalar_type(), torch::kBFloat16);
    ASSERT_EQ(y.sizes(), c.x.sizes());
    EXPECT_TRUE(y.is_contiguous(kChannelsLast)) << "the layout the convolution takes";
    const auto exact = torch_group_norm_silu(c, torch::kFloat64);
    // Rounded once from a float32 computation: within one bfloat16 step
    // (2^-8 of the value) of the exact value, plus float32's error where the
    // narrow group's mean (7 / 0.02 = 350 standard deviations) cancels, and
    // mostly the very rounding that LibTorch's float32 ops give.
    const auto error = (y.to(torch::kFloat64) - exact).abs();
    const double cancelled = 350 * c.gamma.abs().max().item<double>() * 8 * std::ldexp(1.0, -24);
    const auto step = exact.abs() * std::ldexp(1.0, -8) + cancelled;
    EXPECT_LE((error / step).max().item<double>(), 1.0) << h << "x" << w;
    const auto torch_rounded = torch_group_norm_silu(c, torch::kFloat32).to(torch::kBFloat16);
    EXPECT_GT(y.eq(torch_rounded).to(torch::kFloat64).mean().item<double>(), 0.95) << h << "x" << w;
  }
}

TEST(Bf16Kernels, GroupNormSiLUGradientsAreLibTorchs) {
  SKIP_WITHOUT_KERNELS();
  for (int64_t channels : {12, 40}) {
    const auto c = group_case(7, 9, channels);
    const auto g = torch::randn(c.x.sizes()).to(torch::kBFloat16);
    // y's gradient as a channels-last convolution gives it, and contiguous.
    for (const auto& g_in : {g.contiguous(kChannelsLast), g}) {
      auto grads = [&](bool fused) {
        auto x = c.x.clone().requires_grad_(), gamma = c.gamma.clone().requires_grad_(),
             beta = c.beta.clone().requires_grad_();
        auto y = fused ? group_norm_silu_bf16(x, c.groups, gamma, beta, 1e-6)
                       : torch::silu(torch::group_norm(x, c.groups, gamma, beta, 1e-6)).to(torch::kBFloat16);
        return torch::autograd::grad({y}, {x, gamma, beta}, {g_in});
      };
      const auto fused = grads(true), plain = grads(false);
      for (size_t i = 0; i < fused.size(); ++i) {
        // Both see the same bfloat16 gradient of y; what remains is float32
        // rounding in the sums of the group norm's backward.
        EXPECT_GT(plain[i].abs().max().item<double>(), 1e-3) << i;
        EXPECT_LT(test::rel_diff(fused[i], plain[i]), 1e-5) << channels << " channels, gradient " << i;
      }
    }
  }
}

TEST(Bf16Kernels, GroupNormSiLUOfOtherRanksKeepsTheValues) {
  SKIP_WITHOUT_KERNELS();
  torch::manual_seed(14);
  const auto x = torch::randn({2, 20, 11}), gamma = torch::randn({20}), beta = torch::randn({20});
  const auto y = group_norm_silu_bf16(x, 5, gamma, beta, 1e-6);
  const auto plain = torch::silu(torch::group_norm(x, 5, gamma, beta, 1e-6)).to(torch::kBFloat16);
  ASSERT_EQ(y.sizes(), x.sizes());
  EXPECT_LE((y.to(torch::kFloat32) - plain.to(torch::kFloat32)).abs().max().item<double>(),
            std::ldexp(1.0, -7) * plain.to(torch::kFloat32).abs().max().item<double>());
}

TEST(Bf16Kernels, ChannelsLastCastIsLibTorchsRounding) {
  SKIP_WITHOUT_KERNELS();
  torch::manual_seed(15);
  // One channel (as the first convolution's input), fewer channels than
  // lanes, and more; values to round both ways, and the special ones.
  for (auto shape : {std::vector<int64_t>{2, 1, 5, 5}, {2, 12, 7, 9}, {3, 40, 4, 4}}) {
    auto x = torch::randn(shape) * 1e3;
    x.view(-1).narrow(0, 0, 4).copy_(torch::tensor({NAN, INFINITY, -0.0f, 1.00390625f}));
    const auto xr = x.clone().requires_grad_();
    const auto y = to_bf16_channels_last(xr);
    EXPECT_TRUE(same_values(y, x.to(torch::kBFloat16))) << shape;
    // Channels-last strides, the one channel's included, from either dtype.
    const auto strides = torch::empty(shape, kChannelsLast).strides().vec();
    EXPECT_EQ(y.strides().vec(), strides) << shape;
    EXPECT_EQ(to_bf16_channels_last(x.to(torch::kBFloat16)).strides().vec(), strides) << shape << " from bfloat16";
    const auto g = torch::randn(shape).to(torch::kBFloat16).contiguous(kChannelsLast);
    const auto dx = torch::autograd::grad({y}, {xr}, {g})[0];
    EXPECT_TRUE(torch::equal(dx, g.to(torch::kFloat32))) << "the gradient, cast exactly";
    EXPECT_TRUE(dx.is_contiguous()) << "back in the float32 layout";
  }
  const auto cl = torch::randn({2, 8, 3, 3}).contiguous(kChannelsLast);
  EXPECT_TRUE(same_values(to_bf16_channels_last(cl), cl.to(torch::kBFloat16))) << "already channels-last";
}

TEST(Bf16Kernels, CastBackAndBiasAreBitForBitTheTwoOps) {
  SKIP_WITHOUT_KERNELS();
  torch::manual_seed(12);
  // A convolution's channels-last output (with more channels than lanes),
  // contiguous ones, another rank.
  for (auto shape : {std::vector<int64_t>{2, 5, 7, 7}, {3, 4, 16}, {2, 20, 3, 5}}) {
    for (bool channels_last : {false, true}) {
      if (channels_last && shape.size() != 4) continue;
      auto y0 = (torch::randn(shape) * 30).to(torch::kBFloat16);
      if (channels_last) y0 = y0.contiguous(kChannelsLast);
      const auto y = y0.requires_grad_();
      const auto bias = torch::randn({shape[1]}).requires_grad_();
      std::vector<int64_t> per_channel(shape.size(), 1);
      per_channel[1] = -1;
      const auto out = bf16_to_float_add_bias(y, bias);
      const auto expected = y.to(torch::kFloat32) + bias.reshape(per_channel);
      ASSERT_EQ(out.scalar_type(), torch::kFloat32);
      EXPECT_TRUE(out.is_contiguous());
      EXPECT_TRUE(torch::equal(out, expected)) << shape;
      const auto g = torch::randn(shape);
      const auto fused = torch::autograd::grad({out}, {y, bias}, {g});
      const auto plain = torch::autograd::grad({expected}, {y, bias}, {g});
      EXPECT_TRUE(torch::equal(fused[0], plain[0]));
      EXPECT_EQ(fused[0].is_contiguous(kChannelsLast) && !fused[0].is_contiguous(), channels_last)
          << "y's gradient in y's layout";
      EXPECT_LT(test::rel_diff(fused[1], plain[1]), 1e-6);
    }
  }
}

TEST(Bf16Kernels, CastBackWithoutBiasKeepsNegativeZero) {
  SKIP_WITHOUT_KERNELS();
  auto y = torch::randn({2, 20, 3, 3}).to(torch::kBFloat16).contiguous(kChannelsLast);
  y.select(1, 3).fill_(-0.0);
  const auto out = bf16_to_float_add_bias(y, torch::Tensor());
  EXPECT_TRUE(torch::equal(out, y.to(torch::kFloat32)));
  EXPECT_TRUE(torch::equal(torch::signbit(out), torch::signbit(y.to(torch::kFloat32))));
}

// Conv2d under the bfloat16 guard, framed by the kernels (channels-last),
// against LibTorch's ops (contiguous): the same products, so each output
// within one bfloat16 rounding of its value; resampling included.
TEST(Bf16Kernels, FramedConvolutionIsLibTorchsWithinOneRounding) {
  SKIP_WITHOUT_KERNELS();
  ConvOptions plain, one_by_one, down, up, fused_down, fir_up;
  one_by_one.kernel = 1, one_by_one.bias = false;
  down.down = true, up.up = true;
  fused_down.down = true, fused_down.fused_resample = true, fused_down.resample_filter = {1, 3, 3, 1};
  fir_up.up = true, fir_up.resample_filter = {1, 3, 3, 1};
  int i = 0;
  for (const auto& options : {plain, one_by_one, down, up, fused_down, fir_up}) {
    torch::manual_seed(16 + i);
    Conv2d conv(20, 40, options, Build{});
    if (conv->bias.defined()) torch::NoGradGuard(), conv->bias.data().normal_();
    const auto x0 = torch::randn({2, 20, 8, 8});
    auto run = [&](bool kernels) {
      set_bf16_kernels_enabled(kernels);
      ProductDtypeGuard bf16(torch::kBFloat16);
      conv->zero_grad();
      auto x = x0.clone().requires_grad_();
      auto out = conv->forward(x);
      out.backward(torch::cos(torch::arange(out.numel()).reshape(out.sizes()).to(torch::kFloat32)));
      std::vector<torch::Tensor> r{out.detach(), x.grad(), conv->weight.grad()};
      if (conv->bias.defined()) r.push_back(conv->bias.grad());
      set_bf16_kernels_enabled(true);
      return r;
    };
    const auto framed = run(true), libtorch = run(false);
    ASSERT_TRUE(framed[0].is_contiguous());
    auto product = libtorch[0];
    if (conv->bias.defined()) product = product - conv->bias.detach().reshape({1, -1, 1, 1});
    const auto bound = product.abs() * std::ldexp(1.0, -7) + 1e-6 * product.abs().max();
    EXPECT_TRUE((framed[0] - libtorch[0]).abs().le(bound).all().item<bool>()) << "options " << i;
    // Gradients: the same bfloat16 products, summed in another order.
    for (size_t k = 1; k < framed.size(); ++k)
      EXPECT_LT(test::rel_diff(framed[k], libtorch[k]), 1e-2) << "options " << i << ", gradient " << k;
    ++i;
  }
}

TEST(Bf16Kernels, GroupNormFusesOnlyBeforeABfloat16Product) {
  torch::manual_seed(13);
  GroupNorm norm(32, 1e-6, Build{});
  const auto x = torch::randn({2, 32, 5, 5});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(norm->forward_silu(x), torch::silu(norm->forward(x)))) << "float32: as before";
  ProductDtypeGuard bf16(torch::kBFloat16);
  const auto y = norm->forward_silu(x);
  EXPECT_EQ(y.scalar_type(), bf16_kernels_available() ? torch::kBFloat16 : torch::kFloat32);
  EXPECT_EQ(activation_dtype(y), torch::kFloat32) << "the product after it returns float32";
  Conv2d conv(32, 8, ConvOptions{}, Build{});
  EXPECT_EQ(conv->forward(y).scalar_type(), torch::kFloat32);
}

}  // namespace
}  // namespace edm::networks
