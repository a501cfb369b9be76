// What classifier-free, classifier and autoguidance share: each moves the
// inner denoiser's estimate D and leaves everything else to it. The inner's
// learned variance (Improved DDPM) passes through unchanged, so a guided
// DDPM model keeps its own reverse-step variance, as in GLIDE and
// Dhariwal & Nichol, where guidance shifts the mean only.
#pragma once
#include "edm/core/forwarding_denoiser.h"

namespace edm {

class GuidingDenoiser : public ForwardingDenoiser<Denoiser> {
 public:
  using ForwardingDenoiser::ForwardingDenoiser;

  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& class_labels = {},
                        const torch::Tensor& augment_labels = {}) final {
    return guide(x, sigma, class_labels, augment_labels,
                 inner_->denoise(x, sigma, inner_labels(class_labels), augment_labels));
  }
  std::pair<torch::Tensor, torch::Tensor> denoise_with_variance(const torch::Tensor& x, const torch::Tensor& sigma,
                                                                const torch::Tensor& class_labels = {}) final {
    auto [D, v] = inner_->denoise_with_variance(x, sigma, inner_labels(class_labels));
    return {guide(x, sigma, class_labels, {}, D), v};
  }

 protected:
  // The labels the inner denoiser's own estimate is made with.
  virtual torch::Tensor inner_labels(const torch::Tensor& class_labels) const { return class_labels; }
  // The guided estimate, given the inner's estimate D at the same x and sigma.
  virtual torch::Tensor guide(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& class_labels,
                              const torch::Tensor& augment_labels, const torch::Tensor& D) = 0;
};

}  // namespace edm
