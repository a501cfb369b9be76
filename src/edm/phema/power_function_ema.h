// Power-function EMAs of a set of named tensors during training (EDM2's
// phema.py): one averaged copy per std, updated after every step so that
// each keeps the profile of its std at any time. Buffers are not averaged;
// get() takes them from the tracked tensors.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace edm {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

class PowerFunctionEMA {
 public:
  // `params` and `buffers` are the live tensors of the network (views that
  // follow its updates); every EMA starts as a copy of `params`.
  PowerFunctionEMA(NamedTensors params, NamedTensors buffers, std::vector<double> stds);

  // After a step of `batch_size` images that brought the total to cur_nimg:
  // p_ema.lerp_(p_net, 1 - beta), the reference's form of the update.
  void update(int64_t cur_nimg, int64_t batch_size);
  // Every EMA back to the current parameters.
  void reset();

  const std::vector<double>& stds() const { return stds_; }
  // EMA i: its parameters and the current buffers (copies), by name.
  std::map<std::string, torch::Tensor> get(size_t i) const;
  // EMA i's averaged parameters, by name (live: for saving and restoring state).
  std::map<std::string, torch::Tensor> averaged(size_t i) const;
  // Restores EMA i's parameters; throws edm::Error naming a missing or mis-shaped tensor.
  void load(size_t i, const std::map<std::string, torch::Tensor>& tensors, const std::string& where);

 private:
  NamedTensors params_, buffers_;
  std::vector<double> stds_;
  std::vector<std::vector<torch::Tensor>> emas_;  // [std][param]
};

}  // namespace edm
