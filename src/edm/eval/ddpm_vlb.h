// The discrete variational bound of a DDPM model in bits per dimension
// (Ho et al. 2020, eq. 5; Improved DDPM's evaluation): for each image x_0,
// L_T + sum_{t>0} L_{t-1} with the prior term KL(q(x_T | x_0) || N(0, I)),
// the KL terms KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)) at one draw of
// x_t each, and the discretized Gaussian decoder -log p(x_0 | x_1). An
// upper bound on the negative log-likelihood of uint8 images in [-1, 1].
#pragma once
#include <torch/torch.h>

#include <functional>

#include "edm/core/denoiser.h"
#include "edm/diffusion/ddpm.h"

namespace edm::ddpm {

struct VariationalBound {
  torch::Tensor total_bpd;  // [N] float64, the bound per image
  torch::Tensor prior_bpd;  // [N], L_T
  torch::Tensor terms_bpd;  // [N, T], L_0 (the decoder) ... L_{T-1} (float64)
};

// The chain of a denoiser trained on discrete levels (a DDPM model):
// alpha-bar_t = 1 / (1 + sigma_t^2). Throws edm::UsageError for a denoiser
// that has none.
Chain chain_of(const Denoiser& net);

// images [N, sample_shape...] in [-1, 1] (uint8 levels for a meaningful
// decoder term); class_labels one-hot or undefined. The model's reverse
// steps use its learned variance when it has one (beta-tilde otherwise).
// The noise of each step comes from a generator seeded with `seed`.
// on_step(k) after k of the T steps.
VariationalBound variational_bound_bpd(Denoiser& net, const Chain& chain, const torch::Tensor& images,
                                       const torch::Tensor& class_labels = {}, uint64_t seed = 0,
                                       const std::function<void(int64_t)>& on_step = {});

}  // namespace edm::ddpm
