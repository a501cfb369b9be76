// The update rules the stochastic samplers share, on the VE SDE written in
// sigma (sigma(t) = t, s(t) = 1): one home for each formula, so that the
// Euler-Maruyama sampler, annealed Langevin and predictor-corrector sampling
// step the same way. The score is grad log p = (D(x; sigma) - x) / sigma^2.
#pragma once
#include "edm/sampling/sampler.h"

namespace edm {

// One Euler-Maruyama step of the reverse SDE from sigma to sigma_next > 0
// (paper eq. 6 with beta = sigma'/sigma): drift 2 (sigma - sigma_next) grad
// log p, diffusion sqrt(2 sigma (sigma - sigma_next)); z standard normal.
torch::Tensor euler_maruyama_step(const torch::Tensor& x, const torch::Tensor& denoised, double sigma,
                                  double sigma_next, const torch::Tensor& z);

// One reverse-diffusion step (the discretised reverse VE SDE of Song et al.
// 2021): x + (sigma^2 - sigma_next^2) grad log p + sqrt(sigma^2 - sigma_next^2) z.
torch::Tensor reverse_diffusion_step(const torch::Tensor& x, const torch::Tensor& denoised, double sigma,
                                     double sigma_next, const torch::Tensor& z);

// One Langevin update at noise level sigma whose step size eps is set per
// image by the signal-to-noise ratio snr (Song et al. 2021, Algorithm 5 with
// alpha = 1, the VE case): eps = 2 (snr |z| / |grad log p|)^2, then
// x + eps grad log p + sqrt(2 eps) z. Draws z after evaluating the denoiser.
torch::Tensor langevin_step(Denoiser& net, const torch::Tensor& x, double sigma, const torch::Tensor& class_labels,
                            double snr, const NoiseFn& randn_like);

}  // namespace edm
