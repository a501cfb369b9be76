// The terms of DDPM's variational bound (Ho et al. 2020, Nichol & Dhariwal
// 2021), elementwise in nats: the KL between Gaussians, the discretized
// Gaussian decoder, the true posterior q(x_{t-1} | x_t, x_0) and the reverse
// step p(x_{t-1} | x_t) of a model given its x_0 estimate and, when it has
// one, its learned variance. All in the chain's own coordinates x_t =
// sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps; t is a [N] int64 tensor of steps.
#pragma once
#include <torch/torch.h>

#include "edm/diffusion/ddpm.h"

namespace edm::ddpm {

// KL(N(mean1, exp(logvar1)) || N(mean2, exp(logvar2))).
torch::Tensor normal_kl(const torch::Tensor& mean1, const torch::Tensor& logvar1, const torch::Tensor& mean2,
                        const torch::Tensor& logvar2);

// log P(bin of x) under N(mean, exp(log_scale)^2): 256 bins of width 2/255
// centred on the uint8 levels of [-1, 1], the outermost ones open to
// +-infinity, so that the 256 probabilities sum to 1.
torch::Tensor discretized_gaussian_log_likelihood(const torch::Tensor& x, const torch::Tensor& mean,
                                                  const torch::Tensor& log_scale);

struct Gaussian {
  torch::Tensor mean, logvar;
};

// A per-step coefficient of the chain as [N,1,...,1] in like's dtype and device.
torch::Tensor per_step(const std::vector<double>& values, const torch::Tensor& t, const torch::Tensor& like);

// q(x_{t-1} | x_t, x_0): mean coef_x0 x_0 + coef_xt x_t, variance beta-tilde_t
// (at t = 0 that of t = 1, as the clipped log variance).
Gaussian posterior(const Chain& chain, const torch::Tensor& x0, const torch::Tensor& x_t, const torch::Tensor& t);

// p(x_{t-1} | x_t): the posterior mean at the model's x_0 estimate and the
// log variance v log beta_t + (1 - v) log beta-tilde_t (v in [0, 1] per
// element, the learned variance; undefined: v = 0, beta-tilde).
Gaussian reverse_step(const Chain& chain, const torch::Tensor& x0_pred, const torch::Tensor& x_t,
                      const torch::Tensor& t, const torch::Tensor& v);

// L_t per element: KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)) for t > 0,
// the decoder's -log p(x_0 | x_1) for t = 0 (x_0 in [-1, 1]).
torch::Tensor vlb_term(const Chain& chain, const torch::Tensor& x0, const torch::Tensor& x_t, const torch::Tensor& t,
                       const Gaussian& model);

// L_T per element: KL(q(x_T | x_0) || N(0, I)), T the chain's last step.
torch::Tensor prior_kl(const Chain& chain, const torch::Tensor& x0);

// x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps.
torch::Tensor q_sample(const Chain& chain, const torch::Tensor& x0, const torch::Tensor& t, const torch::Tensor& eps);

}  // namespace edm::ddpm
