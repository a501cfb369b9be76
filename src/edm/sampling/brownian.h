// A Brownian motion W(sigma) per sample, built as a Brownian tree (the
// Brownian bridge refined by bisection, every midpoint drawn from a key and
// the node's place in the tree): any set of queries sees the same path, so a
// sample's noise is one path whatever the number of steps.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "edm/sampling/sampler.h"

namespace edm {

class BrownianTree {
 public:
  // One path per key on [t0, t1] (W(t0) = 0), each of `sample_shape`.
  BrownianTree(std::vector<uint64_t> keys, std::vector<int64_t> sample_shape, double t0, double t1);
  // W(t) for every key, [N, sample_shape...] float64; t is clamped to [t0, t1].
  torch::Tensor at(double t) const;
  // (W(b) - W(a)) / sqrt(|b - a|): standard normal per element.
  torch::Tensor normalized_increment(double a, double b) const;

 private:
  void path_at(uint64_t key, double t, double* out) const;
  std::vector<uint64_t> keys_;
  std::vector<int64_t> shape_;
  int64_t numel_;
  double t0_, t1_;
};

// The tree keys of a batch: the bits of each sample's first draw from its
// own noise stream (which is per seed), so a seed has one key.
std::vector<uint64_t> brownian_keys(const NoiseFn& randn_like, const torch::Tensor& like);

// Standard normals for (key, node), element i of n: a counter-based
// generator (SplitMix64 and Box-Muller), the same on every machine.
void keyed_normals(uint64_t key, uint64_t node, double* out, int64_t n);

}  // namespace edm
