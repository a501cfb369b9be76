#include "edm/train/loader.h"

#include "edm/core/rng.h"
#include "edm/io/image.h"

namespace edm {

torch::Tensor Loader::epoch_order(int64_t epoch) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (epoch != cached_epoch_) {
    auto gen = seed_generator(seed_ * 1000003ull + static_cast<uint64_t>(epoch));
    cached_order_ = at::randperm(data_.size(), gen, torch::TensorOptions().dtype(torch::kInt64));
    cached_epoch_ = epoch;
  }
  return cached_order_;
}

Batch Loader::get(int64_t start, int64_t count) {
  const int64_t n = data_.size();
  std::vector<int64_t> idx(count);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t k = start + i;
    idx[i] = epoch_order(k / n)[k % n].item<int64_t>();
  }
  auto sel = torch::tensor(idx, torch::kInt64);
  Batch b;
  b.images = data_.images.index_select(0, sel);
  // Pixels map to [-1, 1]; latents (edm train --latent) are already normalised.
  b.images = b.images.scalar_type() == torch::kUInt8 ? from_uint8(b.images) : b.images;
  if (data_.labels.defined()) b.labels = data_.labels.index_select(0, sel);
  return b;
}

void Loader::prefetch(int64_t start, int64_t count) {
  next_start_ = start;
  next_count_ = count;
  next_ = std::async(std::launch::async, [this, start, count] { return get(start, count); });
}

Batch Loader::take(int64_t start, int64_t count) {
  if (next_.valid() && next_start_ == start && next_count_ == count) return next_.get();
  if (next_.valid()) next_.wait();
  return get(start, count);
}

}  // namespace edm
