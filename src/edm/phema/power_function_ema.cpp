#include "edm/phema/power_function_ema.h"

#include "edm/core/error.h"
#include "edm/phema/power_function.h"

namespace edm {

PowerFunctionEMA::PowerFunctionEMA(NamedTensors params, NamedTensors buffers, std::vector<double> stds)
    : params_(std::move(params)), buffers_(std::move(buffers)), stds_(std::move(stds)) {
  for (double s : stds_)
    if (!valid_std(s)) throw UsageError("EMA std " + std::to_string(s) + " is out of range (0, 0.289)");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < stds_.size(); ++i) {
    std::vector<torch::Tensor> copies;
    for (const auto& p : params_) copies.push_back(p.second.detach().clone());
    emas_.push_back(std::move(copies));
  }
}

void PowerFunctionEMA::update(int64_t cur_nimg, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < stds_.size(); ++i) {
    const double beta = power_function_beta(stds_[i], static_cast<double>(cur_nimg), static_cast<double>(batch_size));
    for (size_t k = 0; k < params_.size(); ++k) emas_[i][k].lerp_(params_[k].second.detach(), 1 - beta);
  }
}

void PowerFunctionEMA::reset() {
  torch::NoGradGuard no_grad;
  for (auto& ema : emas_)
    for (size_t k = 0; k < params_.size(); ++k) ema[k].copy_(params_[k].second.detach());
}

std::map<std::string, torch::Tensor> PowerFunctionEMA::get(size_t i) const {
  std::map<std::string, torch::Tensor> out;
  for (size_t k = 0; k < params_.size(); ++k) out[params_[k].first] = emas_.at(i)[k].clone();
  for (const auto& b : buffers_) out[b.first] = b.second.detach().clone();
  return out;
}

std::map<std::string, torch::Tensor> PowerFunctionEMA::averaged(size_t i) const {
  std::map<std::string, torch::Tensor> out;
  for (size_t k = 0; k < params_.size(); ++k) out[params_[k].first] = emas_.at(i)[k];
  return out;
}

void PowerFunctionEMA::load(size_t i, const std::map<std::string, torch::Tensor>& tensors, const std::string& where) {
  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < params_.size(); ++k) {
    const auto& name = params_[k].first;
    auto it = tensors.find(name);
    if (it == tensors.end()) throw Error(where + ": missing tensor '" + name + "'");
    if (!it->second.sizes().equals(emas_.at(i)[k].sizes()))
      throw Error(where + ": tensor '" + name + "' has shape " + c10::str(it->second.sizes()) + ", expected " +
                  c10::str(emas_[i][k].sizes()));
    emas_[i][k].copy_(it->second);
  }
}

}  // namespace edm
