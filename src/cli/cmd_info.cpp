// edm info: what edm runs on.
#include <iostream>

#include "common.h"
#include "edm/core/runtime.h"
#include "edm/nn/dnnl_conv.h"

namespace edm::cli {

namespace {

// Whether --bf16 runs here, and on what.
std::string bfloat16_support(torch::Device device) {
  if (device.is_cuda()) return "yes (CUDA)";
  const auto isa = cpu_bfloat16_isa();
  if (isa.empty()) return "no (this CPU has neither AVX512_BF16 nor AMX; --bf16 is refused)";
  return "yes (" + isa + "; convolutions " +
         (networks::dnnl_conv_available() ? "on oneDNN directly" : "through LibTorch") + ")";
}

}  // namespace

void register_info(CLI::App& app) {
  auto* sub = app.add_subcommand("info", "Print version, LibTorch, devices, threads and BLAS");
  auto opts = std::make_shared<RuntimeOptions>();
  add_runtime_options(sub, *opts);
  sub->callback([opts] {
    int threads = init_threads(opts->threads);
    auto device = parse_device(opts->device);
    auto blas = detect_blas();
    std::cout << "edm " << EDM_VERSION << "\n"
              << "libtorch " << TORCH_VERSION << "\n"
              << "device " << device.str() << "\n"
              << "cuda "
              << (torch::cuda::is_available() ? std::to_string(torch::cuda::device_count()) + " device(s)"
                                              : "not available")
              << "\n"
              << "threads " << threads << "\n"
              << "bfloat16 " << bfloat16_support(device) << "\n"
              << "blas " << blas.name << (blas.library.empty() ? "" : " [" + blas.library + "]") << "\n";
    warn_if_slow_blas();
  });
}

}  // namespace edm::cli
