// The loss of a trained model per noise level (the paper's Figure 5a): the
// EDM training loss lambda(sigma) |D(y + sigma n; sigma) - y|^2, averaged over
// pixels and images, at fixed sigmas instead of sigmas drawn from p_train,
// with one noise draw per image shared by every sigma.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "edm/core/denoiser.h"

namespace edm {

struct LossProfile {
  std::vector<double> sigma, loss, stderr_;  // stderr_: the standard error over images
};

// `sigmas` log-spaced levels from sigma_lo to sigma_hi (n >= 2).
std::vector<double> log_spaced(double lo, double hi, int64_t n);

// images: float [N,C,H,W] in [-1, 1]; labels: one-hot [N,label_dim] or
// undefined. The weighting is EDM's lambda(sigma) with the model's sigma_data.
LossProfile loss_per_sigma(Denoiser& net, const torch::Tensor& images, const torch::Tensor& labels,
                           const std::vector<double>& sigmas, uint64_t seed, int64_t batch = 256,
                           double sigma_data = 0.5);

// The density of EDM's p_train (ln sigma ~ N(P_mean, P_std^2)) per unit of
// ln sigma, at each sigma: the curve the paper draws under the loss.
std::vector<double> p_train_density(const std::vector<double>& sigmas, double P_mean = -1.2, double P_std = 1.2);

}  // namespace edm
