#include "edm/sampling/clipped_denoiser.h"

namespace edm {

torch::Tensor ClippedDenoiser::denoise(const torch::Tensor& x, const torch::Tensor& sigma,
                                       const torch::Tensor& class_labels, const torch::Tensor& augment_labels) {
  return inner_->denoise(x, sigma, class_labels, augment_labels).clamp(-1, 1);
}

std::pair<torch::Tensor, torch::Tensor> ClippedDenoiser::denoise_with_variance(const torch::Tensor& x,
                                                                               const torch::Tensor& sigma,
                                                                               const torch::Tensor& class_labels) {
  auto [D, v] = inner_->denoise_with_variance(x, sigma, class_labels);
  return {D.clamp(-1, 1), v};
}

}  // namespace edm
