// The analytical first step (Zhou et al. 2024, "Fast ODE-based sampling for
// diffusion models in around 5 steps"): at sigma_max the sample is nearly
// pure noise, so the ODE's slope there is close to d = x / sqrt(1 + sigma^2)
// whatever the data; taking it saves the first network evaluation.
#pragma once
#include "edm/core/forwarding_denoiser.h"

namespace edm {

// d = x / sqrt(1 + sigma^2); sigma: a number.
torch::Tensor analytical_slope(const torch::Tensor& x, double sigma);

// A denoiser whose first call answers with the D of that slope, D = x -
// sigma d, without evaluating the network; every later call is forwarded.
// One per sampler run (--afs): a multistep sampler's first evaluation is its
// only one at sigma_max.
class AnalyticalFirstStep : public ForwardingDenoiser<Denoiser> {
 public:
  using ForwardingDenoiser<Denoiser>::ForwardingDenoiser;
  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& class_labels = {},
                        const torch::Tensor& augment_labels = {}) override;

 private:
  bool first_ = true;
};

}  // namespace edm
