// Autoguidance (Karras et al. 2024, "Guiding a Diffusion Model with a Bad
// Version of Itself") as a denoiser: the main model's estimate extrapolated
// away from that of a weaker guiding model, D = D_g + w (D - D_g), computed
// as the reference does, D_g.lerp(D, w). Unlike classifier-free guidance it
// needs no labels and no unconditional model. Outside an optional guidance
// interval, and for w = 1, D is used alone and the guide is not evaluated.
#pragma once
#include <memory>
#include <optional>

#include "edm/sampling/guidance_interval.h"
#include "edm/sampling/guiding_denoiser.h"

namespace edm {

class AutoguidedDenoiser : public GuidingDenoiser {
 public:
  // Throws edm::UsageError when the guide's data (sample shape, labels) differ from the net's.
  AutoguidedDenoiser(std::shared_ptr<Denoiser> net, std::shared_ptr<Denoiser> guide, double w,
                     std::optional<GuidanceInterval> interval = std::nullopt);

 protected:
  // The guide's estimate is not needed at w = 1, or outside the interval.
  torch::Tensor guide(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& class_labels,
                      const torch::Tensor& augment_labels, const torch::Tensor& d) override;

 private:
  std::shared_ptr<Denoiser> guide_;
  double w_;
  std::optional<GuidanceInterval> interval_;
};

}  // namespace edm
