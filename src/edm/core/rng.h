// Per-seed random numbers drawn exactly as the reference draws them, so that a
// seed gives the same latents and noise whatever the batch it is in.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace edm {

// LibTorch's CPU generator seeded with seed mod 2^32 (torch.Generator().manual_seed).
at::Generator seed_generator(uint64_t seed);

// Parses a seed list as the reference does: "0-63", "1,2,5-10". Throws
// edm::UsageError on malformed input, descending ranges or values out of range.
std::vector<uint64_t> parse_seed_list(const std::string& text);

// One generator per seed, drawn from in lock step: every draw of shape `shape`
// (per item) stacks one sample from each generator along a new dim 0. Samples
// are always drawn on the CPU and moved to `device`.
class SeedBatch {
 public:
  explicit SeedBatch(const std::vector<uint64_t>& seeds);
  size_t size() const { return gens_.size(); }
  torch::Tensor randn(at::IntArrayRef shape, torch::ScalarType dtype, torch::Device device);
  torch::Tensor randint(int64_t high, torch::Device device);  // [N] int64 in [0, high)
  at::Generator& generator(size_t i) { return gens_[i]; }

 private:
  std::vector<at::Generator> gens_;
};

}  // namespace edm
