#include "edm/train/adam.h"

#include <cmath>

#include "edm/core/error.h"
#include "edm/train/flat_params.h"
#include "edm/train/update_kernels.h"

namespace edm {

Adam::Adam(std::vector<std::pair<std::string, torch::Tensor>> params, double beta1, double beta2, double eps)
    : params_(std::move(params)), beta1_(beta1), beta2_(beta2), eps_(eps) {
  std::vector<torch::Tensor> tensors;
  for (const auto& [name, p] : params_) tensors.push_back(p);
  flat_p_ = flat_buffer(tensors);
  if (!flat_p_.defined()) {
    for (const auto& p : tensors) {
      m_.push_back(torch::zeros_like(p));
      v_.push_back(torch::zeros_like(p));
    }
    return;
  }
  // The moments tile buffers as the parameters do.
  m_flat_ = torch::zeros_like(flat_p_), v_flat_ = torch::zeros_like(flat_p_);
  for (auto& p : tensors) {
    m_.push_back(m_flat_.narrow(0, p.storage_offset(), p.numel()).view(p.sizes()));
    v_.push_back(v_flat_.narrow(0, p.storage_offset(), p.numel()).view(p.sizes()));
  }
  // Runs of small parameters, each updated at once from its gradients copied
  // into g_run_ (bounded, so that the update needs no sixth copy of the
  // network); a large parameter is a run of its own, updated from its gradient.
  int64_t longest = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const int64_t n = tensors[i].numel();
    if (runs_.empty() || n >= kRunNumel || runs_.back().numel + n > kRunNumel)
      runs_.push_back({i, i, tensors[i].storage_offset(), 0});
    auto& run = runs_.back();
    run.last = i, run.numel += n;
    if (run.last > run.first) longest = std::max(longest, run.numel);
  }
  g_run_ = torch::empty({longest}, flat_p_.options());
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

void Adam::step(double lr, std::optional<double> inf_value) {
  torch::NoGradGuard no_grad;
  ++step_;
  const double bias1 = 1 - std::pow(beta1_, static_cast<double>(step_));
  const double bias2 = 1 - std::pow(beta2_, static_cast<double>(step_));
  const bool tiled = tiled_with_gradients();
  if (tiled && step_in_one_pass(lr, bias1, bias2, inf_value)) return;
  if (inf_value) {
    std::vector<torch::Tensor> params;
    for (const auto& [name, p] : params_) params.push_back(p);
    force_finite_gradients(params, *inf_value);
  }
  if (tiled) {
    for (const auto& run : runs_) {
      auto g = params_[run.first].second.grad().reshape({-1});
      if (run.last > run.first) {
        std::vector<torch::Tensor> grads;
        for (size_t i = run.first; i <= run.last; ++i) grads.push_back(params_[i].second.grad().reshape({-1}));
        g = g_run_.narrow(0, 0, run.numel);
        torch::cat_out(g, grads);
      }
      update(flat_p_.narrow(0, run.offset, run.numel), g, m_flat_.narrow(0, run.offset, run.numel),
             v_flat_.narrow(0, run.offset, run.numel), lr, bias1, bias2);
    }
    return;
  }
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& g = params_[i].second.grad();
    if (g.defined()) update(params_[i].second, g, m_[i], v_[i], lr, bias1, bias2);
  }
}

void Adam::update(torch::Tensor p, const torch::Tensor& g, torch::Tensor m, torch::Tensor v, double lr, double bias1,
                  double bias2) const {
  m.mul_(beta1_).add_(g, 1 - beta1_);
  v.mul_(beta2_).addcmul_(g, g, 1 - beta2_);
  // PyTorch's order of operations: denom = sqrt(v) / sqrt(bias2) + eps.
  auto denom = (v.sqrt() / std::sqrt(bias2)).add_(eps_);
  p.addcdiv_(m, denom, -lr / bias1);
}

bool Adam::step_in_one_pass(double lr, double bias1, double bias2, std::optional<double> inf_value) {
  if (!update_kernels_available() || !flat_p_.is_cpu() || flat_p_.scalar_type() != torch::kFloat32) return false;
  std::vector<torch::Tensor> grads;
  std::vector<int64_t> offsets;
  for (const auto& [name, p] : params_) {
    const auto& g = p.grad();
    if (!g.is_contiguous() || g.scalar_type() != torch::kFloat32 || !g.is_cpu()) return false;
    grads.push_back(g), offsets.push_back(p.storage_offset());
  }
  adam_update_flat(flat_p_, m_flat_, v_flat_, grads, offsets, {beta1_, beta2_, eps_, lr, bias1, bias2}, inf_value);
  return true;
}

bool Adam::tiled_with_gradients() const {
  if (!flat_p_.defined()) return false;
  std::vector<torch::Tensor> tensors;
  for (const auto& [name, p] : params_) {
    if (!p.grad().defined()) return false;  // left as it is: the per-tensor path
    tensors.push_back(p);
  }
  // A parameter moved out of the buffer no longer tiles it.
  const auto buffer = flat_buffer(tensors);
  return buffer.defined() && buffer.storage().is_alias_of(flat_p_.storage());
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
