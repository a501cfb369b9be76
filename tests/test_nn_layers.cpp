// Layer semantics that the reference fixtures do not pin down on their own:
// initialisation, resampling, group sizes, fp32 attention gradients and the
// float32 fallback of mixed precision on the CPU.
#include <cmath>

#include "edm/nn/attention.h"
#include "edm/nn/layers.h"
#include "edm/nn/precond.h"
#include "edm/nn/presets.h"
#include "testing.h"

namespace edm::networks {
namespace {

TEST(NnLayers, InitModesHaveTheirVariance) {
  torch::manual_seed(1);
  const int64_t fan_in = 200, fan_out = 300;
  auto var = [&](InitMode m) { return weight_init({400, 500}, m, fan_in, fan_out, 2.0, Build{}).var().item<double>(); };
  EXPECT_NEAR(var(InitMode::XavierUniform), 4 * 2.0 / (fan_in + fan_out), 2e-4);
  EXPECT_NEAR(var(InitMode::XavierNormal), 4 * 2.0 / (fan_in + fan_out), 2e-4);
  EXPECT_NEAR(var(InitMode::KaimingUniform), 4 * 1.0 / fan_in, 4e-4);
  EXPECT_NEAR(var(InitMode::KaimingNormal), 4 * 1.0 / fan_in, 4e-4);
  auto u = weight_init({1000}, InitMode::KaimingUniform, fan_in, fan_out, 1.0, Build{});
  EXPECT_LE(u.abs().max().item<double>(), std::sqrt(3.0 / fan_in));
  EXPECT_THROW(parse_init_mode("he_normal"), std::exception);
  EXPECT_EQ(parse_init_mode("xavier_uniform"), InitMode::XavierUniform);
}

TEST(NnLayers, ZeroInitWeightGivesZeros) {
  Linear zero(8, 4, true, Init{InitMode::KaimingUniform, 0, 0}, Build{});
  EXPECT_EQ(zero->weight.abs().sum().item<double>(), 0);
  EXPECT_EQ(zero->bias.abs().sum().item<double>(), 0);
  Linear no_bias(8, 4, false, Init{}, Build{});
  EXPECT_FALSE(no_bias->bias.defined());
  EXPECT_EQ(no_bias->named_parameters().size(), 1u);
}

TEST(NnLayers, ResamplingKeepsConstantsAndHalvesOrDoubles) {
  torch::NoGradGuard no_grad;
  for (auto filter : {std::vector<double>{1, 1}, std::vector<double>{1, 3, 3, 1}}) {
    ConvOptions down;
    down.kernel = 0;
    down.down = true;
    down.resample_filter = filter;
    Conv2d d(3, 3, down, Build{});
    EXPECT_TRUE(d->named_parameters().is_empty());  // kernel 0: no weight, no bias
    EXPECT_NEAR(d->resample_filter.sum().item<double>(), 1, 1e-6);
    auto ones = torch::ones({1, 3, 8, 8});
    auto y = d(ones);
    EXPECT_EQ(y.sizes(), torch::IntArrayRef({1, 3, 4, 4}));
    // Away from the zero-padded border a constant image stays constant.
    EXPECT_NEAR(y.index({0, 0, 2, 2}).item<double>(), 1, 1e-6);
    ConvOptions up = down;
    up.down = false;
    up.up = true;
    Conv2d u(3, 3, up, Build{});
    auto z = u(ones);
    EXPECT_EQ(z.sizes(), torch::IntArrayRef({1, 3, 16, 16}));
    EXPECT_NEAR(z.index({0, 0, 8, 8}).item<double>(), 1, 1e-6);
    // The fused variants give the same shapes.
    ConvOptions fused = down;
    fused.kernel = 3;
    fused.fused_resample = true;
    Conv2d f(3, 5, fused, Build{});
    EXPECT_EQ(f(ones).sizes(), torch::IntArrayRef({1, 5, 4, 4}));
    fused.down = false;
    fused.up = true;
    Conv2d g(3, 5, fused, Build{});
    EXPECT_EQ(g(ones).sizes(), torch::IntArrayRef({1, 5, 16, 16}));
  }
}

TEST(NnLayers, BoxFilterShortcutEqualsTheFilterConvolution) {
  // [1,1] resampling takes nearest/average-pool shortcuts; they must equal the
  // depthwise (transposed) convolution by the normalised filter.
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 4, 6, 6});
  auto f = torch::full({4, 1, 2, 2}, 0.25f);
  ConvOptions opt;
  opt.kernel = 0;
  opt.up = true;
  Conv2d up(4, 4, opt, Build{});
  auto expected_up = torch::conv_transpose2d(x, f * 4, torch::Tensor(), torch::IntArrayRef{2, 2},
                                             torch::IntArrayRef{0, 0}, torch::IntArrayRef{0, 0}, 4);
  EXPECT_LT(test::max_abs_diff(up(x), expected_up), 1e-6);
  opt.up = false;
  opt.down = true;
  Conv2d down(4, 4, opt, Build{});
  auto expected_down = torch::conv2d(x, f, torch::Tensor(), torch::IntArrayRef{2, 2}, torch::IntArrayRef{0, 0},
                                     torch::IntArrayRef{1, 1}, 4);
  EXPECT_LT(test::max_abs_diff(down(x), expected_down), 1e-6);
}

TEST(NnLayers, GroupNormHasAMinimumOfChannelsPerGroup) {
  EXPECT_EQ(GroupNorm(256, 1e-5, Build{})->num_groups, 32);
  EXPECT_EQ(GroupNorm(64, 1e-5, Build{})->num_groups, 16);
  EXPECT_EQ(GroupNorm(96, 1e-5, Build{})->num_groups, 24);
  EXPECT_THROW(GroupNorm(3, 1e-5, Build{}), std::exception);
}

TEST(NnLayers, AttentionGradientsMatchAutograd) {
  torch::manual_seed(2);
  auto q = torch::randn({2, 8, 5}, torch::kFloat64).requires_grad_();
  auto k = torch::randn({2, 8, 6}, torch::kFloat64).requires_grad_();
  auto g = torch::randn({2, 5, 6}, torch::kFloat64);
  // Custom function (float32 inside) against plain autograd in float64.
  auto w = attention_weights(q, k);
  auto [dq, dk] = [&] {
    auto grads = torch::autograd::grad({w}, {q, k}, {g});
    return std::make_pair(grads[0], grads[1]);
  }();
  auto w_ref = torch::einsum("ncq,nck->nqk", {q, k / std::sqrt(8.0)}).softmax(2);
  auto ref = torch::autograd::grad({w_ref}, {q, k}, {g});
  EXPECT_EQ(w.scalar_type(), torch::kFloat64);
  // Float32 inside: softmax weights in [0, 1], gradients relative to their scale.
  EXPECT_LT(test::max_abs_diff(w, w_ref), 1e-6);
  EXPECT_LT(test::rel_diff(dq, ref[0]), 1e-5);
  EXPECT_LT(test::rel_diff(dk, ref[1]), 1e-5);
}

TEST(NnLayers, Fp16RequestFallsBackToFloat32OnCpu) {
  PresetOverrides o;
  o.use_fp16 = true;
  auto net = make_precond(preset_config("fmnist-s", "edm", 28, 1, 0, 0, o));
  EXPECT_EQ(net->compute_dtype(torch::kCPU), torch::kFloat32);
  EXPECT_FALSE(net->channels_last(torch::kCPU));
  net->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 1, 28, 28});
  auto D = net->forward(x, torch::tensor({1.0f, 2.0f}));
  EXPECT_EQ(D.scalar_type(), torch::kFloat32);
  // Same result as the float32 network with the same weights.
  auto plain = make_precond(preset_config("fmnist-s", "edm", 28, 1, 0, 0));
  auto src = net->named_parameters();
  for (auto& p : plain->named_parameters()) p.value().copy_(src[p.key()]);
  plain->eval();
  EXPECT_TRUE(torch::equal(plain->forward(x, torch::tensor({1.0f, 2.0f})), D));
}

TEST(NnLayers, PrecisionChoicesOnCuda) {
  // Queried without a GPU: only the decision, not the kernels.
  const torch::Device cuda(torch::kCUDA, 0);
  PresetOverrides o;
  o.use_fp16 = true;
  auto fp16 = make_precond(preset_config("fmnist-s", "edm", 28, 1, 0, 0, o), Build{torch::kMeta, false});
  EXPECT_EQ(fp16->compute_dtype(cuda), torch::kFloat16);
  EXPECT_TRUE(fp16->channels_last(cuda));
  fp16->set_precision(edm::networks::Precision::Float32);
  EXPECT_EQ(fp16->compute_dtype(cuda), torch::kFloat32);
  o.use_fp16 = false;
  o.use_bf16 = true;
  auto bf16 = make_precond(preset_config("fmnist-s", "edm", 28, 1, 0, 0, o), Build{torch::kMeta, false});
  EXPECT_EQ(bf16->compute_dtype(cuda), torch::kBFloat16);
  bf16->set_channels_last(false);
  EXPECT_FALSE(bf16->channels_last(cuda));
  auto fp32 = make_precond(preset_config("fmnist-s", "edm", 28, 1, 0, 0), Build{torch::kMeta, false});
  EXPECT_EQ(fp32->compute_dtype(cuda), torch::kFloat32);
  EXPECT_FALSE(fp32->channels_last(cuda));
}

TEST(NnLayers, NetworkRunsInTheInputDtype) {
  // Layers cast their weights to the activations' dtype (the mechanism behind
  // fp16/bf16 on CUDA); float64 exercises the same path on the CPU.
  auto net = make_precond(preset_config("fmnist-s", "edm", 28, 1, 10, 0));
  auto& model = net->model();
  model.eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 1, 28, 28});
  auto noise = torch::tensor({-1.0f, 0.5f});
  auto labels = torch::eye(10).narrow(0, 0, 2);
  auto y32 = model.forward(x, noise, labels, {});
  auto y64 = model.forward(x.to(torch::kFloat64), noise, labels, {});
  EXPECT_EQ(y64.scalar_type(), torch::kFloat64);
  EXPECT_LT(test::max_abs_diff(y32, y64), 1e-4 * y64.abs().max().item<double>());
}

TEST(NnLayers, ScalarSigmaAndMissingLabelsBroadcast) {
  auto net = make_precond(preset_config("fmnist-s", "edm", 28, 1, 10, 0));
  net->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({3, 1, 28, 28});
  auto a = net->forward(x, torch::tensor(0.7f));
  auto b = net->forward(x, torch::full({3}, 0.7f), torch::zeros({3, 10}));
  EXPECT_LT(test::max_abs_diff(a, b), 1e-6);
}

TEST(NnLayers, TrainingModeUsesDropoutAndGradientsFlow) {
  networks::PresetOverrides o;
  o.dropout = 0.5;
  o.label_dropout = 0.5;
  auto net = make_precond(preset_config("fmnist-s", "edm", 28, 1, 10, 9, o));
  net->train();
  auto x = torch::randn({4, 1, 28, 28});
  auto sigma = torch::full({4}, 1.0f);
  auto labels = torch::eye(10).narrow(0, 0, 4);
  auto a = net->forward(x, sigma, labels);
  auto b = net->forward(x, sigma, labels);
  EXPECT_GT(test::max_abs_diff(a, b), 0);  // dropout draws differ
  a.square().mean().backward();
  int64_t with_grad = 0, total = 0;
  for (const auto& p : net->parameters()) {
    ++total;
    with_grad += p.grad().defined();
  }
  EXPECT_EQ(with_grad, total - 1);  // all but map_augment (no augment labels given)
}

}  // namespace
}  // namespace edm::networks
