// The models a server offers, each loaded once, run one request at a time
// with a bounded queue of waiting requests.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "edm/core/denoiser.h"

namespace edm::serve {

struct Model {
  std::string name, path, sha256;  // name: the file name, unique among the models
  std::shared_ptr<Denoiser> net;
  std::mutex run;  // one generation at a time
  std::atomic<int> waiting{0};
};

class Models {
 public:
  // Loads every file; throws edm::Error naming a file that does not load, or
  // edm::UsageError when two files have the same name.
  Models(const std::vector<std::string>& paths, torch::Device device);
  // The model called `name` ("" when there is only one); throws edm::UsageError.
  Model& find(const std::string& name);
  // [{"name", "resolution", "channels", "label_dim", "sigma_min", "sigma_max"}, ...]
  nlohmann::json describe() const;
  torch::Device device() const { return device_; }

 private:
  std::vector<std::unique_ptr<Model>> models_;
  torch::Device device_;
};

// Holds a model's run lock for one request; throws edm::Error when
// `max_waiting` requests already wait for it.
class RunSlot {
 public:
  RunSlot(Model& m, int max_waiting);
  ~RunSlot() = default;

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace edm::serve
