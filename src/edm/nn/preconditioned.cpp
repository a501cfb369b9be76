#include "edm/nn/preconditioned.h"

#include "edm/core/error.h"

namespace edm::nn {

torch::ScalarType PrecondImpl::compute_dtype(torch::Device device) const {
  // The reference only ever leaves float32 on CUDA.
  if (force_fp32 || !device.is_cuda()) return torch::kFloat32;
  if (use_fp16_) return torch::kFloat16;
  if (use_bf16_) return torch::kBFloat16;
  return torch::kFloat32;
}

bool PrecondImpl::channels_last(torch::Device device) const {
  if (!device.is_cuda()) return false;
  if (channels_last_ >= 0) return channels_last_ == 1;
  return compute_dtype(device) != torch::kFloat32;
}

void Preconditioned::build_model(ConfigReader& r, const nlohmann::json& config, const std::string& default_model,
                                 int64_t out_factor, const Build& build) {
  config_ = config;
  r.ignore("precond");
  NetworkShape shape;
  shape.img_resolution = r.integer("img_resolution", 0);
  shape.in_channels = r.integer("img_channels", 0);
  shape.out_channels = shape.in_channels * out_factor;
  shape.label_dim = r.integer("label_dim", 0);
  shape.augment_dim = r.integer("augment_dim", 0);
  use_fp16_ = r.boolean("use_fp16", false);
  use_bf16_ = r.boolean("use_bf16", false);
  r.ignore("model");
  r.finish();
  if (!config.contains("model")) throw Error("edm.config has no \"model\" object");
  model_ = register_module("model", make_network(config["model"], default_model, shape, build));
}

torch::Tensor Preconditioned::forward(const torch::Tensor& x_in, const torch::Tensor& sigma_in,
                                      const torch::Tensor& class_labels_in, const torch::Tensor& augment_labels_in) {
  const int64_t n = x_in.size(0);
  if (x_in.dim() != 4 || x_in.size(1) != img_channels())
    throw Error("precond: x must be [N," + std::to_string(img_channels()) + ",H,W]");
  auto x = x_in.to(torch::kFloat32);
  auto sigma = sigma_in.to(x.device(), torch::kFloat32).reshape({-1, 1, 1, 1});
  torch::Tensor class_labels;
  if (label_dim()) {
    class_labels = class_labels_in.defined()
                       ? class_labels_in.to(x.device(), torch::kFloat32).reshape({-1, label_dim()})
                       : torch::zeros({n, label_dim()}, x.options());
  }
  torch::Tensor augment_labels;
  if (augment_labels_in.defined() && augment_dim())
    augment_labels = augment_labels_in.to(x.device(), torch::kFloat32).reshape({-1, augment_dim()});
  const auto dtype = compute_dtype(x.device());

  auto c = coefficients(sigma);
  auto input = (c.c_in * x).to(dtype);
  if (channels_last(x.device())) input = input.contiguous(torch::MemoryFormat::ChannelsLast);
  auto F_x = model_->forward(input, c.c_noise.flatten(), class_labels, augment_labels);
  if (F_x.size(1) != img_channels()) F_x = F_x.narrow(1, 0, img_channels());  // iDDPM also predicts variances
  return c.c_skip * x + c.c_out * F_x.to(torch::kFloat32);
}

}  // namespace edm::nn
