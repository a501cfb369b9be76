#include "edm/core/runtime.h"

#include <dlfcn.h>
#include <limits.h>
#include <malloc.h>
#include <stdlib.h>

#include <iostream>
#include <thread>

#include "edm/core/error.h"

namespace edm {

torch::Device parse_device(const std::string& name) {
  if (name.empty() || name == "auto") return torch::cuda::is_available() ? torch::Device("cuda") : torch::Device("cpu");
  torch::Device d(torch::kCPU);
  try {
    d = torch::Device(name);
  } catch (const std::exception&) {
    throw UsageError("unknown device '" + name + "' (expected cpu, cuda or cuda:N)");
  }
  if (d.is_cuda()) {
    if (!torch::cuda::is_available()) throw UsageError("device '" + name + "' requested but CUDA is not available");
    if (d.has_index() && d.index() >= static_cast<int>(torch::cuda::device_count()))
      throw UsageError("device '" + name + "' does not exist (" + std::to_string(torch::cuda::device_count()) +
                       " CUDA devices)");
  } else if (!d.is_cpu()) {
    throw UsageError("unsupported device '" + name + "'");
  }
  return d;
}

int init_threads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  return at::get_num_threads();
}

void retain_freed_memory() {
  const char* off = std::getenv("EDM_RETAIN_MEMORY");
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if ((off && std::string(off) == "0") ||
      (tunables && std::string(tunables).find("glibc.malloc.") != std::string::npos))
    return;
#if defined(__GLIBC__)
  // Without mmap every block comes from the heap, and without trimming the
  // heap keeps its pages: a block freed by one step is reused by the next.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
#endif
}

std::string cpu_bfloat16_isa() {
  const char* env = std::getenv("EDM_CPU_BF16");
  if (env && std::string(env) == "0") return "";
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("amx-bf16")) return "AMX-BF16";
  if (__builtin_cpu_supports("avx512bf16")) return "AVX512_BF16";
#endif
  return "";
}

BlasInfo detect_blas() {
  BlasInfo info;
  void* sym = dlsym(RTLD_DEFAULT, "dgemm_");
  Dl_info dl{};
  if (sym && dladdr(sym, &dl) && dl.dli_fname) {
    char buf[PATH_MAX];
    info.library = realpath(dl.dli_fname, buf) ? buf : dl.dli_fname;
  }
  using ConfigFn = char* (*)();
  if (auto fn = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
    info.name = std::string("OpenBLAS ") + fn();
    info.optimised = true;
  } else if (dlsym(RTLD_DEFAULT, "mkl_get_version") || dlsym(RTLD_DEFAULT, "MKL_Get_Version")) {
    info.name = "Intel MKL";
    info.optimised = true;
  } else if (info.library.find("blis") != std::string::npos || info.library.find("atlas") != std::string::npos) {
    info.name = "optimised BLAS (" + info.library + ")";
    info.optimised = true;
  } else if (!info.library.empty()) {
    info.name = "reference BLAS";
  } else {
    info.name = "none found (LibTorch built-in kernels)";
    info.optimised = true;  // MKL/oneDNN statically linked builds expose no dgemm_
  }
  return info;
}

void warn_if_slow_blas() {
  auto b = detect_blas();
  if (!b.optimised)
    std::cerr << "edm: warning: LibTorch is using the " << b.name << " (" << b.library
              << "), which is 2-3x slower; install libopenblas0-openmp\n";
}

}  // namespace edm
