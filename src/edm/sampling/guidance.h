// Classifier-free guidance (Ho & Salimans 2022) as a denoiser:
// D = D_uncond + w (D_cond - D_uncond). The unconditional estimate is the same
// network with no class labels (trained with label dropout).
#pragma once
#include <memory>

#include "edm/core/denoiser.h"

namespace edm {

class GuidedDenoiser : public Denoiser {
 public:
  GuidedDenoiser(std::shared_ptr<Denoiser> net, double w) : net_(std::move(net)), w_(w) {}

  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& class_labels = {},
                        const torch::Tensor& augment_labels = {}) override {
    auto uncond = net_->denoise(x, sigma, {}, augment_labels).to(torch::kFloat64);
    if (!class_labels.defined() || w_ == 0) return uncond;
    auto cond = net_->denoise(x, sigma, class_labels, augment_labels).to(torch::kFloat64);
    return uncond + w_ * (cond - uncond);
  }
  double sigma_min() const override { return net_->sigma_min(); }
  double sigma_max() const override { return net_->sigma_max(); }
  torch::Tensor round_sigma(const torch::Tensor& sigma) const override { return net_->round_sigma(sigma); }
  int64_t img_channels() const override { return net_->img_channels(); }
  int64_t img_resolution() const override { return net_->img_resolution(); }
  int64_t label_dim() const override { return net_->label_dim(); }
  torch::Device device() const override { return net_->device(); }

 private:
  std::shared_ptr<Denoiser> net_;
  double w_;
};

}  // namespace edm
