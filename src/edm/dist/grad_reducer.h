// Data-parallel gradient averaging overlapped with the backward pass, as
// PyTorch's DistributedDataParallel does it: parameters are grouped into
// buckets in reverse order of registration (roughly the order backward
// produces their gradients); a hook on each parameter copies its gradient
// into its bucket, and a bucket's all-reduce starts as soon as it is full,
// while backward goes on computing the layers below.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <mutex>
#include <vector>

#include "edm/dist/world.h"

namespace edm::dist {

// DDP's 25 MB buckets, but at least four buckets for small models, so that
// communication starts before backward ends; never below 1 MB.
int64_t default_bucket_bytes(const std::vector<torch::Tensor>& params);

class GradReducer {
 public:
  // `params` must outlive the reducer. Buckets hold about `bucket_bytes`.
  GradReducer(const World& world, std::vector<torch::Tensor> params, int64_t bucket_bytes);
  ~GradReducer();
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  // The next backward is the last of this step (with gradient accumulation,
  // earlier micro-batches only accumulate locally): reduce during it.
  void arm();
  // After that backward: starts what is left, waits, and leaves every .grad
  // holding the mean over ranks of the accumulated gradients. A parameter
  // that got no gradient on any rank keeps an undefined .grad, as in one
  // process. Throws edm::Error when a peer fails.
  void finish();

  size_t num_buckets() const { return buckets_.size(); }
  size_t buckets_started() const { return next_; }  // so far in this backward

 private:
  struct Bucket {
    std::vector<size_t> params;  // indices into params_
    torch::Tensor flat;          // the gradients, concatenated
    size_t pending = 0;          // gradients still to arrive in this backward
    std::function<void()> wait;  // set once its all-reduce started
  };
  void on_grad(size_t i, const torch::Tensor& grad);
  void start_ready_buckets();  // in bucket order, so every rank issues the same sequence

  const World& world_;
  std::vector<torch::Tensor> params_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_;
  std::vector<int64_t> offset_of_;
  std::vector<unsigned> hooks_;
  torch::Tensor present_;  // 1 where a parameter got a gradient on this rank
  size_t next_ = 0;        // first bucket not started
  bool armed_ = false;
  std::mutex mutex_;  // hooks may run on the autograd engine's device thread
};

}  // namespace edm::dist
