// Adam (Kingma & Ba) with PyTorch's update rule, its moments held by name so
// that a training state stores and restores them exactly.
#pragma once
#include <torch/torch.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace edm {

// Replaces NaN by 0 and +-Inf by +-inf_value in every defined gradient, in
// place, so that one bad batch cannot poison the weights (training_loop.py:
// NVlabs/edm uses 1e5, NVlabs/edm2 0).
void force_finite_gradients(const std::vector<torch::Tensor>& params, double inf_value);

class Adam {
 public:
  Adam(std::vector<std::pair<std::string, torch::Tensor>> params, double beta1 = 0.9, double beta2 = 0.999,
       double eps = 1e-8);
  // Every parameter of `module`, under its state_dict name.
  explicit Adam(const torch::nn::Module& module, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8);
  // One update with learning rate lr from the parameters' .grad(); with
  // inf_value, force_finite_gradients(inf_value) first.
  void step(double lr, std::optional<double> inf_value = std::nullopt);
  int64_t steps() const { return step_; }
  // {"beta1", "beta2", "eps"}, stored with a training state.
  nlohmann::json hyperparameters() const;

  // Moments as named tensors ("m.<name>", "v.<name>") plus the step count.
  std::map<std::string, torch::Tensor> state() const;
  // Throws edm::Error naming a missing or mis-shaped moment.
  void load_state(const std::map<std::string, torch::Tensor>& state, int64_t steps);

 private:
  // Whether every parameter has a gradient and still tiles flat_p_.
  bool tiled_with_gradients() const;
  // The step over the buffer in one pass (update_kernels.h), where the
  // CPU and the gradients allow; false where not.
  bool step_in_one_pass(double lr, double bias1, double bias2, std::optional<double> inf_value);
  // PyTorch's Adam update of p (m, v its moments) from gradient g, in place.
  void update(torch::Tensor p, const torch::Tensor& g, torch::Tensor m, torch::Tensor v, double lr, double bias1,
              double bias2) const;

  std::vector<std::pair<std::string, torch::Tensor>> params_;
  std::vector<torch::Tensor> m_, v_;  // views of m_flat_, v_flat_ where the parameters tile one buffer
  // The parameters' buffer (flatten_parameters) and the moments laid out
  // alike, or undefined: then a step goes tensor by tensor.
  torch::Tensor flat_p_, m_flat_, v_flat_;
  // Consecutive parameters [first, last] at flat_p_[offset, offset + numel).
  struct Run {
    size_t first, last;
    int64_t offset, numel;
  };
  static constexpr int64_t kRunNumel = 1 << 18;  // 1 MiB of float32: a core's cache
  std::vector<Run> runs_;
  torch::Tensor g_run_;  // a run's gradients, gathered
  double beta1_, beta2_, eps_;
  int64_t step_ = 0;
};

}  // namespace edm
