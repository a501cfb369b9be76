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

GroupCase group_case(int64_t h, int64_t w) {
  torch::manual_seed(11);
  auto x = torch::randn({3, 12, h, w}) * 2;
  x.select(1, 0).add_(40);
  x.narrow(1, 0, 4).select(0, 1).mul_(1e-2).add_(7);
  return {x, torch::randn({12}) + 1, torch::randn({12}), 3};
}

torch::Tensor torch_group_norm_silu(const GroupCase& c, torch::ScalarType dtype) {
  return torch::silu(torch::group_norm(c.x.to(dtype), c.groups, c.gamma.to(dtype), c.beta.to(dtype), 1e-6));
}

TEST(Bf16Kernels, GroupNormSiLUIsTheExactValueRoundedOnce) {
  SKIP_WITHOUT_KERNELS();
  for (auto [h, w] : {std::pair{7, 9}, std::pair{2, 3}, std::pair{28, 28}}) {
    const auto c = group_case(h, w);
    const auto y = group_norm_silu_bf16(c.x, c.groups, c.gamma, c.beta, 1e-6);
    ASSERT_EQ(y.scalar_type(), torch::kBFloat16);
    ASSERT_EQ(y.sizes(), c.x.sizes());
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
  const auto c = group_case(7, 9);
  const auto weights = torch::randn(c.x.sizes());
  auto grads = [&](bool fused) {
    auto x = c.x.clone().requires_grad_(), gamma = c.gamma.clone().requires_grad_(),
         beta = c.beta.clone().requires_grad_();
    auto y = fused ? group_norm_silu_bf16(x, c.groups, gamma, beta, 1e-6)
                   : torch::silu(torch::group_norm(x, c.groups, gamma, beta, 1e-6)).to(torch::kBFloat16);
    (y.to(torch::kFloat32) * weights).sum().backward();
    return std::vector<torch::Tensor>{x.grad(), gamma.grad(), beta.grad()};
  };
  const auto fused = grads(true), plain = grads(false);
  for (size_t i = 0; i < fused.size(); ++i) {
    // Both see the same bfloat16 gradient of y; what remains is float32
    // rounding in the sums of the group norm's backward.
    EXPECT_GT(plain[i].abs().max().item<double>(), 1e-3) << i;
    EXPECT_LT(test::rel_diff(fused[i], plain[i]), 1e-5) << i;
  }
}

TEST(Bf16Kernels, CastBackAndBiasAreBitForBitTheTwoOps) {
  SKIP_WITHOUT_KERNELS();
  torch::manual_seed(12);
  for (auto shape : {std::vector<int64_t>{2, 5, 7, 7}, std::vector<int64_t>{3, 4, 16}}) {
    const auto y = (torch::randn(shape) * 30).to(torch::kBFloat16).requires_grad_();
    const auto bias = torch::randn({shape[1]}).requires_grad_();
    std::vector<int64_t> per_channel(shape.size(), 1);
    per_channel[1] = -1;
    const auto out = bf16_to_float_add_bias(y, bias);
    const auto expected = y.to(torch::kFloat32) + bias.reshape(per_channel);
    ASSERT_EQ(out.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::equal(out, expected));
    const auto g = torch::randn(shape);
    const auto fused = torch::autograd::grad({out}, {y, bias}, {g});
    const auto plain = torch::autograd::grad({expected}, {y, bias}, {g});
    EXPECT_TRUE(torch::equal(fused[0], plain[0]));
    EXPECT_LT(test::rel_diff(fused[1], plain[1]), 1e-6);
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
