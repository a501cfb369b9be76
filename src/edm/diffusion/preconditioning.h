// The preconditionings of the paper's Table 1 (EDM, VP, VE, iDDPM): each one
// is its coefficients c_skip, c_out, c_in, c_noise of sigma and the noise
// range it supports; D(x) = c_skip x + c_out F(c_in x; c_noise) is shared
// (networks::PrecondImpl). Tensors keep sigma's shape ([N,1,...,1]) and dtype.
#pragma once
#include <torch/torch.h>

#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "edm/diffusion/ddpm.h"

namespace edm {

struct Coefficients {
  torch::Tensor c_skip, c_out, c_in, c_noise;
};

class Preconditioning {
 public:
  virtual ~Preconditioning() = default;
  virtual Coefficients coefficients(const torch::Tensor& sigma) const = 0;
  virtual double sigma_min() const { return 0.0; }
  virtual double sigma_max() const { return std::numeric_limits<double>::infinity(); }
  // Maps sigma onto the levels the network was trained on (iDDPM's u grid).
  virtual torch::Tensor round_sigma(const torch::Tensor& sigma) const { return sigma; }
  // Channels of the network output per data channel (iDDPM also predicts variances).
  virtual int64_t out_factor() const { return 1; }
  // The discrete noise levels the network was trained on, increasing (DDPM's
  // T levels); empty for a continuous one.
  virtual std::vector<double> sigma_levels() const { return {}; }
  // Whether the extra output channels are Improved DDPM's learned variance.
  virtual bool learned_variance() const { return false; }
  // Tensors the module stores with its state (name, where the tensor lives).
  virtual std::vector<std::pair<std::string, torch::Tensor*>> buffers() { return {}; }
};

// EDM ("Ours"): unit-variance network input and training target for data of
// standard deviation sigma_data.
class EDMPreconditioning : public Preconditioning {
 public:
  EDMPreconditioning(double sigma_data = 0.5, double sigma_min = 0,
                     double sigma_max = std::numeric_limits<double>::infinity());
  Coefficients coefficients(const torch::Tensor& sigma) const override;
  double sigma_min() const override { return sigma_min_; }
  double sigma_max() const override { return sigma_max_; }
  double sigma_data() const { return sigma_data_; }

 private:
  double sigma_data_, sigma_min_, sigma_max_;
};

// VP: the network predicts -noise of the variance-preserving input;
// c_noise = (M-1) t(sigma). The range is sigma(epsilon_t) .. sigma(1) in float32.
class VPPreconditioning : public Preconditioning {
 public:
  VPPreconditioning(double beta_d = 19.9, double beta_min = 0.1, double M = 1000, double epsilon_t = 1e-5);
  Coefficients coefficients(const torch::Tensor& sigma) const override;
  double sigma_min() const override { return sigma_min_; }
  double sigma_max() const override { return sigma_max_; }

 private:
  double beta_d_, beta_min_, M_, sigma_min_, sigma_max_;
};

// VE: the network predicts the scaled negative noise; c_noise = ln(sigma / 2).
class VEPreconditioning : public Preconditioning {
 public:
  VEPreconditioning(double sigma_min = 0.02, double sigma_max = 100);
  Coefficients coefficients(const torch::Tensor& sigma) const override;
  double sigma_min() const override { return sigma_min_; }
  double sigma_max() const override { return sigma_max_; }

 private:
  double sigma_min_, sigma_max_;
};

// iDDPM: the network was trained on M discrete levels u_j, so sigma is rounded
// onto that grid and the network sees its index.
class iDDPMPreconditioning : public Preconditioning {
 public:
  iDDPMPreconditioning(double C_1 = 0.001, double C_2 = 0.008, int64_t M = 1000);
  Coefficients coefficients(const torch::Tensor& sigma) const override;
  double sigma_min() const override { return sigma_min_; }
  double sigma_max() const override { return sigma_max_; }
  // The nearest level of the u grid, in sigma's dtype, shape and device.
  torch::Tensor round_sigma(const torch::Tensor& sigma) const override;
  int64_t out_factor() const override { return 2; }
  std::vector<std::pair<std::string, torch::Tensor*>> buffers() override { return {{"u", &u_}}; }
  const torch::Tensor& u() const { return u_; }  // float32 [M+1]

 private:
  int64_t M_;
  torch::Tensor u_;
  double sigma_min_, sigma_max_;
};

// DDPM (discrete time): the network predicts the noise eps of x_t =
// sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps at one of the chain's T steps. In
// EDM's terms x = x_t / sqrt(abar_t), sigma_t = sqrt((1 - abar_t) / abar_t):
// c_in = 1 / sqrt(1 + sigma^2) gives x_t back, c_out = -sigma turns eps into
// D, and c_noise = 1000 t / T is the step nearest to sigma (on the scale of
// 1000 steps whatever T, as Improved DDPM rescales its time steps).
class DDPMPreconditioning : public Preconditioning {
 public:
  DDPMPreconditioning(ddpm::BetaSchedule schedule, int64_t T, bool learn_sigma);
  Coefficients coefficients(const torch::Tensor& sigma) const override;
  double sigma_min() const override { return chain_.sigma.front(); }
  double sigma_max() const override { return chain_.sigma.back(); }
  torch::Tensor round_sigma(const torch::Tensor& sigma) const override;
  int64_t out_factor() const override { return learn_sigma_ ? 2 : 1; }
  std::vector<double> sigma_levels() const override { return chain_.sigma; }
  bool learned_variance() const override { return learn_sigma_; }
  const ddpm::Chain& chain() const { return chain_; }
  // The step t of each sigma (nearest level), int64 shaped like sigma.
  torch::Tensor step_index(const torch::Tensor& sigma) const;

 private:
  ddpm::Chain chain_;
  bool learn_sigma_;
};

}  // namespace edm
