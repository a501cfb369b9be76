// Adam and the EMA over the one buffer flatten_parameters puts a network's
// parameters in: the same arithmetic as tensor by tensor, value for value.
#include <cmath>

#include "edm/nn/precond.h"
#include "edm/nn/presets.h"
#include "edm/train/adam.h"
#include "edm/train/ema.h"
#include "edm/train/flat_params.h"
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
    worst = std::max(worst, ((x - y).abs() / ulp).max().item<double>());
  }
  return worst;
}

// Gradients drawn from a seed, with a NaN and an Inf for force_finite_gradients.
void set_gradients(torch::nn::Module& m, int step) {
  torch::manual_seed(100 + step);
  for (auto& p : m.parameters()) p.mutable_grad() = torch::randn_like(p) * 1e-2;
  auto g = m.parameters()[0].mutable_grad().view({-1});
  g[0] = NAN, g[1] = INFINITY;
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
    set_gradients(*net, step);
    set_gradients(*net_flat, step);
    force_finite_gradients(net->parameters(), 1e5);
    force_finite_gradients(net_flat->parameters(), 1e5);
    adam.step(1e-3);
    adam_flat.step(1e-3);
    ema_update(*ema, *net, 0.9);
    ema_update(*ema_flat, *net_flat, 0.9);
  }
  EXPECT_GT(max_ulps(*net, *small_network()), 1e3);  // the steps moved the weights
  EXPECT_EQ(max_ulps(*net_flat, *net), 0);
  EXPECT_EQ(max_ulps(*ema_flat, *ema), 0);
  auto state = adam.state(), state_flat = adam_flat.state();
  for (const auto& [name, m] : state) EXPECT_TRUE(torch::equal(m, state_flat.at(name))) << name;
}

TEST(FlatParams, AParameterWithoutGradientIsLeftAlone) {
  // As PyTorch's Adam: a parameter the loss did not reach keeps its value
  // and moments, whether the others are updated over the buffer or not.
  auto net = small_network(), net_flat = small_network();
  flatten_parameters(*net_flat);
  Adam adam(*net), adam_flat(*net_flat);
  for (int step = 0; step < 2; ++step) {
    set_gradients(*net, step);
    set_gradients(*net_flat, step);
    net->parameters()[2].mutable_grad() = torch::Tensor();
    net_flat->parameters()[2].mutable_grad() = torch::Tensor();
    adam.step(1e-3);
    adam_flat.step(1e-3);
  }
  EXPECT_TRUE(torch::equal(net_flat->parameters()[2], small_network()->parameters()[2]));
  EXPECT_EQ(max_ulps(*net_flat, *net), 0);
}

}  // namespace edm
