#include "edm/train/adam.h"

#include <cmath>

#include "edm/core/error.h"

namespace edm {

Adam::Adam(std::vector<std::pair<std::string, torch::Tensor>> params, double beta1, double beta2, double eps)
    : params_(std::move(params)), beta1_(beta1), beta2_(beta2), eps_(eps) {
  for (const auto& [name, p] : params_) {
    m_.push_back(torch::zeros_like(p));
    v_.push_back(torch::zeros_like(p));
  }
}

namespace {

std::vector<std::pair<std::string, torch::Tensor>> named_parameters(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> params;
  for (const auto& p : module.named_parameters()) params.emplace_back(p.key(), p.value());
  return params;
}

}  // namespace

Adam::Adam(const torch::nn::Module& module, double beta1, double beta2, double eps)
    : Adam(named_parameters(module), beta1, beta2, eps) {}

nlohmann::json Adam::hyperparameters() const { return {{"beta1", beta1_}, {"beta2", beta2_}, {"eps", eps_}}; }

void force_finite_gradients(const std::vector<torch::Tensor>& params, double inf_value) {
  torch::NoGradGuard no_grad;
  for (auto p : params)
    if (p.grad().defined()) torch::nan_to_num_out(p.mutable_grad(), p.mutable_grad(), 0.0, inf_value, -inf_value);
}

void Adam::step(double lr) {
  torch::NoGradGuard no_grad;
  ++step_;
  const double bias1 = 1 - std::pow(beta1_, static_cast<double>(step_));
  const double bias2 = 1 - std::pow(beta2_, static_cast<double>(step_));
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i].second;
    const auto& g = p.grad();
    if (!g.defined()) continue;
    m_[i].mul_(beta1_).add_(g, 1 - beta1_);
    v_[i].mul_(beta2_).addcmul_(g, g, 1 - beta2_);
    // PyTorch's order of operations: denom = sqrt(v) / sqrt(bias2) + eps.
    auto denom = (v_[i].sqrt() / std::sqrt(bias2)).add_(eps_);
    p.addcdiv_(m_[i], denom, -lr / bias1);
  }
}

std::map<std::string, torch::Tensor> Adam::state() const {
  std::map<std::string, torch::Tensor> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out["m." + params_[i].first] = m_[i];
    out["v." + params_[i].first] = v_[i];
  }
  return out;
}

void Adam::load_state(const std::map<std::string, torch::Tensor>& state, int64_t steps) {
  for (size_t i = 0; i < params_.size(); ++i) {
    for (auto [prefix, dst] : {std::pair{"m.", &m_[i]}, {"v.", &v_[i]}}) {
      const std::string key = prefix + params_[i].first;
      auto it = state.find(key);
      if (it == state.end()) throw Error("training state has no optimizer moment " + key);
      if (!it->second.sizes().equals(dst->sizes()))
        throw Error("optimizer moment " + key + " has shape " + c10::str(it->second.sizes()) + ", expected " +
                    c10::str(dst->sizes()));
      dst->copy_(it->second);
    }
  }
  step_ = steps;
}

}  // namespace edm
