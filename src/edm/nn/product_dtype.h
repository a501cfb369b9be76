// Mixed precision on a CPU: only the products in bfloat16.
//
// oneDNN runs convolutions and matrix products in bfloat16 at twice the
// float32 rate on CPUs with AVX512_BF16 or AMX, but LibTorch 1.13's
// element-wise kernels (group norm above all: 10x) are slower in bfloat16
// than in float32. So a CPU network in bfloat16 keeps float32 activations and
// runs each convolution and linear layer in bfloat16, as torch.autocast does.
// On CUDA the whole network runs in fp16/bf16 activations instead, as the
// reference (nn/layers.h).
#pragma once
#include <torch/torch.h>

namespace edm::networks {

// While alive, on this thread, products of float32 activations run in
// `dtype` (kFloat32: no change). Nests; restores the previous setting.
class ProductDtypeGuard {
 public:
  explicit ProductDtypeGuard(torch::ScalarType dtype);
  ~ProductDtypeGuard();
  ProductDtypeGuard(const ProductDtypeGuard&) = delete;
  ProductDtypeGuard& operator=(const ProductDtypeGuard&) = delete;

 private:
  torch::ScalarType previous_;
};

// The dtype a convolution or matrix product of `x` runs in: the guard's for
// float32 activations, x's own otherwise.
torch::ScalarType product_dtype(const torch::Tensor& x);

// The dtype of a layer's output for input x: float32 for a bfloat16 input
// while the guard runs products in bfloat16 (the product's input was made
// bfloat16 early, nn/bf16_kernels.h), x's own otherwise.
torch::ScalarType activation_dtype(const torch::Tensor& x);

// The floating-point operations of the products run on this thread (two per
// multiply-add, forward only), for benchmarks' GFLOP/s. Every product of
// the networks reports its own: product_flops(y, per_output) adds
// y.numel() * per_output.
void count_product_flops(const torch::Tensor& y, double per_output);
double product_flops_counted();
void reset_product_flops();

}  // namespace edm::networks
