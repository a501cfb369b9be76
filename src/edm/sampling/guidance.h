// Classifier-free guidance (Ho & Salimans 2022) as a denoiser:
// D = D_uncond + w (D_cond - D_uncond). The unconditional estimate is the same
// network with no class labels (trained with label dropout).
#pragma once
#include <memory>

#include "edm/core/forwarding_denoiser.h"

namespace edm {

class GuidedDenoiser : public ForwardingDenoiser<Denoiser> {
 public:
  GuidedDenoiser(std::shared_ptr<Denoiser> net, double w) : ForwardingDenoiser(std::move(net)), w_(w) {}

  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& class_labels = {},
                        const torch::Tensor& augment_labels = {}) override {
    auto uncond = inner_->denoise(x, sigma, {}, augment_labels).to(torch::kFloat64);
    if (!class_labels.defined() || w_ == 0) return uncond;
    auto cond = inner_->denoise(x, sigma, class_labels, augment_labels).to(torch::kFloat64);
    return uncond + w_ * (cond - uncond);
  }
  torch::Device device() const override { return inner_->device(); }

 private:
  double w_;
};

}  // namespace edm
