// A module's parameters in one contiguous buffer, each parameter a view of
// it, so that an element-wise update of them is a few operations, not a few
// per tensor (the EMA: one over the buffer; Adam: one per formula over runs
// of it): a small network has hundreds of small tensors, and every operation
// has a fixed cost of its own.
#pragma once
#include <torch/torch.h>

#include <vector>

namespace edm {

// Moves the parameters of `module` into one buffer, values unchanged, and
// returns it; does nothing and returns an undefined tensor where they differ
// in dtype or device. Call it after the module is on its device: moving it
// again gives every parameter storage of its own.
torch::Tensor flatten_parameters(torch::nn::Module& module);

// The buffer `params` tile in order, end to end from its start (as
// flatten_parameters leaves them), or an undefined tensor where they do not.
torch::Tensor flat_buffer(const std::vector<torch::Tensor>& params);

}  // namespace edm
