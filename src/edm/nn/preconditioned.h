// The four preconditionings of the paper's Table 1 (EDM, VP, VE, iDDPM): each
// one is only its coefficients c_skip, c_out, c_in, c_noise; the shared
// forward is D(x) = c_skip x + c_out F(c_in x; c_noise).
#pragma once
#include <memory>
#include <nlohmann/json.hpp>

#include "edm/nn/config_reader.h"
#include "edm/nn/network.h"
#include "edm/nn/precond.h"

namespace edm::nn {

struct Coefficients {
  torch::Tensor c_skip, c_out, c_in, c_noise;  // [N,1,1,1] float32 (or scalars)
};

class Preconditioned : public PrecondImpl {
 public:
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& class_labels = {},
                        const torch::Tensor& augment_labels = {}) override;
  NetworkImpl& model() { return *model_; }

 protected:
  // Reads the keys every preconditioning has, builds the network `model`
  // (out_channels = img_channels * out_factor) and rejects unknown keys.
  void build_model(ConfigReader& r, const nlohmann::json& config, const std::string& default_model, int64_t out_factor,
                   const Build& build);
  virtual Coefficients coefficients(const torch::Tensor& sigma) = 0;  // sigma [N,1,1,1] float32

  std::shared_ptr<NetworkImpl> model_;
};

class EDMPrecond : public Preconditioned {
 public:
  EDMPrecond(const nlohmann::json& config, const Build& build);
  double sigma_min() const override { return sigma_min_; }
  double sigma_max() const override { return sigma_max_; }

 protected:
  Coefficients coefficients(const torch::Tensor& sigma) override;
  double sigma_min_, sigma_max_, sigma_data_;
};

class VPPrecond : public Preconditioned {
 public:
  VPPrecond(const nlohmann::json& config, const Build& build);
  double sigma_min() const override { return sigma_min_; }
  double sigma_max() const override { return sigma_max_; }
  torch::Tensor sigma(const torch::Tensor& t) const;  // float32 as the reference
  torch::Tensor sigma_inv(const torch::Tensor& sigma) const;

 protected:
  Coefficients coefficients(const torch::Tensor& sigma) override;
  double beta_d_, beta_min_, M_, epsilon_t_, sigma_min_, sigma_max_;
};

class VEPrecond : public Preconditioned {
 public:
  VEPrecond(const nlohmann::json& config, const Build& build);
  double sigma_min() const override { return sigma_min_; }
  double sigma_max() const override { return sigma_max_; }

 protected:
  Coefficients coefficients(const torch::Tensor& sigma) override;
  double sigma_min_, sigma_max_;
};

class iDDPMPrecond : public Preconditioned {
 public:
  iDDPMPrecond(const nlohmann::json& config, const Build& build);
  double sigma_min() const override { return sigma_min_; }
  double sigma_max() const override { return sigma_max_; }
  // The nearest level of the u grid, in sigma's dtype and shape.
  torch::Tensor round_sigma(const torch::Tensor& sigma) const override;
  torch::Tensor round_sigma_index(const torch::Tensor& sigma) const;
  const torch::Tensor& u() const { return u_; }

 protected:
  Coefficients coefficients(const torch::Tensor& sigma) override;
  double C_1_, C_2_;
  int64_t M_;
  torch::Tensor u_;
  double sigma_min_, sigma_max_;
};

}  // namespace edm::nn
