// Training losses with the reference's definitions (paper Table 1, "Training"):
// a noise level distribution p_train(sigma) and a weighting lambda(sigma).
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "edm/nn/precond.h"

namespace edm {

struct LossConfig {
  std::string kind = "edm";                  // edm | vp | ve | ddpm (follows --precond) | edm2 (EDM2Precond)
  double P_mean = -1.2, P_std = 1.2;         // EDM: ln sigma ~ N(P_mean, P_std^2)
  double sigma_data = 0.5;                   // EDM
  double beta_d = 19.9, beta_min = 0.1;      // VP
  double epsilon_t = 1e-5;                   // VP: t ~ U(epsilon_t, 1)
  double sigma_min = 0.02, sigma_max = 100;  // VE: log-uniform sigma
  std::vector<double> sigma_levels;          // DDPM: the chain's levels, t ~ U{0..T-1}
  double lambda_vlb = 0.001;                 // DDPM with a learned variance: L_simple + lambda L_vlb

  // By --precond name (edm, vp, ve, ddpm) or edm.config class (EDMPrecond, ...);
  // edm::UsageError for iddpm (L_hybrid is not implemented) or unknown.
  static LossConfig for_precond(const std::string& precond);
};

// sigma ~ p_train, shape [n,1,1,1] float32, from `gen` (a generator on
// `device`) or else the default generator.
torch::Tensor sample_sigma(const LossConfig& c, int64_t n, torch::Device device,
                           c10::optional<at::Generator> gen = c10::nullopt);
// lambda(sigma); EDM2 uses EDM's; DDPM's L_simple is 1 / sigma^2, the VP one.
torch::Tensor loss_weight(const LossConfig& c, const torch::Tensor& sigma);

// The per-pixel weighted loss lambda(sigma) |D(y + sigma n; sigma) - y|^2,
// shaped like y ([N,C,H,W] images, or any [N,...] the network takes). images
// y in [-1, 1]; labels one-hot or undefined; augment_labels or undefined;
// sigma [N,1,1,1] drawn by sample_sigma (viewed as [N,1,...,1]) and n
// standard normal like y (drawn by the caller so that they can follow the
// global batch). DDPM: ddpm_loss (train/ddpm_loss.h).
torch::Tensor diffusion_loss(networks::PrecondImpl& net, const torch::Tensor& images, const torch::Tensor& labels,
                             const torch::Tensor& augment_labels, const LossConfig& c, const torch::Tensor& sigma,
                             const torch::Tensor& n);

}  // namespace edm
