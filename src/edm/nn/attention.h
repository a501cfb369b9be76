// Attention weights softmax(q^T k / sqrt(c)) computed in float32 whatever the
// activations' dtype, with the result (and the gradients) in the inputs'
// dtype, so fp16 networks keep fp16 memory use without fp16 softmax overflow.
#pragma once
#include <torch/torch.h>

namespace edm::networks {

// q [N,C,Q], k [N,C,K] -> w [N,Q,K].
torch::Tensor attention_weights(const torch::Tensor& q, const torch::Tensor& k);

}  // namespace edm::networks
