// The machine's measured peak for the products networks are made of: a
// large matrix product and a 3x3 convolution, in float32 and in bfloat16,
// GFLOP/s. The fraction of it a network reaches is its efficiency.
//
//   peak_flops [--threads N] [--seconds S]
#include <chrono>
#include <cstdio>
#include <string>

#include "edm/core/runtime.h"

namespace {

using Clock = std::chrono::steady_clock;

// Seconds per call of f, after one warm-up call, over at least `seconds`.
template <class F>
double time_it(F f, double seconds) {
  f();
  int64_t n = 0;
  const auto t0 = Clock::now();
  double elapsed = 0;
  while (n < 3 || elapsed < seconds) {
    f();
    ++n;
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  return elapsed / static_cast<double>(n);
}

void run(torch::ScalarType dtype, const char* name, double seconds) {
  torch::NoGradGuard no_grad;
  const int64_t m = 2048;
  auto a = torch::randn({m, m}).to(dtype), b = torch::randn({m, m}).to(dtype);
  const double mm = 2.0 * m * m * m / time_it([&] { torch::mm(a, b); }, seconds) / 1e9;
  const int64_t n = 32, c = 256, r = 16;
  auto x = torch::randn({n, c, r, r}).to(dtype), w = torch::randn({c, c, 3, 3}).to(dtype);
  const double conv_flop = 2.0 * n * c * r * r * c * 9;
  const double conv = conv_flop / time_it([&] { torch::conv2d(x, w, {}, 1, 1); }, seconds) / 1e9;
  std::printf("%-9s %14.1f %16.1f\n", name, mm, conv);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0;
  double seconds = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--threads")
      threads = std::stoi(argv[i + 1]);
    else if (a == "--seconds")
      seconds = std::stod(argv[i + 1]);
  }
  edm::retain_freed_memory();  // as edm does
  threads = edm::init_threads(threads);
  const auto isa = edm::cpu_bfloat16_isa();
  std::printf("cpu, %d threads, bfloat16 arithmetic: %s\n", threads, isa.empty() ? "none (emulated)" : isa.c_str());
  std::printf("%-9s %14s %16s\n", "dtype", "matmul GF/s", "conv3x3 GF/s");
  run(torch::kFloat32, "float32", seconds);
  run(torch::kBFloat16, "bfloat16", seconds);
}
