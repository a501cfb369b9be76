// The bfloat16 convolutions of a CPU network called on oneDNN directly, with
// each shape's primitives made once and kept.
//
// LibTorch 1.13 reaches the same oneDNN kernels through ideep, which sets
// each call up again (descriptors, oneDNN memory objects, allocations) and
// reorders the weights in and the weight gradient out each time; with the
// weight's cast to bfloat16 and the gradient's cast back, that is a fixed
// cost of about 0.15 ms per convolution, forward and backward, which a small
// network pays dozens of times a step. Here the float32 weight goes to
// oneDNN's layout in one reorder that also rounds it, and the weight gradient
// comes back in float32 (oneDNN accumulates it in float32; LibTorch rounded
// it to bfloat16 on the way).
#pragma once
#include <torch/torch.h>

namespace edm::networks {

// Whether this build has oneDNN's headers and the CPU runs its bfloat16
// convolutions (AVX512_BF16 or AMX), and the path is enabled.
bool dnnl_conv_available();
// On by default; benchmarks turn it off to measure what it saves.
void set_dnnl_conv_enabled(bool on);

// conv2d(x, weight.to(kBFloat16), stride 1, padding weight.size(-1) / 2), no
// bias, for bfloat16 x [N, C, H, W] stored channels-last and a float32
// weight [O, C, k, k] with odd k: the output bfloat16, channels-last, as
// LibTorch's; differentiable in x and weight (the weight's gradient float32).
torch::Tensor dnnl_conv2d_bf16(const torch::Tensor& x, const torch::Tensor& weight);

}  // namespace edm::networks
