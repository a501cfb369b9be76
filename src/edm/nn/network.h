// The network F_theta inside the preconditioning: F(x, c_noise, labels).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "edm/nn/init.h"

namespace edm::networks {

class NetworkImpl : public torch::nn::Module {
 public:
  // x [N,in,H,W] (U-Nets) or [N,in] (MLP) in the compute dtype; noise_labels
  // [N] float32; class_labels [N,label_dim] (undefined when unconditional);
  // augment_labels [N,augment_dim] or undefined (no augmentation
  // conditioning). Returns [N,out,...] in x's dtype.
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& noise_labels,
                                const torch::Tensor& class_labels, const torch::Tensor& augment_labels) = 0;
};

struct NetworkShape {
  int64_t img_resolution = 0;  // 0: not an image (points [N,in_channels])
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t label_dim = 0;
  int64_t augment_dim = 0;
};

// The edm.config "model" object: {"model_type": "SongUNet" | "DhariwalUNet" | "MLP",
// ...constructor arguments, reference defaults for the rest}. Unknown keys and
// bad values throw edm::Error.
std::shared_ptr<NetworkImpl> make_network(const nlohmann::json& model, const std::string& default_type,
                                          const NetworkShape& shape, const Build& build);

}  // namespace edm::networks
