// Images per second of the preconditioned networks, forward only (sampling)
// and forward+backward (training), per preset and batch size.
//
//   network_throughput [--device cpu|cuda] [--threads N] [--seconds S] [--fp16|--bf16]
//                      [--unfused] [--write-configs DIR] [PRESET:BATCH[:fwd]]...
//
// --unfused: bfloat16 on a CPU without the fused kernels around the products
// (nn/bf16_kernels.h), LibTorch's ops instead.
//
// Without PRESET arguments it runs the small Fashion-MNIST presets at batch 8
// and 32 and the reference presets (CIFAR-10 32x32 DDPM++/NCSN++, ImageNet-64
// ADM) at batch 1, forward only on a CPU. GFLOP/img counts the products
// (weighted convolutions, linear layers, attention) of one forward pass;
// training is counted as three forward passes.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "edm/core/error.h"
#include "edm/core/runtime.h"
#include "edm/nn/bf16_kernels.h"
#include "edm/nn/precond.h"
#include "edm/nn/presets.h"
#include "edm/nn/product_dtype.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Job {
  std::string preset;
  int64_t batch;
  bool forward_only;
};

Job parse_job(const std::string& s) {
  Job job{s, 8, false};
  auto a = s.find(':');
  if (a != std::string::npos) {
    job.preset = s.substr(0, a);
    auto rest = s.substr(a + 1);
    auto b = rest.find(':');
    job.batch = std::stoll(rest.substr(0, b));
    job.forward_only = b != std::string::npos && rest.substr(b + 1) == "fwd";
  }
  return job;
}

// Runs `step` until `seconds` have passed (at least 2 times after one warm-up);
// returns seconds per call.
template <class F>
double time_it(F step, double seconds, torch::Device device) {
  auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize();
  };
  step();
  sync();
  int n = 0;
  auto start = Clock::now();
  double elapsed = 0;
  while (n < 2 || elapsed < seconds) {
    step();
    sync();
    ++n;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  return elapsed / n;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string device_name = "cpu";
    double seconds = 3;
    int threads = 0;
    edm::networks::PresetOverrides overrides;
    std::vector<Job> jobs;
    std::string configs_dir;  // writes <dir>/<preset>.json: the edm.config of each case
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--device" && i + 1 < argc)
        device_name = argv[++i];
      else if (a == "--threads" && i + 1 < argc)
        threads = std::stoi(argv[++i]);
      else if (a == "--seconds" && i + 1 < argc)
        seconds = std::stod(argv[++i]);
      else if (a == "--fp16")
        overrides.use_fp16 = true;
      else if (a == "--bf16")
        overrides.use_bf16 = true;
      else if (a == "--unfused")
        edm::networks::set_bf16_kernels_enabled(false);
      else if (a == "--write-configs" && i + 1 < argc)
        configs_dir = argv[++i];
      else if (!a.empty() && a[0] == '-')
        throw edm::UsageError("unknown option " + a);
      else
        jobs.push_back(parse_job(a));
    }
    if (jobs.empty())
      jobs = {{"fmnist-s", 8, false}, {"fmnist-s", 32, false}, {"fmnist-m", 8, false}, {"fmnist-m", 32, false},
              {"ddpmpp", 1, true},    {"ncsnpp", 1, true},     {"adm", 1, true}};
    const auto device = edm::parse_device(device_name);
    edm::retain_freed_memory();  // as edm does
    threads = edm::init_threads(threads);
    edm::warn_if_slow_blas();
    std::printf("device %s, %d threads\n", device.str().c_str(), threads);
    std::printf("%-9s %5s %9s %6s %12s %12s %10s %10s %10s\n", "preset", "batch", "params", "res", "fwd img/s",
                "fwd+bwd img/s", "GFLOP/img", "fwd GF/s", "train GF/s");
    for (const auto& job : jobs) {
      const bool small = job.preset.rfind("fmnist", 0) == 0;
      const int64_t res = small ? 28 : job.preset == "adm" ? 64 : 32;
      const int64_t channels = small ? 1 : 3, labels = small ? 10 : job.preset == "adm" ? 1000 : 10;
      auto config = edm::networks::preset_config(job.preset, "edm", res, channels, labels, small ? 0 : 9, overrides);
      if (!configs_dir.empty()) std::ofstream(configs_dir + "/" + job.preset + ".json") << config.dump(1);
      auto net = edm::networks::make_precond(config);
      net->to(device);
      int64_t params = 0;
      for (const auto& p : net->parameters()) params += p.numel();
      auto opt = torch::TensorOptions().device(device);
      auto x = torch::randn({job.batch, channels, res, res}, opt);
      auto sigma = (torch::randn({job.batch}, opt) * 1.2 - 1.2).exp();
      auto y = torch::nn::functional::one_hot(torch::randint(labels, {job.batch}, opt.dtype(torch::kLong)), labels)
                   .to(torch::kFloat32);

      net->eval();
      edm::networks::reset_product_flops();
      {
        torch::NoGradGuard no_grad;
        net->forward(x, sigma, y);
      }
      const double gflop = edm::networks::product_flops_counted() / 1e9 / static_cast<double>(job.batch);
      const double fwd = time_it(
          [&] {
            torch::NoGradGuard no_grad;
            net->forward(x, sigma, y);
          },
          seconds, device);
      double train = 0;
      if (!job.forward_only) {
        net->train();
        train = time_it(
            [&] {
              auto loss = (net->forward(x, sigma, y) - x).square().mean();
              loss.backward();
              net->zero_grad();
            },
            seconds, device);
      }
      char train_str[32] = "-", train_gf[32] = "-";
      if (train > 0) std::snprintf(train_str, sizeof train_str, "%.1f", job.batch / train);
      // Backward costs twice the forward's products (input and weight gradients).
      if (train > 0) std::snprintf(train_gf, sizeof train_gf, "%.1f", 3 * gflop * job.batch / train);
      std::printf("%-9s %5lld %9.2fM %6lld %12.1f %12s %10.3f %10.1f %10s\n", job.preset.c_str(), (long long)job.batch,
                  params / 1e6, (long long)res, job.batch / fwd, train_str, gflop, gflop * job.batch / fwd, train_gf);
      std::fflush(stdout);
    }
  } catch (const edm::UsageError& e) {
    std::fprintf(stderr, "network_throughput: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "network_throughput: %s\n", e.what());
    return 1;
  }
  return 0;
}
