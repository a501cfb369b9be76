#include "edm/likelihood/dequantize.h"

#include <cmath>

namespace edm {

torch::Tensor dequantize(const torch::Tensor& pixels, const torch::Tensor& u) {
  return (pixels.to(torch::kFloat64) + u.to(torch::kFloat64)) * (2.0 / 256) - 1;
}

Nll nll_of(double density_nats, int64_t dims, bool dequantized) {
  const double offset_nats = dequantized ? static_cast<double>(dims) * kDequantizationBits * std::log(2.0) : 0;
  const double nats = density_nats + offset_nats;
  return {nats, nats / (static_cast<double>(dims) * std::log(2.0))};
}

}  // namespace edm
