#include "edm/sampling/analytical_first_step.h"

#include <cmath>

namespace edm {

torch::Tensor analytical_slope(const torch::Tensor& x, double sigma) { return x / std::sqrt(1 + sigma * sigma); }

torch::Tensor AnalyticalFirstStep::denoise(const torch::Tensor& x, const torch::Tensor& sigma,
                                           const torch::Tensor& class_labels, const torch::Tensor& augment_labels) {
  if (!first_) return inner_->denoise(x, sigma, class_labels, augment_labels);
  first_ = false;
  // Every sample of the first call is at the same sigma_max.
  const double s = sigma.reshape({-1})[0].item<double>();
  return x - s * analytical_slope(x, s);
}

}  // namespace edm
