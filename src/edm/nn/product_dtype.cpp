#include "edm/nn/product_dtype.h"

namespace edm::networks {

namespace {
thread_local torch::ScalarType current = torch::kFloat32;
}

ProductDtypeGuard::ProductDtypeGuard(torch::ScalarType dtype) : previous_(current) { current = dtype; }
ProductDtypeGuard::~ProductDtypeGuard() { current = previous_; }

torch::ScalarType product_dtype(const torch::Tensor& x) {
  return x.scalar_type() == torch::kFloat32 ? current : x.scalar_type();
}

}  // namespace edm::networks
