// D(x; sigma) clamped to the data range [-1, 1], as DDPM samplers clip their
// x_0 prediction (Ho et al. 2020; Improved DDPM's clip_denoised). An
// epsilon-predicting model's D = x - sigma eps_theta multiplies the error of
// eps_theta by sigma, so at high noise it strays far outside the data; the
// clamp keeps those first steps from saturating the sample. It changes the
// sampler's target, so it is an option (--clip-denoised), never implied.
#pragma once
#include "edm/core/forwarding_denoiser.h"

namespace edm {

class ClippedDenoiser : public ForwardingDenoiser<Denoiser> {
 public:
  using ForwardingDenoiser<Denoiser>::ForwardingDenoiser;
  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& class_labels = {},
                        const torch::Tensor& augment_labels = {}) override;
  // The learned variance passes through unchanged.
  std::pair<torch::Tensor, torch::Tensor> denoise_with_variance(const torch::Tensor& x, const torch::Tensor& sigma,
                                                                const torch::Tensor& class_labels = {}) override;
};

}  // namespace edm
