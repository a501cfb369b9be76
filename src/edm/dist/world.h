// Data-parallel processes on PyTorch's c10d (Gloo on CPU, NCCL on CUDA),
// configured the way torchrun configures them: RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR, MASTER_PORT from the environment.
#pragma once
#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

namespace edm::dist {

// The collective operations edm needs, whatever backend carries them.
class Collectives {
 public:
  virtual ~Collectives() = default;
  virtual void all_reduce_sum(std::vector<torch::Tensor>& tensors) = 0;  // in place, waits
  // Starts an in-place sum and returns the wait for it (which throws like the
  // blocking call); the tensors must stay alive until then.
  virtual std::function<void()> start_all_reduce_sum(std::vector<torch::Tensor>& tensors) = 0;
  virtual void broadcast(std::vector<torch::Tensor>& tensors, int root) = 0;
  virtual void barrier() = 0;
};

class World {
 public:
  World() = default;  // a single process
  // Joins the process group the environment describes (WORLD_SIZE > 1), else
  // stays single. A peer that dies or stops answering makes every collective
  // throw edm::Error within `timeout`.
  static World from_env(torch::Device device, std::chrono::milliseconds timeout);
  // What from_env will join, read without joining: a rank checks its work
  // before the rendezvous, so that a usage error is the same on every rank.
  static int size_from_env();
  static int rank_from_env();

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }
  bool is_main() const { return rank_ == 0; }
  bool distributed() const { return size_ > 1; }
  torch::Device device() const { return device_; }

  // Makes every rank hold rank 0's values.
  void broadcast_from_main(const std::vector<torch::Tensor>& tensors) const;
  double all_reduce_mean(double value) const;
  // Sums one tensor across ranks, in place (e.g. to assemble rows each rank filled).
  void all_reduce_sum(torch::Tensor& tensor) const;
  // Starts summing a contiguous tensor across ranks, in place; call the
  // returned function to wait for it (overlaps communication with compute).
  std::function<void()> start_all_reduce_sum(const torch::Tensor& tensor) const;
  void barrier() const;

 private:
  int rank_ = 0, size_ = 1, local_rank_ = 0;
  torch::Device device_ = torch::kCPU;
  std::shared_ptr<Collectives> coll_;
};

// Splits seeds into batches and deals them to ranks as the reference's
// generate.py does: the same split whatever the rank, batch i to rank i % size.
std::vector<std::vector<uint64_t>> rank_batches(const std::vector<uint64_t>& seeds, int64_t max_batch, int rank,
                                                int world_size);

}  // namespace edm::dist
