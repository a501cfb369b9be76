#include "edm/phema/reconstruct.h"

#include "edm/core/error.h"

namespace edm {

namespace {

void check_same_tensors(const std::vector<PhemaInput>& inputs) {
  const auto& last = inputs.back();
  for (const auto& in : inputs) {
    for (const auto& [name, t] : last.tensors) {
      auto it = in.tensors.find(name);
      if (it == in.tensors.end()) throw Error(in.where + ": no tensor '" + name + "' (" + last.where + " has it)");
      if (!it->second.sizes().equals(t.sizes()))
        throw Error(in.where + ": tensor '" + name + "' has shape " + c10::str(it->second.sizes()) + " but " +
                    c10::str(t.sizes()) + " in " + last.where);
    }
    for (const auto& kv : in.tensors)
      if (!last.tensors.count(kv.first)) throw Error(in.where + ": tensor '" + kv.first + "' is not in " + last.where);
  }
}

// sum_i coefs[i] * inputs[i][name] in float32, in input order.
torch::Tensor weighted_sum(const std::vector<PhemaInput>& inputs, const std::string& name,
                           const std::vector<double>& coefs) {
  auto out = torch::zeros_like(inputs.back().tensors.at(name), torch::kFloat32);
  for (size_t i = 0; i < inputs.size(); ++i)
    out.add_(inputs[i].tensors.at(name).to(torch::kFloat32).mul(static_cast<float>(coefs[i])));
  return out;
}

}  // namespace

std::vector<std::map<std::string, torch::Tensor>> reconstruct_phema(const std::vector<PhemaInput>& inputs,
                                                                    const torch::Tensor& coefs,
                                                                    const std::set<std::string>& buffers) {
  if (inputs.empty()) throw Error("post-hoc EMA: no input snapshots");
  if (coefs.dim() != 2 || coefs.size(0) != static_cast<int64_t>(inputs.size()))
    throw Error("post-hoc EMA: coefficients do not match the inputs");
  check_same_tensors(inputs);
  auto c = coefs.to(torch::kFloat64).contiguous();
  std::vector<std::map<std::string, torch::Tensor>> outs(static_cast<size_t>(c.size(1)));
  for (int64_t j = 0; j < c.size(1); ++j) {
    auto col = c.select(1, j).contiguous();
    std::vector<double> w(col.data_ptr<double>(), col.data_ptr<double>() + col.numel());
    for (const auto& [name, t] : inputs.back().tensors)
      outs[static_cast<size_t>(j)][name] = buffers.count(name) ? t.clone() : weighted_sum(inputs, name, w);
  }
  return outs;
}

}  // namespace edm
