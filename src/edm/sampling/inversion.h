// Probability-flow ODE inversion: image -> latent. The EDM time steps run
// backwards, sigma_min up to sigma_max, with Heun's method; generating from
// the latent with the deterministic EDM sampler returns the image.
#pragma once
#include "edm/sampling/sampler.h"

namespace edm {

// images [N,C,H,W] (pixel scale, [-1, 1]) -> latents [N,C,H,W] float64 of unit
// scale (x(sigma_max) / sigma_max), as edm_sampler takes them.
torch::Tensor invert(Denoiser& net, const torch::Tensor& images, const torch::Tensor& class_labels,
                     const SamplerOptions& o, const StepFn& on_step = {});

}  // namespace edm
