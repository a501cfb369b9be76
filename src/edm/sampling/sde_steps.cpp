#include "edm/sampling/sde_steps.h"

#include <cmath>

namespace edm {

torch::Tensor euler_maruyama_step(const torch::Tensor& x, const torch::Tensor& denoised, double sigma,
                                  double sigma_next, const torch::Tensor& z) {
  const double ds = sigma - sigma_next;
  return x + 2 * ds / sigma * (denoised - x) + std::sqrt(2 * sigma * ds) * z;
}

torch::Tensor reverse_diffusion_step(const torch::Tensor& x, const torch::Tensor& denoised, double sigma,
                                     double sigma_next, const torch::Tensor& z) {
  const double dvar = sigma * sigma - sigma_next * sigma_next;
  return x + dvar / (sigma * sigma) * (denoised - x) + std::sqrt(dvar) * z;
}

torch::Tensor langevin_step(Denoiser& net, const torch::Tensor& x, double sigma, const torch::Tensor& class_labels,
                            double snr, const NoiseFn& randn_like) {
  auto norm = [](const torch::Tensor& v) {
    std::vector<int64_t> shape(v.dim(), 1);
    shape[0] = -1;
    return v.flatten(1).norm(2, 1).view(shape);
  };
  auto score = (denoise_at(net, x, sigma, class_labels) - x) / (sigma * sigma);
  auto z = randn_like(x);
  // Per image, so that a seed's sample does not depend on its batch.
  auto eps = 2 * (snr * norm(z) / norm(score).clamp_min(1e-30)).square();
  return x + eps * score + (2 * eps).sqrt() * z;
}

}  // namespace edm
