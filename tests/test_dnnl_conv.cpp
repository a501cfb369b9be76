// The bfloat16 convolution called on oneDNN directly (nn/dnnl_conv.h)
// against the exact convolution of the same bfloat16 values: its output and
// input gradient rounded once to bfloat16, its weight gradient in float32.
#include <cmath>
#include <tuple>

#include "edm/nn/dnnl_conv.h"
#include "testing.h"

namespace edm::networks {
namespace {

#define SKIP_WITHOUT_DNNL() \
  if (!dnnl_conv_available()) GTEST_SKIP() << "no oneDNN headers in this build, or no bfloat16 arithmetic here"

const auto kChannelsLast = torch::MemoryFormat::ChannelsLast;

struct ConvCase {
  torch::Tensor x, weight, dy;  // x and dy bfloat16 channels-last, weight float32
};

// Channels below, at and above the 16 lanes; one input or output channel
// (the first and last layers of a network); 3x3 and 1x1 kernels.
ConvCase conv_case(int64_t n, int64_t c, int64_t o, int64_t h, int64_t w, int64_t k) {
  torch::manual_seed(21);
  auto bf16_cl = [](const torch::Tensor& t) { return t.to(torch::kBFloat16).contiguous(kChannelsLast); };
  return {bf16_cl(torch::randn({n, c, h, w})), torch::randn({o, c, k, k}) * 0.2, bf16_cl(torch::randn({n, o, h, w}))};
}

const std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>> kShapes = {
    {3, 5, 7, 9, 11, 3}, {2, 16, 32, 8, 8, 3}, {2, 1, 16, 7, 7, 3}, {2, 32, 1, 6, 5, 3}, {2, 24, 16, 5, 9, 1}};

// |a - exact| <= bound element by element.
void expect_within(const torch::Tensor& a, const torch::Tensor& exact, const torch::Tensor& bound, const char* what) {
  ASSERT_EQ(a.sizes(), exact.sizes()) << what;
  const auto excess = (a.to(torch::kFloat64) - exact).abs() - bound;
  EXPECT_LE(excess.max().item<double>(), 0.0) << what;
}

TEST(DnnlConv, OutputIsTheExactConvolutionRoundedToBfloat16) {
  SKIP_WITHOUT_DNNL();
  for (auto [n, c, o, h, w, k] : kShapes) {
    const auto cc = conv_case(n, c, o, h, w, k);
    const auto y = dnnl_conv2d_bf16(cc.x, cc.weight);
    ASSERT_EQ(y.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(y.is_contiguous(kChannelsLast));
    const auto x64 = cc.x.to(torch::kFloat64), w64 = cc.weight.to(torch::kBFloat16).to(torch::kFloat64);
    const auto exact = torch::conv2d(x64, w64, {}, 1, k / 2);
    // One bfloat16 rounding (2^-8 of the value) plus float32 accumulation
    // (2^-24 per term of the sum of |x| |w|).
    const auto terms = torch::conv2d(x64.abs(), w64.abs(), {}, 1, k / 2);
    expect_within(y, exact, exact.abs() * std::ldexp(1.0, -8) + terms * (c * k * k) * std::ldexp(1.0, -24), "y");
  }
}

TEST(DnnlConv, GradientsAreTheExactOnesTheWeightsInFloat32) {
  SKIP_WITHOUT_DNNL();
  for (auto [n, c, o, h, w, k] : kShapes) {
    const auto cc = conv_case(n, c, o, h, w, k);
    auto x = cc.x.detach().requires_grad_(), weight = cc.weight.detach().requires_grad_();
    dnnl_conv2d_bf16(x, weight).backward(cc.dy);
    ASSERT_TRUE(x.grad().defined() && weight.grad().defined());
    EXPECT_EQ(weight.grad().scalar_type(), torch::kFloat32);

    auto x64 = cc.x.to(torch::kFloat64).requires_grad_();
    auto w64 = cc.weight.to(torch::kBFloat16).to(torch::kFloat64).requires_grad_();
    const auto dy64 = cc.dy.to(torch::kFloat64);
    torch::conv2d(x64, w64, {}, 1, k / 2).backward(dy64);
    // The sums of |terms| behind each gradient, for float32's accumulation.
    auto xa = x64.detach().abs().requires_grad_(), wa = w64.detach().abs().requires_grad_();
    torch::conv2d(xa, wa, {}, 1, k / 2).backward(dy64.abs());
    const auto dx = x64.grad(), dw = w64.grad();
    expect_within(x.grad(), dx, dx.abs() * std::ldexp(1.0, -8) + xa.grad() * (o * k * k) * std::ldexp(1.0, -24), "dx");
    // Float32 all the way: no bfloat16 rounding of the weight gradient.
    expect_within(weight.grad(), dw, wa.grad() * (n * h * w) * std::ldexp(1.0, -24), "dweight");
  }
}

TEST(DnnlConv, OnlyTheGradientsAskedForAreMade) {
  SKIP_WITHOUT_DNNL();
  const auto cc = conv_case(2, 4, 8, 6, 6, 3);
  auto weight = cc.weight.detach().requires_grad_();
  dnnl_conv2d_bf16(cc.x, weight).backward(cc.dy);  // the first layer: its input needs none
  EXPECT_TRUE(weight.grad().defined());
  torch::NoGradGuard no_grad;
  EXPECT_FALSE(dnnl_conv2d_bf16(cc.x, weight).requires_grad());
}

TEST(DnnlConv, RefusesWhatItDoesNotCompute) {
  SKIP_WITHOUT_DNNL();
  const auto cc = conv_case(2, 4, 8, 6, 6, 3);
  EXPECT_THROW(dnnl_conv2d_bf16(cc.x.to(torch::kFloat32), cc.weight), Error);          // float32 input
  EXPECT_THROW(dnnl_conv2d_bf16(cc.x, cc.weight.to(torch::kBFloat16)), Error);         // bfloat16 weight
  EXPECT_THROW(dnnl_conv2d_bf16(cc.x, torch::randn({8, 4, 2, 2})), Error);             // even kernel
  EXPECT_THROW(dnnl_conv2d_bf16(cc.x, torch::randn({8, 3, 3, 3})), Error);             // channels differ
  EXPECT_THROW(dnnl_conv2d_bf16(cc.x.flatten(2), torch::randn({8, 4, 3, 3})), Error);  // not 4-D
}

}  // namespace
}  // namespace edm::networks
