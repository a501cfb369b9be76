// A small MLP F_theta for low-dimensional data ([N,D] points, e.g. the 2-D
// toys): x concatenated with Fourier features sin/cos(k c_noise), k = 1..8,
// through `num_layers` hidden SiLU layers. edm.config model
// {"model_type": "MLP", "hidden": 128, "num_layers": 3}; no labels.
#pragma once
#include "edm/nn/config_reader.h"
#include "edm/nn/network.h"

namespace edm::networks {

struct MLPOptions {
  int64_t hidden = 128, num_layers = 3;
  static MLPOptions read(ConfigReader& r);
};

class MLPImpl : public NetworkImpl {
 public:
  // shape.in_channels = D, out_channels = D x the preconditioning's factor.
  MLPImpl(const NetworkShape& shape, const MLPOptions& o, const Build& build);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& noise_labels, const torch::Tensor& class_labels,
                        const torch::Tensor& augment_labels) override;

 private:
  torch::Tensor freqs_;
  torch::nn::Sequential net_{nullptr};
};

}  // namespace edm::networks
