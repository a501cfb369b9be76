// Adam and the EMA over the one buffer flatten_parameters puts a network's
// parameters in: the same arithmetic as tensor by tensor, value for value.
#include <cmath>

#include "edm/nn/precond.h"
#include "edm/nn/presets.h"
#include "edm/train/adam.h"
#include "edm/train/ema.h"
#include "edm/train/flat_params.h"
#include "edm/train/update_kernels.h"
#include "testing.h"

namespace edm {
namespace {

std::shared_ptr<networks::PrecondImpl> small_network() {
  networks::PresetOverrides o;
  o.cbase = 8;
  torch::manual_seed(3);
  return networks::make_precond(networks::preset_config("fmnist-s", "edm", 16, 1, 10, 0, o));
}

// The largest difference between the two modules' parameters, in float32 units in the last place.
double max_ulps(const torch::nn::Module& a, const torch::nn::Module& b) {
  double worst = 0;
  auto pa = a.parameters(), pb = b.parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    auto x = pa[i].to(torch::kFloat64), y = pb[i].to(torch::kFloat64);
    auto ulp = torch::clamp_min(x.abs(), 1e-30) * std::ldexp(1.0, -23);
    const double d = ((x - y).abs() / ulp).max().item<double>();
    worst = std::isnan(d) ? INFINITY : std::max(worst, d);
  }
  return worst;
}

// Gradients drawn from a seed, with a NaN and +-Inf for force_finite_gradients.
void set_gradients(torch::nn::Module& m, int step) {
  torch::manual_seed(100 + step);
  for (auto& p : m.parameters()) p.mutable_grad() = torch::randn_like(p) * 1e-2;
  auto g = m.parameters()[0].mutable_grad().view({-1});
  g[0] = NAN, g[1] = INFINITY, g[2] = -INFINITY;
}

// One update of edm train from set_gradients' gradients: parameter
// `without` (if >= 0) gets none; the EMA follows where given.
void update_step(torch::nn::Module& net, Adam& adam, int step, int without = -1, torch::nn::Module* ema = nullptr) {
  set_gradients(net, step);
  if (without >= 0) net.parameters()[without].mutable_grad() = torch::Tensor();
  force_finite_gradients(net.parameters(), 1e5);
  adam.step(1e-3);
  if (ema) ema_update(*ema, net, 0.9);
}

// Switches the one-pass update kernels off for its lifetime.
struct UpdateKernelsOff {
  UpdateKernelsOff() { set_update_kernels_enabled(false); }
  ~UpdateKernelsOff() { set_update_kernels_enabled(true); }
};

bool same_gradients(const torch::nn::Module& a, const torch::nn::Module& b) {
  auto pa = a.parameters(), pb = b.parameters();
  for (size_t i = 0; i < pa.size(); ++i)
    if (!torch::equal(pa[i].grad(), pb[i].grad())) return false;
  return true;
}

}  // namespace

TEST(FlatParams, ParametersBecomeViewsOfOneBufferWithTheirValues) {
  auto net = small_network(), copy = small_network();
  EXPECT_FALSE(flat_buffer(net->parameters()).defined());
  auto flat = flatten_parameters(*net);
  ASSERT_TRUE(flat.defined());
  auto again = flat_buffer(net->parameters());
  ASSERT_TRUE(again.defined());
  EXPECT_EQ(again.data_ptr(), flat.data_ptr());
  int64_t total = 0;
  for (const auto& p : net->parameters()) total += p.numel();
  EXPECT_EQ(flat.numel(), total);
  EXPECT_EQ(max_ulps(*net, *copy), 0);
  // Writing the buffer writes the parameters.
  {
    torch::NoGradGuard no_grad;
    flat.fill_(2);
  }
  for (const auto& p : net->parameters()) EXPECT_TRUE(torch::all(p == 2).item<bool>());
  // A parameter given storage of its own no longer tiles the buffer.
  {
    torch::NoGradGuard no_grad;
    net->parameters()[1].set_(torch::zeros_like(net->parameters()[1]));
  }
  EXPECT_FALSE(flat_buffer(net->parameters()).defined());
}

TEST(FlatParams, AdamAndEmaOverOneBufferEqualTensorByTensor) {
  auto net = small_network(), ema = small_network(), net_flat = small_network(), ema_flat = small_network();
  flatten_parameters(*net_flat);
  flatten_parameters(*ema_flat);
  Adam adam(*net), adam_flat(*net_flat);
  for (int step = 0; step < 3; ++step) {
    update_step(*net, adam, step, -1, ema.get());
    update_step(*net_flat, adam_flat, step, -1, ema_flat.get());
  }
  EXPECT_GT(max_ulps(*net, *small_network()), 1e3);  // the steps moved the weights
  EXPECT_EQ(max_ulps(*net_flat, *net), 0);
  EXPECT_EQ(max_ulps(*ema_flat, *ema), 0);
  auto state = adam.state(), state_flat = adam_flat.state();
  for (const auto& [name, m] : state) EXPECT_TRUE(torch::equal(m, state_flat.at(name))) << name;
}

TEST(FlatParams, AdamOverRunsOfSmallAndLargeParametersEqualsTensorByTensor) {
  // Adam updates runs of small parameters at once and a large one (360,000
  // values, above a run's bound) on its own: every kind of run is here.
  auto make = [] {
    torch::manual_seed(5);
    return torch::nn::Sequential(torch::nn::Linear(4, 300), torch::nn::Linear(300, 600), torch::nn::Linear(600, 600),
                                 torch::nn::Linear(600, 4));
  };
  auto net = make(), net_flat = make();
  flatten_parameters(*net_flat);
  Adam adam(*net), adam_flat(*net_flat);
  for (int step = 0; step < 3; ++step) {
    update_step(*net, adam, step);
    update_step(*net_flat, adam_flat, step);
  }
  EXPECT_GT(max_ulps(*net, *make()), 1e3);
  EXPECT_EQ(max_ulps(*net_flat, *net), 0);
}

TEST(FlatParams, AParameterWithoutGradientIsLeftAlone) {
  // As PyTorch's Adam: a parameter the loss did not reach in a step keeps
  // its value (though its moments from the step before would move it),
  // whether the others are updated over the buffer or not.
  auto net = small_network(), net_flat = small_network();
  flatten_parameters(*net_flat);
  Adam adam(*net), adam_flat(*net_flat);
  update_step(*net, adam, 0);
  update_step(*net_flat, adam_flat, 0);
  const auto after_first = net_flat->parameters()[2].clone();
  update_step(*net, adam, 1, 2);
  update_step(*net_flat, adam_flat, 1, 2);
  EXPECT_TRUE(torch::equal(net_flat->parameters()[2], after_first));
  EXPECT_EQ(max_ulps(*net_flat, *net), 0);
}

TEST(FlatParams, OnePassUpdateEqualsLibTorchsOperationsBitForBit) {
  // Adam with the gradients made finite (NVlabs/edm's 1e5 and NVlabs/edm2's
  // 0) and both branches of the EMA's lerp (weight under and over 0.5),
  // against LibTorch's operations over the same buffer: parameters,
  // moments, EMA and the cleaned gradients equal.
  if (!update_kernels_available()) GTEST_SKIP() << "no AVX-512 here";
  auto make = [] {
    torch::manual_seed(5);
    return torch::nn::Sequential(torch::nn::Linear(3, 301), torch::nn::Linear(301, 600), torch::nn::Linear(600, 7));
  };
  for (double inf_value : {1e5, 0.0}) {
    auto net = make(), ema = make(), ops = make(), ops_ema = make();
    for (auto* m : {&net, &ema, &ops, &ops_ema}) flatten_parameters(**m);
    Adam adam(*net), ops_adam(*ops);
    for (int step = 0; step < 3; ++step) {
      const double beta = step == 1 ? 0.3 : 0.9;
      set_gradients(*net, step);
      adam.step(1e-3, inf_value);
      ema_update(*ema, *net, beta);
      {
        UpdateKernelsOff off;
        set_gradients(*ops, step);
        ops_adam.step(1e-3, inf_value);
        ema_update(*ops_ema, *ops, beta);
      }
      EXPECT_TRUE(same_gradients(*net, *ops)) << "step " << step;
    }
    EXPECT_GT(max_ulps(*net, *make()), 1e3);
    EXPECT_EQ(max_ulps(*net, *ops), 0) << inf_value;
    EXPECT_EQ(max_ulps(*ema, *ops_ema), 0) << inf_value;
    auto state = adam.state(), ops_state = ops_adam.state();
    for (const auto& [name, m] : state) EXPECT_TRUE(torch::equal(m, ops_state.at(name))) << name;
    // The cleaned values: NaN -> 0, +-Inf -> +-inf_value.
    auto g = net->parameters()[0].grad().view({-1});
    EXPECT_EQ(g[0].item<float>(), 0.0f);
    EXPECT_EQ(g[1].item<float>(), static_cast<float>(inf_value));
    EXPECT_EQ(g[2].item<float>(), static_cast<float>(-inf_value));
  }
}

TEST(FlatParams, OnePassUpdateRefusesGradientsThatDoNotTileTheBuffer) {
  if (!update_kernels_available()) GTEST_SKIP() << "no AVX-512 here";
  auto p = torch::zeros({10}), m = torch::zeros({10}), v = torch::zeros({10});
  const AdamConstants c{0.9, 0.999, 1e-8, 1e-3, 0.1, 0.001};
  EXPECT_THROW(adam_update_flat(p, m, v, {torch::zeros({4}), torch::zeros({5})}, {0, 4}, c, {}), Error);
  EXPECT_THROW(adam_update_flat(p, m, v, {torch::zeros({4}), torch::zeros({6})}, {1, 4}, c, {}), Error);
  EXPECT_THROW(adam_update_flat(p, m, v, {torch::zeros({10}, torch::kFloat64)}, {0}, c, {}), Error);
  adam_update_flat(p, m, v, {torch::ones({4}), torch::ones({6})}, {0, 4}, c, {});
  EXPECT_TRUE(torch::all(p < 0).item<bool>());  // a positive gradient moves every value down
}

}  // namespace edm
