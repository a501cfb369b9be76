// What edm's own paths for the bfloat16 products save on a CPU: the fused
// element-wise kernels around them (nn/bf16_kernels.h) and the convolutions
// on oneDNN directly (nn/dnnl_conv.h). Each case runs with and without them
// (--switch: both, the default, or one of the two), alternating in short
// rounds within one process, so that a machine whose speed drifts affects
// both sides alike.
//
//   fused_kernels [--threads N] [--rounds R] [--switch all|elementwise|conv] [PRESET:BATCH[:train]]...
//
// First the kernels alone on fmnist-s's largest activations (batch 64, 32
// channels, 28x28, 8 groups) against the LibTorch ops they replace (the
// kernels also turn the layout to channels-last and back), then
// whole networks in bfloat16 (forward, or forward and backward with
// `:train`). Default cases: fmnist-s:64, fmnist-s:16:train, fmnist-s:64:train,
// fmnist-m:16 and ddpmpp:4. Needs a CPU with bfloat16 arithmetic.
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "edm/core/error.h"
#include "edm/core/runtime.h"
#include "edm/nn/bf16_kernels.h"
#include "edm/nn/dnnl_conv.h"
#include "edm/nn/precond.h"
#include "edm/nn/presets.h"

namespace {

using edm::networks::set_bf16_kernels_enabled;

struct Case {
  std::string preset;
  int64_t batch;
  bool train;
};

Case parse_case(const std::string& s) {
  const auto a = s.find(':');
  if (a == std::string::npos) throw edm::UsageError("a case is PRESET:BATCH[:train], not " + s);
  const auto rest = s.substr(a + 1);
  const auto b = rest.find(':');
  const int64_t batch = std::stoll(rest.substr(0, b));
  if (batch < 1) throw edm::UsageError("batch must be positive in " + s);
  return {s.substr(0, a), batch, b != std::string::npos && rest.substr(b + 1) == "train"};
}

double seconds_of(const std::function<void()>& f, int calls) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Which of edm's own CPU paths the comparison switches: the element-wise
// kernels (nn/bf16_kernels.h), the convolutions on oneDNN directly
// (nn/dnnl_conv.h), or both.
enum class Toggle { all, elementwise, conv };
Toggle toggle = Toggle::all;

void set_kernels(bool on) {
  if (toggle != Toggle::conv) set_bf16_kernels_enabled(on);
  if (toggle != Toggle::elementwise) edm::networks::set_dnnl_conv_enabled(on);
}

// Seconds per call of `f` with the kernels on and off, alternating `rounds` times.
std::pair<double, double> on_off(const std::function<void()>& f, int rounds, int calls) {
  double on = 0, off = 0;
  for (int r = 0; r < rounds; ++r) {
    set_kernels(true);
    on += seconds_of(f, calls);
    set_kernels(false);
    off += seconds_of(f, calls);
  }
  set_kernels(true);
  return {on / (rounds * calls), off / (rounds * calls)};
}

void kernels_alone(int rounds) {
  torch::manual_seed(0);
  const auto x = torch::randn({64, 32, 28, 28});
  const auto gamma = torch::randn({32}), beta = torch::randn({32}), bias = torch::randn({32});
  const auto y = x.to(torch::kBFloat16), y_cl = y.contiguous(torch::MemoryFormat::ChannelsLast);
  torch::NoGradGuard no_grad;
  using edm::networks::bf16_to_float_add_bias, edm::networks::group_norm_silu_bf16,
      edm::networks::to_bf16_channels_last;
  // The ops on contiguous tensors; the kernels on the channels-last ones that
  // the convolutions take and give.
  auto ms = [&](const std::function<void()>& f) { return 1e3 * seconds_of(f, 10 * rounds) / (10 * rounds); };
  const double gn_ops = ms([&] { torch::silu(torch::group_norm(x, 8, gamma, beta, 1e-6)).to(torch::kBFloat16); });
  const double gn_fused = ms([&] { group_norm_silu_bf16(x, 8, gamma, beta, 1e-6); });
  const double cast_ops = ms([&] { x.to(torch::kBFloat16); });
  const double cast_fused = ms([&] { to_bf16_channels_last(x); });
  const double bias_ops = ms([&] { y.to(torch::kFloat32).add_(bias.reshape({1, -1, 1, 1})); });
  const double bias_fused = ms([&] { bf16_to_float_add_bias(y_cl, bias); });
  std::printf("%-34s %10s %10s %7s\n", "kernel, [64,32,28,28]", "ops ms", "fused ms", "ratio");
  std::printf("%-34s %10.3f %10.3f %6.2fx\n", "group norm + SiLU + cast", gn_ops, gn_fused, gn_ops / gn_fused);
  std::printf("%-34s %10.3f %10.3f %6.2fx\n", "cast", cast_ops, cast_fused, cast_ops / cast_fused);
  std::printf("%-34s %10.3f %10.3f %6.2fx\n", "cast back + bias", bias_ops, bias_fused, bias_ops / bias_fused);
}

void network(const Case& c, int rounds, const edm::networks::PresetOverrides& overrides) {
  const bool small = c.preset.rfind("fmnist", 0) == 0;
  const int64_t res = small ? 28 : 32, channels = small ? 1 : 3, labels = small ? 10 : 0;
  auto net =
      edm::networks::make_precond(edm::networks::preset_config(c.preset, "edm", res, channels, labels, 0, overrides));
  torch::manual_seed(1);
  const auto x = torch::randn({c.batch, channels, res, res});
  const auto sigma = (torch::randn({c.batch}) * 1.2 - 1.2).exp();
  const auto y =
      labels ? torch::eye(labels).index_select(0, torch::randint(labels, {c.batch}, torch::kLong)) : torch::Tensor();
  std::function<void()> step;
  if (c.train) {
    net->train();
    step = [&] {
      net->zero_grad();
      (net->forward(x, sigma, y) - x).square().mean().backward();
    };
  } else {
    net->eval();
    step = [&] {
      torch::NoGradGuard no_grad;
      net->forward(x, sigma, y);
    };
  }
  step();
  const auto [on, off] = on_off(step, rounds, 2);
  const auto name = c.preset + ":" + std::to_string(c.batch) + (c.train ? " train" : " forward");
  std::printf("%-34s %10.1f %10.1f %6.2fx\n", name.c_str(), c.batch / off, c.batch / on, off / on);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    int threads = 0, rounds = 10;
    std::vector<Case> cases;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--threads" && i + 1 < argc)
        threads = std::stoi(argv[++i]);
      else if (a == "--rounds" && i + 1 < argc)
        rounds = std::stoi(argv[++i]);
      else if (a == "--switch" && i + 1 < argc) {
        const std::string v = argv[++i];
        if (v == "all")
          toggle = Toggle::all;
        else if (v == "elementwise")
          toggle = Toggle::elementwise;
        else if (v == "conv")
          toggle = Toggle::conv;
        else
          throw edm::UsageError("--switch is all, elementwise or conv, not " + v);
      }
      else if (!a.empty() && a[0] == '-')
        throw edm::UsageError("unknown option " + a);
      else
        cases.push_back(parse_case(a));
    }
    if (rounds < 1) throw edm::UsageError("--rounds must be positive");
    if (cases.empty())
      cases = {{"fmnist-s", 64, false},
               {"fmnist-s", 16, true},
               {"fmnist-s", 64, true},
               {"fmnist-m", 16, false},
               {"ddpmpp", 4, false}};
    if (!edm::cpu_has_bfloat16() || !edm::networks::bf16_kernels_available())
      throw edm::Error("this CPU has no bfloat16 arithmetic (edm info says), so the kernels never run");
    edm::retain_freed_memory();  // as edm does
    threads = edm::init_threads(threads);
    std::printf("%d threads, %d alternating rounds\n", threads, rounds);
    if (toggle != Toggle::conv) kernels_alone(rounds);
    edm::networks::PresetOverrides overrides;
    overrides.use_bf16 = true;
    const char* off = toggle == Toggle::conv ? "torch conv" : toggle == Toggle::all ? "LibTorch" : "ops img/s";
    const char* on = toggle == Toggle::conv ? "oneDNN conv" : toggle == Toggle::all ? "edm img/s" : "fused img/s";
    std::printf("\n%-34s %10s %10s %7s\n", "network, bfloat16", off, on, "ratio");
    for (const auto& c : cases) network(c, rounds, overrides);
  } catch (const edm::UsageError& e) {
    std::fprintf(stderr, "fused_kernels: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fused_kernels: %s\n", e.what());
    return 1;
  }
  return 0;
}
