// Batches of training images in an order that is a pure function of the seed:
// epoch e is a permutation drawn from a generator seeded with (seed, e), and
// the i-th image the run consumes is element i mod N of epoch i / N. A run
// resumed at any image count, with any number of processes, sees the same
// images as one that never stopped. The next batch is gathered in the
// background while the current one trains.
#pragma once
#include <torch/torch.h>

#include <future>

#include "edm/data/dataset.h"

namespace edm {

struct Batch {
  torch::Tensor images;  // float32 [n,C,H,W] in [-1, 1] (or normalised latents)
  torch::Tensor labels;  // int64 [n], undefined without labels
};

class Loader {
 public:
  Loader(const Dataset& data, uint64_t seed) : data_(data), seed_(seed) {}
  // Images [start, start + count) of the run's infinite sequence.
  Batch get(int64_t start, int64_t count);
  // get() of the next range, started now and waited for by take().
  void prefetch(int64_t start, int64_t count);
  Batch take(int64_t start, int64_t count);

 private:
  torch::Tensor epoch_order(int64_t epoch);
  const Dataset& data_;
  uint64_t seed_;
  int64_t cached_epoch_ = -1;
  torch::Tensor cached_order_;
  std::mutex mutex_;
  std::future<Batch> next_;
  int64_t next_start_ = -1, next_count_ = -1;
};

}  // namespace edm
