// Post-hoc EMA reconstruction (EDM2's reconstruct_phema.py): a model with
// any EMA length, as a weighted sum of the snapshots of power-function EMAs
// written during training, tensor by tensor.
#pragma once
#include <torch/torch.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace edm {

// The tensors of one input snapshot, and a name for errors (its path).
struct PhemaInput {
  std::string where;
  std::map<std::string, torch::Tensor> tensors;
};

// Output j = sum_i coefs[i,j] * input i for every tensor not in `buffers`,
// accumulated in float32 in input order as the reference does (zero, then
// p_out += float32(p_in) * float32(coef)); buffers are copied from the last
// input. Every input must hold the same tensor names and shapes as the last
// one (edm::Error names the first that does not). coefs: [inputs, outputs].
std::vector<std::map<std::string, torch::Tensor>> reconstruct_phema(const std::vector<PhemaInput>& inputs,
                                                                    const torch::Tensor& coefs,
                                                                    const std::set<std::string>& buffers);

}  // namespace edm
