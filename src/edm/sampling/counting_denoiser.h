// A denoiser that counts the evaluations made through it: NFE per image is
// rows / images (the adaptive sampler's NFE is only known afterwards).
#pragma once
#include <memory>

#include "edm/core/forwarding_denoiser.h"

namespace edm {

class CountingDenoiser : public ForwardingDenoiser<Denoiser> {
 public:
  explicit CountingDenoiser(std::shared_ptr<Denoiser> net) : ForwardingDenoiser(std::move(net)) {}

  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& class_labels = {},
                        const torch::Tensor& augment_labels = {}) override {
    rows_ += x.size(0);
    return inner_->denoise(x, sigma, class_labels, augment_labels);
  }
  std::pair<torch::Tensor, torch::Tensor> denoise_with_variance(const torch::Tensor& x, const torch::Tensor& sigma,
                                                                const torch::Tensor& class_labels = {}) override {
    rows_ += x.size(0);
    return inner_->denoise_with_variance(x, sigma, class_labels);
  }
  // Samples evaluated so far (one per row of every call).
  int64_t rows() const { return rows_; }

 private:
  int64_t rows_ = 0;
};

}  // namespace edm
