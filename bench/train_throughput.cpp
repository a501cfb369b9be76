// Training images per second: one full step of `edm train` (noise levels and
// noise, the weighted EDM loss, backward, non-finite gradients replaced, Adam,
// EMA) per preset and batch size, with the time of the update (non-finite
// gradients, Adam, EMA) of a step, composed from the library's training pieces
// as src/edm/train/run_step.cpp composes them, on one process.
//
//   train_throughput [--device cpu|cuda] [--threads N] [--seconds S] [--min-steps N] [--warmup N]
//                    [--res R] [--precond edm|vp|ve] [--fp16|--bf16] [--per-tensor] [--unfused]
//                    [--ops-update] [--torch-conv] [PRESET:BATCH[:RES]]...
//
// --per-tensor: Adam and the EMA go tensor by tensor, not over the one buffer
// that edm train puts the parameters in (train/flat_params.h).
// --unfused: bfloat16 on a CPU without the fused kernels around the products
// (nn/bf16_kernels.h), LibTorch's ops instead.
// --ops-update: the update with LibTorch's operations, not the one-pass
// kernels of train/update_kernels.h (same values, bit for bit).
// --torch-conv: bfloat16 convolutions on a CPU through LibTorch, not oneDNN
// directly (nn/dnnl_conv.h).
//
// Without PRESET arguments: fmnist-s and fmnist-m at 28x28 with batch 16 and
// 64, and the reference CIFAR-10 DDPM++ (55.7M parameters) at 32x32, batch 4 on
// a CPU (bigger batches on CUDA). Images are random (the loader's work runs
// on its own thread in training and is left out); warm-up steps are not timed.
// Peak memory is the process's peak resident set on the CPU (reset per case);
// LibTorch's C++ API gives no CUDA allocator statistics without linking its
// CUDA libraries, so on a GPU it prints "-".
#include <torch/version.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "edm/core/error.h"
#include "edm/core/runtime.h"
#include "edm/model/model_file.h"
#include "edm/nn/bf16_kernels.h"
#include "edm/nn/dnnl_conv.h"
#include "edm/nn/precond.h"
#include "edm/nn/presets.h"
#include "edm/train/adam.h"
#include "edm/train/ema.h"
#include "edm/train/flat_params.h"
#include "edm/train/loss.h"
#include "edm/train/update_kernels.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Job {
  std::string preset;
  int64_t batch = 0;
  int64_t res = 0;  // 0: the preset's data set (28 for fmnist-*, 32 for ddpmpp/ncsnpp, 64 for adm)
};

int64_t parse_int(const std::string& s, const std::string& what) {
  size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || v < 1) throw edm::UsageError(what + " must be a positive integer, got '" + s + "'");
  return v;
}

double parse_number(const std::string& s, const std::string& what) {
  size_t used = 0;
  double v = NAN;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || !(v >= 0) || !std::isfinite(v))
    throw edm::UsageError(what + " must be a non-negative number, got '" + s + "'");
  return v;
}

Job parse_job(const std::string& s) {
  Job job;
  auto a = s.find(':');
  job.preset = s.substr(0, a);
  if (a == std::string::npos) throw edm::UsageError("expected PRESET:BATCH[:RES], got '" + s + "'");
  auto rest = s.substr(a + 1);
  auto b = rest.find(':');
  job.batch = parse_int(rest.substr(0, b), "batch in '" + s + "'");
  if (b != std::string::npos) job.res = parse_int(rest.substr(b + 1), "resolution in '" + s + "'");
  return job;
}

// /proc/self/status VmHWM: the peak resident set, in GB; writing "5" to
// clear_refs resets it (Linux >= 4.0), so each case reports its own peak.
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }
double peak_rss_gb() {
  std::ifstream f("/proc/self/status");
  std::string key;
  while (f >> key) {
    if (key == "VmHWM:") {
      double kb = 0;
      f >> kb;
      return kb / 1e6;
    }
    f.ignore(1 << 16, '\n');
  }
  return NAN;
}

struct Result {
  int64_t params = 0, steps = 0;
  double mean_s = 0, best_s = 0, loss = 0, peak_gb = NAN;
  double update_s = 0;  // of mean_s: non-finite gradients, Adam and EMA
};

Result run_case(const Job& job, const std::string& precond, const edm::networks::PresetOverrides& overrides,
                torch::Device device, double seconds, int64_t min_steps, int64_t warmup, bool flat) {
  const bool small = job.preset.rfind("fmnist", 0) == 0;
  const int64_t res = job.res ? job.res : small ? 28 : job.preset == "adm" ? 64 : 32;
  // As the presets' data sets: Fashion-MNIST 1 channel, 10 classes; CIFAR-10
  // 3 channels, 10 classes, with the 9 augment labels of the reference
  // recipe; ImageNet 1000 classes.
  const int64_t channels = small ? 1 : 3, labels = job.preset == "adm" ? 1000 : 10;
  const int64_t augment_dim = small ? 0 : 9;
  auto config = edm::networks::preset_config(job.preset, precond, res, channels, labels, augment_dim, overrides);
  if (device.is_cpu()) reset_peak_rss();

  torch::manual_seed(0);
  auto net = edm::networks::make_precond(config);
  auto ema = edm::networks::make_precond(config);
  net->to(device);
  ema->to(device);
  if (flat) {  // as edm train
    edm::flatten_parameters(*net);
    edm::flatten_parameters(*ema);
  }
  edm::load_state_dict(*ema, edm::state_dict(*net), "EMA copy");
  ema->eval();
  for (auto& p : ema->parameters()) p.set_requires_grad(false);
  edm::Adam adam(*net);
  Result r;
  for (const auto& p : net->parameters()) r.params += p.numel();

  const auto loss_cfg = edm::LossConfig::for_precond(precond);
  const auto opt = torch::TensorOptions().device(device);
  auto images = torch::rand({job.batch, channels, res, res}, opt) * 2 - 1;
  auto y = torch::one_hot(torch::randint(labels, {job.batch}, opt.dtype(torch::kLong)), labels).to(torch::kFloat32);
  torch::Tensor augment_labels;
  if (augment_dim) augment_labels = torch::zeros({job.batch, augment_dim}, opt);
  // The training defaults of the small presets (lr 1e-3, 2 kimg ramp-up,
  // EMA half-life 0.5 Mimg ramped by 0.05): the arithmetic does not depend on them.
  const double lr = 1e-3, lr_rampup = 2000, ema_halflife = 0.5e6, ema_rampup = 0.05;
  double cur_nimg = 0, update_s = 0;

  auto step = [&] {
    auto sigma = edm::sample_sigma(loss_cfg, job.batch, device);
    auto noise = torch::randn(images.sizes(), opt);
    for (auto& p : net->parameters()) p.mutable_grad() = torch::Tensor();
    auto loss = edm::diffusion_loss(*net, images, y, augment_labels, loss_cfg, sigma, noise);
    (loss.sum() * (1.0 / static_cast<double>(job.batch))).backward();
    const double step_loss = loss.mean().item<double>();
    const auto t_update = Clock::now();
    adam.step(edm::ramped_lr(lr, cur_nimg, lr_rampup), 1e5);
    edm::ema_update(*ema, *net, edm::ema_beta(static_cast<double>(job.batch), ema_halflife, cur_nimg, ema_rampup));
    cur_nimg += static_cast<double>(job.batch);
    if (device.is_cuda()) torch::cuda::synchronize();
    update_s = std::chrono::duration<double>(Clock::now() - t_update).count();
    return step_loss;
  };

  net->train();
  for (int64_t i = 0; i < warmup; ++i) step();
  double total = 0;
  r.best_s = INFINITY;
  while (r.steps < min_steps || total < seconds) {
    const auto t0 = Clock::now();
    r.loss = step();
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    total += dt, r.best_s = std::min(r.best_s, dt), ++r.steps;
    r.update_s += update_s;
  }
  r.mean_s = total / static_cast<double>(r.steps);
  r.update_s /= static_cast<double>(r.steps);
  if (device.is_cpu()) r.peak_gb = peak_rss_gb();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string device_name = "cpu", precond = "edm";
    double seconds = 10;
    int64_t min_steps = 3, warmup = 2, res = 0;
    int threads = 0;
    bool flat = true;
    edm::networks::PresetOverrides overrides;
    std::vector<Job> jobs;
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw edm::UsageError(a + " needs a value");
        return argv[++i];
      };
      if (a == "--device")
        device_name = value();
      else if (a == "--threads")
        threads = static_cast<int>(parse_int(value(), "--threads"));
      else if (a == "--seconds")
        seconds = parse_number(value(), "--seconds");
      else if (a == "--min-steps")
        min_steps = parse_int(value(), "--min-steps");
      else if (a == "--warmup")
        warmup = static_cast<int64_t>(parse_number(value(), "--warmup"));
      else if (a == "--res")
        res = parse_int(value(), "--res");
      else if (a == "--precond")
        precond = value();
      else if (a == "--fp16")
        overrides.use_fp16 = true;
      else if (a == "--bf16")
        overrides.use_bf16 = true;
      else if (a == "--unfused")
        edm::networks::set_bf16_kernels_enabled(false);
      else if (a == "--torch-conv")
        edm::networks::set_dnnl_conv_enabled(false);
      else if (a == "--ops-update")
        edm::set_update_kernels_enabled(false);
      else if (a == "--per-tensor")
        flat = false;
      else if (!a.empty() && a[0] == '-')
        throw edm::UsageError("unknown option " + a);
      else
        jobs.push_back(parse_job(a));
    }
    edm::LossConfig::for_precond(precond);  // rejects an unknown --precond before any work
    const auto device = edm::parse_device(device_name);
    if (jobs.empty()) {
      if (device.is_cuda())
        jobs = {{"fmnist-s", 64}, {"fmnist-s", 256}, {"fmnist-m", 64}, {"fmnist-m", 256},
                {"ddpmpp", 64},   {"ddpmpp", 128},   {"ncsnpp", 64},   {"adm", 32}};
      else
        jobs = {{"fmnist-s", 16}, {"fmnist-s", 64}, {"fmnist-m", 16}, {"fmnist-m", 64}, {"ddpmpp", 4}};
    }
    if (res)
      for (auto& j : jobs)
        if (!j.res) j.res = res;
    edm::retain_freed_memory();  // as edm does
    threads = edm::init_threads(threads);
    edm::warn_if_slow_blas();
    std::printf("device %s, %d threads, LibTorch %s, precond %s; %lld warm-up steps, then >= %lld steps and >= %g s\n",
                device.str().c_str(), threads, TORCH_VERSION, precond.c_str(), (long long)warmup, (long long)min_steps,
                seconds);
    std::printf("%-9s %5s %4s %9s %6s %10s %10s %9s %9s %8s %9s\n", "preset", "batch", "res", "params", "steps",
                "ms/step", "best ms", "img/s", "best/s", "peak GB", "update ms");
    std::fflush(stdout);
    for (const auto& job : jobs) {
      Result r;
      try {
        r = run_case(job, precond, overrides, device, seconds, min_steps, warmup, flat);
      } catch (const c10::Error& e) {
        // Out of memory, typically: report it and go on with the other cases.
        std::string what = e.what_without_backtrace();
        std::printf("%-9s %5lld  failed: %s\n", job.preset.c_str(), (long long)job.batch,
                    what.substr(0, what.find('\n')).c_str());
        std::fflush(stdout);
        continue;
      }
      const bool small = job.preset.rfind("fmnist", 0) == 0;
      const int64_t shown_res = job.res ? job.res : small ? 28 : job.preset == "adm" ? 64 : 32;
      char mem[16] = "-";
      if (std::isfinite(r.peak_gb)) std::snprintf(mem, sizeof mem, "%.2f", r.peak_gb);
      std::printf("%-9s %5lld %4lld %8.2fM %6lld %10.1f %10.1f %9.1f %9.1f %8s %9.2f\n", job.preset.c_str(),
                  (long long)job.batch, (long long)shown_res, r.params / 1e6, (long long)r.steps, r.mean_s * 1e3,
                  r.best_s * 1e3, job.batch / r.mean_s, job.batch / r.best_s, mem, r.update_s * 1e3);
      if (!std::isfinite(r.loss)) std::printf("  (loss not finite: %g)\n", r.loss);
      std::fflush(stdout);
    }
  } catch (const edm::UsageError& e) {
    std::fprintf(stderr, "train_throughput: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_throughput: %s\n", e.what());
    return 1;
  }
  return 0;
}
