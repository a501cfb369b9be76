#include "edm/dist/grad_reducer.h"

#include <algorithm>

#include "edm/core/error.h"

namespace edm::dist {

int64_t default_bucket_bytes(const std::vector<torch::Tensor>& params) {
  int64_t total = 0;
  for (const auto& p : params) total += p.numel() * p.element_size();
  return std::clamp<int64_t>(total / 4, 1 << 20, 25 << 20);
}

GradReducer::GradReducer(const World& world, std::vector<torch::Tensor> params, int64_t bucket_bytes)
    : world_(world), params_(std::move(params)) {
  bucket_of_.resize(params_.size());
  offset_of_.resize(params_.size());
  // Reverse order; a bucket holds one dtype on one device.
  std::vector<int64_t> numel;
  int64_t bytes = 0;
  for (size_t k = params_.size(); k-- > 0;) {
    const auto& p = params_[k];
    const bool fits = !buckets_.empty() && bytes < bucket_bytes &&
                      params_[buckets_.back().params.front()].scalar_type() == p.scalar_type() &&
                      params_[buckets_.back().params.front()].device() == p.device();
    if (!fits) {
      buckets_.emplace_back();
      numel.push_back(0);
      bytes = 0;
    }
    bucket_of_[k] = buckets_.size() - 1;
    offset_of_[k] = numel.back();
    buckets_.back().params.push_back(k);
    numel.back() += p.numel();
    bytes += p.numel() * p.element_size();
  }
  for (size_t b = 0; b < buckets_.size(); ++b) {
    const auto& p = params_[buckets_[b].params.front()];
    buckets_[b].flat = torch::zeros({numel[b]}, p.options().requires_grad(false));
  }
  present_ = torch::zeros({static_cast<int64_t>(params_.size())}, torch::TensorOptions().device(world_.device()));
  for (size_t k = 0; k < params_.size(); ++k)
    hooks_.push_back(params_[k].register_hook([this, k](const torch::Tensor& grad) { on_grad(k, grad); }));
}

GradReducer::~GradReducer() {
  for (size_t k = 0; k < params_.size(); ++k) params_[k].remove_hook(hooks_[k]);
}

void GradReducer::arm() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& b : buckets_) {
    b.flat.zero_();
    b.pending = b.params.size();
    b.wait = nullptr;
  }
  present_.zero_();
  next_ = 0;
  armed_ = true;
}

void GradReducer::on_grad(size_t k, const torch::Tensor& grad) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_) return;
  torch::NoGradGuard no_grad;
  auto& b = buckets_[bucket_of_[k]];
  auto slot = b.flat.narrow(0, offset_of_[k], params_[k].numel()).view_as(params_[k]);
  // The hook sees this backward's gradient before it is added to .grad, which
  // still holds the earlier micro-batches' sum.
  const auto& acc = params_[k].grad();
  if (acc.defined())
    torch::add_out(slot, acc, grad);
  else
    slot.copy_(grad);
  present_[static_cast<int64_t>(k)] = 1;
  --b.pending;
  start_ready_buckets();
}

void GradReducer::start_ready_buckets() {
  while (next_ < buckets_.size() && buckets_[next_].pending == 0) {
    buckets_[next_].wait = world_.start_all_reduce_sum(buckets_[next_].flat);
    ++next_;
  }
}

void GradReducer::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_) return;
  armed_ = false;
  // Parameters without a gradient on this rank contribute zeros.
  for (auto& b : buckets_) b.pending = 0;
  start_ready_buckets();
  for (auto& b : buckets_) b.wait();
  world_.all_reduce_sum(present_);
  torch::NoGradGuard no_grad;
  auto any = present_.to(torch::kCPU, torch::kFloat32).contiguous();
  auto got = any.accessor<float, 1>();
  const double n = world_.size();
  for (size_t k = 0; k < params_.size(); ++k) {
    auto& p = params_[k];
    if (got[static_cast<int64_t>(k)] == 0) continue;
    auto mean = buckets_[bucket_of_[k]].flat.narrow(0, offset_of_[k], p.numel()).view_as(p) / n;
    if (p.grad().defined())
      p.mutable_grad().copy_(mean);
    else
      p.mutable_grad() = mean;
  }
}

}  // namespace edm::dist
