// Classifier-free guidance (Ho & Salimans 2022) as a denoiser:
// D = D_uncond + w (D_cond - D_uncond). The unconditional estimate is the same
// network with no class labels (trained with label dropout). Outside an
// optional guidance interval the conditional estimate is used alone.
#pragma once
#include <memory>
#include <optional>

#include "edm/core/forwarding_denoiser.h"
#include "edm/sampling/guidance_interval.h"

namespace edm {

class GuidedDenoiser : public ForwardingDenoiser<Denoiser> {
 public:
  GuidedDenoiser(std::shared_ptr<Denoiser> net, double w, std::optional<GuidanceInterval> interval = std::nullopt)
      : ForwardingDenoiser(std::move(net)), w_(w), interval_(interval) {}

  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& class_labels = {},
                        const torch::Tensor& augment_labels = {}) override {
    auto uncond = [&] { return inner_->denoise(x, sigma, {}, augment_labels).to(torch::kFloat64); };
    if (!class_labels.defined()) return uncond();
    if (!interval_ && w_ == 0) return uncond();
    auto cond = inner_->denoise(x, sigma, class_labels, augment_labels).to(torch::kFloat64);
    return guide_within(interval_, sigma, cond, [&] {
      auto u = uncond();
      return u + w_ * (cond - u);
    });
  }

 private:
  double w_;
  std::optional<GuidanceInterval> interval_;
};

}  // namespace edm
