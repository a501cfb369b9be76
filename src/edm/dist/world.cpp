#include "edm/dist/world.h"

#include <csignal>
#include <cstdlib>
#include <string>

#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "edm/core/error.h"

namespace edm::dist {
namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < 0 || x > 1 << 20)
    throw UsageError(std::string("environment variable ") + name + "='" + v + "' is not a valid number");
  return static_cast<int>(x);
}

std::string env_str(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// Runs one collective and turns a peer's failure or timeout into edm::Error.
template <typename F>
void guarded(const char* what, F&& f) {
  try {
    f();
  } catch (const c10::Error& e) {
    throw Error(std::string("distributed ") + what +
                " failed (a peer process died or stopped answering): " + first_line(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    if (dynamic_cast<const Error*>(&e)) throw;
    throw Error(std::string("distributed ") + what +
                " failed (a peer process died or stopped answering): " + first_line(e.what()));
  }
}

// c10d's process groups (a ProcessGroup in LibTorch 1.x, a Backend in 2.x)
// share these calls, so one template serves Gloo and NCCL.
template <typename PG>
class C10dCollectives : public Collectives {
 public:
  C10dCollectives(c10::intrusive_ptr<PG> pg, std::chrono::milliseconds timeout)
      : pg_(std::move(pg)), timeout_(timeout) {}
  void all_reduce_sum(std::vector<torch::Tensor>& tensors) override {
    guarded("all-reduce", [&] { pg_->allreduce(tensors)->wait(timeout_); });
  }
  std::function<void()> start_all_reduce_sum(std::vector<torch::Tensor>& tensors) override {
    decltype(pg_->allreduce(tensors)) work;
    guarded("all-reduce", [&] { work = pg_->allreduce(tensors); });
    return [work, timeout = timeout_] { guarded("all-reduce", [&] { work->wait(timeout); }); };
  }
  void broadcast(std::vector<torch::Tensor>& tensors, int root) override {
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    guarded("broadcast", [&] { pg_->broadcast(tensors, opts)->wait(timeout_); });
  }
  void barrier() override {
    guarded("barrier", [&] { pg_->barrier()->wait(timeout_); });
  }

 private:
  c10::intrusive_ptr<PG> pg_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

int World::size_from_env() { return std::max(1, env_int("WORLD_SIZE", 1)); }
int World::rank_from_env() { return env_int("RANK", 0); }

World World::from_env(torch::Device device, std::chrono::milliseconds timeout) {
  World w;
  w.device_ = device;
  w.size_ = size_from_env();
  w.rank_ = rank_from_env();
  w.local_rank_ = env_int("LOCAL_RANK", w.rank_);
  if (w.rank_ >= w.size_)
    throw UsageError("RANK=" + std::to_string(w.rank_) + " is not below WORLD_SIZE=" + std::to_string(w.size_));
  if (w.size_ == 1) return w;
  // A peer that dies closes its sockets; writing to one must give EPIPE (and so
  // a clear error from the collective), not kill this process with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  const std::string addr = env_str("MASTER_ADDR", "127.0.0.1");
  const int port = env_int("MASTER_PORT", 29500);
  if (port <= 0 || port > 65535) throw UsageError("MASTER_PORT=" + std::to_string(port) + " is not a valid port");
#ifdef USE_C10D_GLOO
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(port);
  so.isServer = w.rank_ == 0;
  so.numWorkers = w.size_;
  so.waitWorkers = true;
  so.timeout = timeout;
  c10::intrusive_ptr<c10d::Store> store;
  guarded("rendezvous", [&] { store = c10::make_intrusive<c10d::TCPStore>(addr, so); });
  if (device.is_cuda()) {
#ifdef USE_C10D_NCCL
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, w.rank_, w.size_, opts);
    w.coll_ = std::make_shared<C10dCollectives<c10d::ProcessGroupNCCL>>(pg, timeout);
    return w;
#else
    throw UsageError("multi-process training on CUDA needs LibTorch built with NCCL");
#endif
  }
  auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
  // Loopback and named hosts alike: Gloo binds to the interface that reaches MASTER_ADDR.
  guarded("rendezvous", [&] {
    opts->devices.push_back(addr == "127.0.0.1" || addr == "localhost"
                                ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                : c10d::ProcessGroupGloo::createDefaultDevice());
    auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, w.rank_, w.size_, opts);
    w.coll_ = std::make_shared<C10dCollectives<c10d::ProcessGroupGloo>>(pg, timeout);
  });
  return w;
#else
  throw UsageError("this build of edm has no c10d Gloo backend (install libgloo-dev and rebuild)");
#endif
}

void World::broadcast_from_main(const std::vector<torch::Tensor>& tensors) const {
  if (!distributed()) return;
  for (const auto& t : tensors) {
    std::vector<torch::Tensor> one{t.is_contiguous() ? t : t.contiguous()};
    coll_->broadcast(one, 0);
    if (!t.is_contiguous()) t.copy_(one[0]);
  }
}

void World::all_reduce_sum(torch::Tensor& tensor) const {
  if (!distributed()) return;
  std::vector<torch::Tensor> t{tensor.contiguous()};
  coll_->all_reduce_sum(t);
  if (!t[0].is_same(tensor)) tensor.copy_(t[0]);
}

std::function<void()> World::start_all_reduce_sum(const torch::Tensor& tensor) const {
  if (!distributed()) return [] {};
  if (!tensor.is_contiguous()) throw Error("start_all_reduce_sum needs a contiguous tensor");
  std::vector<torch::Tensor> t{tensor};
  return coll_->start_all_reduce_sum(t);
}

double World::all_reduce_mean(double value) const {
  if (!distributed()) return value;
  std::vector<torch::Tensor> t{torch::tensor({value}, torch::TensorOptions().dtype(torch::kFloat64).device(device_))};
  coll_->all_reduce_sum(t);
  return t[0].item<double>() / size_;
}

void World::barrier() const {
  if (distributed()) coll_->barrier();
}

std::vector<std::vector<uint64_t>> rank_batches(const std::vector<uint64_t>& seeds, int64_t max_batch, int rank,
                                                int world_size) {
  if (seeds.empty()) return {};
  const int64_t n = static_cast<int64_t>(seeds.size());
  const int64_t num_batches = ((n - 1) / (max_batch * world_size) + 1) * world_size;
  // Like torch.tensor_split: the first n % num_batches batches get one extra.
  std::vector<std::vector<uint64_t>> out;
  int64_t start = 0;
  for (int64_t b = 0; b < num_batches; ++b) {
    int64_t len = n / num_batches + (b < n % num_batches ? 1 : 0);
    if (b % world_size == rank) out.emplace_back(seeds.begin() + start, seeds.begin() + start + len);
    start += len;
  }
  return out;
}

}  // namespace edm::dist
