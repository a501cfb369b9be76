#include "edm/nn/product_dtype.h"

namespace edm::networks {

namespace {
thread_local torch::ScalarType current = torch::kFloat32;
thread_local double flops = 0;
}  // namespace

void count_product_flops(const torch::Tensor& y, double per_output) {
  flops += static_cast<double>(y.numel()) * per_output;
}
double product_flops_counted() { return flops; }
void reset_product_flops() { flops = 0; }

ProductDtypeGuard::ProductDtypeGuard(torch::ScalarType dtype) : previous_(current) { current = dtype; }
ProductDtypeGuard::~ProductDtypeGuard() { current = previous_; }

torch::ScalarType product_dtype(const torch::Tensor& x) {
  return x.scalar_type() == torch::kFloat32 ? current : x.scalar_type();
}

torch::ScalarType activation_dtype(const torch::Tensor& x) {
  return x.scalar_type() == torch::kBFloat16 && current == torch::kBFloat16 ? torch::kFloat32 : x.scalar_type();
}

}  // namespace edm::networks
