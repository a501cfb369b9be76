// The machine edm runs on: devices, threads and the BLAS LibTorch calls.
#pragma once
#include <torch/torch.h>

#include <string>

namespace edm {

// "cpu", "cuda", "cuda:N" or "" / "auto" (cuda if available, else cpu).
// Throws edm::UsageError for an unknown or unavailable device.
torch::Device parse_device(const std::string& name);

// Uses every core unless told otherwise (LibTorch may start with one thread).
// threads <= 0 means all cores. Returns the number in use.
int init_threads(int threads = 0);

// Keeps memory that tensors free in the process's heap for the next ones
// instead of handing it back to the system (glibc malloc: no mmap, no trim).
// A training step frees and reallocates the same activations each time, and
// fresh pages cost a page fault each: on a virtual machine that doubled the
// time of a small network's step. The peak stayed the same in the
// benchmarks (bench/train_throughput); memory is just not returned between
// steps. Left as glibc's default where
// EDM_RETAIN_MEMORY=0 or GLIBC_TUNABLES sets malloc options.
void retain_freed_memory();

// The CPU's bfloat16 arithmetic that oneDNN uses: "AMX-BF16", "AVX512_BF16",
// or "" where there is none (bfloat16 would then be emulated, slower than
// float32). EDM_CPU_BF16=0 in the environment reports none, to run as on
// such a CPU.
std::string cpu_bfloat16_isa();
inline bool cpu_has_bfloat16() { return !cpu_bfloat16_isa().empty(); }

struct BlasInfo {
  std::string library;  // resolved path of the library providing dgemm_
  std::string name;     // "OpenBLAS ...", "MKL", "reference BLAS", "unknown"
  bool optimised = false;
};
BlasInfo detect_blas();

// Prints a one-line warning on stderr if the loaded BLAS is not optimised.
void warn_if_slow_blas();

}  // namespace edm
