// Fused element-wise kernels around the bfloat16 products of a CPU network.
//
// In the CPU's mixed precision (nn/product_dtype.h) every product is framed
// by element-wise passes in float32: group norm, SiLU and a cast to bfloat16
// before a convolution, a cast back and the bias after it. LibTorch 1.13
// runs each as its own pass over the activations, which costs a small
// network more than its products. These kernels do each frame in one pass
// (AVX-512), with autograd, and give the same numbers: the cast back and the
// bias exactly, group norm + SiLU to within one bfloat16 rounding.
#pragma once
#include <torch/torch.h>

namespace edm::networks {

// Whether this CPU runs the kernels (AVX-512F, BW and VL; every CPU with
// bfloat16 arithmetic has them) and they are enabled. Where not, the layers
// use LibTorch's ops.
bool bf16_kernels_available();

// On by default; benchmarks turn them off to measure what they save.
void set_bf16_kernels_enabled(bool enabled);

// The bfloat16 side of each frame is stored channels-last (NHWC strides on
// a [N, C, H, W] shape): oneDNN's bfloat16 convolutions read and write that
// layout as it is, where NCHW costs them a reorder on each side.

// silu(group_norm(x)) rounded to bfloat16, for float32 x [N, C, ...], as
// torch::silu(torch::group_norm(x, groups, gamma, beta, eps)).to(kBFloat16),
// stored channels-last. Differentiable in x, gamma and beta.
torch::Tensor group_norm_silu_bf16(const torch::Tensor& x, int64_t groups, const torch::Tensor& gamma,
                                   const torch::Tensor& beta, double eps);

// x [N, C, H, W] as bfloat16 stored channels-last: float32 x is rounded as
// x.to(kBFloat16) would. Differentiable; the gradient comes back contiguous.
torch::Tensor to_bf16_channels_last(const torch::Tensor& x);

// y.to(kFloat32) + bias broadcast over channel dimension 1, for bfloat16 y
// [N, C, ...] contiguous or channels-last and float32 bias [C] (or none):
// bit for bit the two ops it replaces, contiguous. Differentiable in y and
// bias; y's gradient comes in y's layout.
torch::Tensor bf16_to_float_add_bias(const torch::Tensor& y, const torch::Tensor& bias);

}  // namespace edm::networks
