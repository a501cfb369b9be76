// Classifier-free guidance (Ho & Salimans 2022) as a denoiser:
// D = D_uncond + w (D_cond - D_uncond). The unconditional estimate is the same
// network with no class labels (trained with label dropout). Outside an
// optional guidance interval the conditional estimate is used alone.
#pragma once
#include <memory>
#include <optional>

#include "edm/sampling/guidance_interval.h"
#include "edm/sampling/guiding_denoiser.h"

namespace edm {

class GuidedDenoiser : public GuidingDenoiser {
 public:
  GuidedDenoiser(std::shared_ptr<Denoiser> net, double w, std::optional<GuidanceInterval> interval = std::nullopt)
      : GuidingDenoiser(std::move(net)), w_(w), interval_(interval) {}

 protected:
  // Unconditional alone without labels, or at w = 0 everywhere.
  torch::Tensor inner_labels(const torch::Tensor& class_labels) const override {
    return !interval_ && w_ == 0 ? torch::Tensor() : class_labels;
  }
  torch::Tensor guide(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& class_labels,
                      const torch::Tensor& augment_labels, const torch::Tensor& D) override {
    auto cond = D.to(torch::kFloat64);
    if (!inner_labels(class_labels).defined()) return cond;
    return guide_within(interval_, sigma, cond, [&] {
      auto u = inner_->denoise(x, sigma, {}, augment_labels).to(torch::kFloat64);
      return u + w_ * (cond - u);
    });
  }

 private:
  double w_;
  std::optional<GuidanceInterval> interval_;
};

}  // namespace edm
