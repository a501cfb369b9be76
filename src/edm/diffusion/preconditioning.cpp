#include "edm/diffusion/preconditioning.h"

#include "edm/core/error.h"
#include "edm/diffusion/iddpm.h"
#include "edm/diffusion/vp.h"

namespace edm {

EDMPreconditioning::EDMPreconditioning(double sigma_data, double sigma_min, double sigma_max)
    : sigma_data_(sigma_data), sigma_min_(sigma_min), sigma_max_(sigma_max) {}

Coefficients EDMPreconditioning::coefficients(const torch::Tensor& sigma) const {
  const double sd2 = sigma_data_ * sigma_data_;
  Coefficients c;
  c.c_skip = sd2 / (sigma.square() + sd2);
  c.c_out = sigma * sigma_data_ / (sigma.square() + sd2).sqrt();
  c.c_in = 1 / (sd2 + sigma.square()).sqrt();
  c.c_noise = sigma.log() / 4;
  return c;
}

VPPreconditioning::VPPreconditioning(double beta_d, double beta_min, double M, double epsilon_t)
    : beta_d_(beta_d), beta_min_(beta_min), M_(M) {
  // In float32 like the reference, so that sampling clamps to the same range.
  sigma_min_ = vp_sigma(torch::full({}, epsilon_t, torch::kFloat32), beta_d, beta_min).item<double>();
  sigma_max_ = vp_sigma(torch::full({}, 1.0, torch::kFloat32), beta_d, beta_min).item<double>();
}

Coefficients VPPreconditioning::coefficients(const torch::Tensor& sigma) const {
  Coefficients c;
  c.c_skip = torch::ones_like(sigma);
  c.c_out = -sigma;
  c.c_in = 1 / (sigma.pow(2) + 1).sqrt();
  c.c_noise = (M_ - 1) * vp_sigma_inv(sigma, beta_d_, beta_min_);
  return c;
}

VEPreconditioning::VEPreconditioning(double sigma_min, double sigma_max)
    : sigma_min_(sigma_min), sigma_max_(sigma_max) {}

Coefficients VEPreconditioning::coefficients(const torch::Tensor& sigma) const {
  Coefficients c;
  c.c_skip = torch::ones_like(sigma);
  c.c_out = sigma;
  c.c_in = torch::ones_like(sigma);
  c.c_noise = (0.5 * sigma).log();
  return c;
}

iDDPMPreconditioning::iDDPMPreconditioning(double C_1, double C_2, int64_t M) : M_(M) {
  if (M < 2) throw Error("iDDPM: M must be at least 2");
  u_ = iddpm_u_tensor(M, C_1, C_2, torch::kFloat32);
  sigma_min_ = u_[M - 1].item<double>();
  sigma_max_ = u_[0].item<double>();
}

torch::Tensor iDDPMPreconditioning::round_sigma(const torch::Tensor& sigma) const {
  auto index = iddpm_round_index(sigma, u_);
  return u_.index({index.flatten()}).to(sigma.scalar_type()).reshape(sigma.sizes()).to(sigma.device());
}

Coefficients iDDPMPreconditioning::coefficients(const torch::Tensor& sigma) const {
  Coefficients c;
  c.c_skip = torch::ones_like(sigma);
  c.c_out = -sigma;
  c.c_in = 1 / (sigma.pow(2) + 1).sqrt();
  auto index = iddpm_round_index(sigma, u_).to(torch::kFloat32).reshape(sigma.sizes()).to(sigma.device());
  c.c_noise = double(M_ - 1) - index;
  return c;
}

DDPMPreconditioning::DDPMPreconditioning(ddpm::BetaSchedule schedule, int64_t T, bool learn_sigma)
    : chain_(ddpm::make_chain(schedule, T)), learn_sigma_(learn_sigma) {}

torch::Tensor DDPMPreconditioning::step_index(const torch::Tensor& sigma) const {
  auto s = sigma.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  auto index = torch::empty(s.sizes(), torch::kInt64);
  const double* in = s.data_ptr<double>();
  int64_t* out = index.data_ptr<int64_t>();
  for (int64_t i = 0; i < s.numel(); ++i) out[i] = ddpm::nearest_level(chain_.sigma, in[i]);
  return index.to(sigma.device());
}

torch::Tensor DDPMPreconditioning::round_sigma(const torch::Tensor& sigma) const {
  auto levels = torch::tensor(chain_.sigma, torch::kFloat64).to(sigma.device());
  return levels.index({step_index(sigma).flatten()}).reshape(sigma.sizes()).to(sigma.scalar_type());
}

Coefficients DDPMPreconditioning::coefficients(const torch::Tensor& sigma) const {
  Coefficients c;
  c.c_skip = torch::ones_like(sigma);
  c.c_out = -sigma;
  c.c_in = 1 / (sigma.square() + 1).sqrt();
  c.c_noise = step_index(sigma).to(sigma.scalar_type()) * (1000.0 / static_cast<double>(chain_.T()));
  return c;
}

}  // namespace edm
