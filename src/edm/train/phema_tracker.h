// The training side of post-hoc EMA: power-function EMAs of the network
// (--ema-std), written as network-snapshot-<kimg:07d>-<std:.3f>.safetensors
// beside the run's other snapshots, and carried across a resume by a file
// beside each training state.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "edm/nn/precond.h"
#include "edm/phema/power_function_ema.h"

namespace edm {

class PhemaTracker {
 public:
  PhemaTracker(networks::PrecondImpl& net, std::vector<double> stds);

  // After the step that brought the run to cur_nimg images.
  void update(int64_t cur_nimg, int64_t batch_size) { ema_.update(cur_nimg, batch_size); }
  // One snapshot per std in `dir`.
  void save_snapshots(const std::string& dir, int64_t nimg, const nlohmann::json& config) const;

  // The EMAs beside a training state (<state>.phema.safetensors) and back.
  static std::string state_path(const std::string& train_state_path);
  void save_state(const std::string& train_state_path) const;
  // Throws edm::Error when the file is missing or holds other stds.
  void load_state(const std::string& train_state_path);

 private:
  PowerFunctionEMA ema_;
};

}  // namespace edm
