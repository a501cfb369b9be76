#include "edm/nn/precond.h"

#include "edm/core/error.h"
#include "edm/core/runtime.h"
#include "edm/nn/product_dtype.h"

namespace edm::networks {

namespace {

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string out = "[N";
  for (auto d : shape) out += "," + std::to_string(d);
  return out + "]";
}

// One sample's shape: "sample_shape" for non-image data, else C x H x W.
std::vector<int64_t> read_sample_shape(ConfigReader& r, NetworkShape& shape) {
  auto sample = r.integers("sample_shape", {});
  shape.img_resolution = r.integer("img_resolution", 0);
  shape.in_channels = r.integer("img_channels", sample.empty() ? 0 : sample[0]);
  if (sample.empty()) return {shape.in_channels, shape.img_resolution, shape.img_resolution};
  for (auto d : sample)
    if (d < 1) throw Error("edm.config: \"sample_shape\" entries must be positive");
  if (shape.img_resolution || shape.in_channels != sample[0])
    throw Error("edm.config: give either \"sample_shape\" or img_channels and img_resolution");
  return sample;
}

// sigma as [N,1,...,1] against x.
std::vector<int64_t> sigma_shape(const torch::Tensor& x) {
  std::vector<int64_t> broadcast(x.dim(), 1);
  broadcast[0] = -1;
  return broadcast;
}

}  // namespace

PrecondImpl::PrecondImpl(const nlohmann::json& config, ConfigReader& r, std::shared_ptr<Preconditioning> pre,
                         const ModelLayout& layout, const Build& build)
    : config_(config), pre_(std::move(pre)) {
  r.ignore("precond");
  NetworkShape shape;
  sample_shape_ = read_sample_shape(r, shape);
  const int64_t classes = r.integer("num_classes", 0);
  if (classes < 0) throw Error("edm.config: \"num_classes\" must not be negative");
  shape.out_channels = classes > 0 ? classes : shape.in_channels * pre_->out_factor();
  read_upsampler(config, shape);
  shape.label_dim = r.integer("label_dim", 0);
  shape.augment_dim = r.integer("augment_dim", 0);
  use_fp16_ = r.boolean("use_fp16", false);
  use_bf16_ = r.boolean("use_bf16", false);
  const int64_t logvar_channels = layout.logvar_head ? r.integer("logvar_channels", 128) : 0;
  if (layout.logvar_head && logvar_channels < 1) throw Error("edm.config: \"logvar_channels\" must be positive");
  r.ignore("model");
  r.ignore("latent");     // the latent space around the network: model/latent_space.h
  r.ignore("upsampler");  // read by read_upsampler
  r.finish();
  if (!config.contains("model")) throw Error("edm.config has no \"model\" object");
  model_ = register_module(layout.module_name, make_network(config["model"], layout.default_model, shape, build));
  if (logvar_channels) {
    logvar_fourier_ = register_module("logvar_fourier", MPFourier(logvar_channels, 1.0, build));
    logvar_linear_ = register_module("logvar_linear", MPConv(logvar_channels, 1, std::vector<int64_t>{}, build));
  }
  for (auto& [name, tensor] : pre_->buffers()) *tensor = register_buffer(name, tensor->to(build.device));
}

void PrecondImpl::read_upsampler(const nlohmann::json& config, NetworkShape& shape) {
  if (!config.contains("upsampler")) return;
  ConfigReader u(config["upsampler"], "edm.config upsampler");
  low_resolution_ = u.integer("low_resolution", 0);
  cond_aug_max_ = u.number("cond_aug_max", 0);
  u.finish();
  if (low_resolution_ < 1 || low_resolution_ >= shape.img_resolution || shape.img_resolution % low_resolution_)
    throw Error("edm.config upsampler: \"low_resolution\" must divide img_resolution and be smaller");
  if (!(cond_aug_max_ >= 0)) throw Error("edm.config upsampler: \"cond_aug_max\" must not be negative");
  shape.in_channels *= 2;  // x and the conditioning image
}

torch::Tensor PrecondImpl::logvar(const torch::Tensor& sigma_in) {
  if (!has_logvar()) return {};
  std::vector<int64_t> broadcast(sample_shape_.size() + 1, 1);
  broadcast[0] = -1;
  auto sigma = sigma_in.to(torch::kFloat32).reshape(broadcast);
  auto c_noise = pre_->coefficients(sigma).c_noise.flatten();
  return logvar_linear_->forward(logvar_fourier_->forward(c_noise)).reshape(broadcast);
}

torch::ScalarType PrecondImpl::compute_dtype(torch::Device device) const {
  if (precision_ == Precision::Float32) return torch::kFloat32;
  if (precision_ == Precision::BFloat16) return torch::kBFloat16;
  if (device.is_cuda()) return use_fp16_ ? torch::kFloat16 : use_bf16_ ? torch::kBFloat16 : torch::kFloat32;
  // The reference never leaves float32 on the CPU; bfloat16 models do where
  // the CPU computes bfloat16 natively (emulated it is slower than float32).
  return use_bf16_ && cpu_has_bfloat16() ? torch::kBFloat16 : torch::kFloat32;
}

void check_precision(Precision precision, torch::Device device) {
  if (precision == Precision::BFloat16 && device.is_cpu() && !cpu_has_bfloat16())
    throw UsageError("bfloat16 needs a CPU with AVX512_BF16 or AMX (edm info says which it has) or a CUDA device");
}

bool PrecondImpl::channels_last(torch::Device device) const {
  // On a CPU the float32 activations' element-wise kernels are slower channels-last.
  if (!device.is_cuda() || sample_shape_.size() != 3) return false;
  if (channels_last_ >= 0) return channels_last_ == 1;
  return compute_dtype(device) != torch::kFloat32;
}

torch::Tensor PrecondImpl::logits(const torch::Tensor& x_in, const torch::Tensor& sigma_in) {
  if (!is_classifier()) throw Error("this model is a denoiser, not a noise-aware classifier");
  if (x_in.dim() != int64_t(sample_shape_.size()) + 1 || x_in.size(1) != img_channels())
    throw Error("classifier: x must be " + shape_str(sample_shape_));
  auto x = x_in.to(x_in.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32);
  auto sigma = sigma_in.to(x.device(), torch::kFloat32).reshape({-1});
  if (sigma.numel() == 1) sigma = sigma.expand({x.size(0)});  // the embedding needs one level per row
  auto c = pre_->coefficients(sigma.reshape(sigma_shape(x)));
  const bool bf16 =
      x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && compute_dtype(x.device()) == torch::kBFloat16;
  ProductDtypeGuard products(bf16 ? torch::kBFloat16 : torch::kFloat32);  // as in forward()
  return model_->forward(c.c_in.to(x.scalar_type()) * x, c.c_noise.flatten(), {}, {});
}

torch::Tensor PrecondImpl::with_condition(const torch::Tensor& x_in) const {
  if (!low_resolution_) return x_in;
  if (!condition_.defined() || !condition_.sizes().equals(x_in.sizes()))
    throw Error("an upsampler needs its conditioning image, shaped like x " + c10::str(x_in.sizes()));
  return torch::cat({x_in, condition_.to(x_in.device(), x_in.scalar_type())}, 1);
}

torch::Tensor PrecondImpl::network_output(const torch::Tensor& x_in, const torch::Tensor& sigma_in,
                                          const torch::Tensor& class_labels_in,
                                          const torch::Tensor& augment_labels_in) {
  if (is_classifier()) throw Error("this model is a noise-aware classifier (for --classifier), not a denoiser");
  const int64_t n = x_in.size(0), channels = img_channels();
  if (x_in.dim() != int64_t(sample_shape_.size()) + 1 || x_in.size(1) != channels)
    throw Error("precond: x must be " +
                (sample_shape_.size() == 3 ? "[N," + std::to_string(channels) + ",H,W]" : shape_str(sample_shape_)));
  auto x = x_in.to(torch::kFloat32);
  auto sigma = sigma_in.to(x.device(), torch::kFloat32).reshape(sigma_shape(x));
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
  // On a CPU, bfloat16 is for the products only (nn/product_dtype.h).
  const bool products_only = x.device().is_cpu() && dtype == torch::kBFloat16;
  ProductDtypeGuard products(products_only ? dtype : torch::kFloat32);

  auto c = pre_->coefficients(sigma);
  auto input = with_condition(c.c_in * x).to(products_only ? torch::kFloat32 : dtype);
  if (channels_last(x.device())) input = input.contiguous(torch::MemoryFormat::ChannelsLast);
  return model_->forward(input, c.c_noise.flatten(), class_labels, augment_labels).to(torch::kFloat32);
}

std::pair<torch::Tensor, torch::Tensor> PrecondImpl::forward_with_variance(const torch::Tensor& x_in,
                                                                           const torch::Tensor& sigma_in,
                                                                           const torch::Tensor& class_labels,
                                                                           const torch::Tensor& augment_labels) {
  auto F_x = network_output(x_in, sigma_in, class_labels, augment_labels);
  auto x = x_in.to(torch::kFloat32);
  auto c = pre_->coefficients(sigma_in.to(x.device(), torch::kFloat32).reshape(sigma_shape(x)));
  const int64_t channels = img_channels();
  auto D = c.c_skip * x + c.c_out * F_x.narrow(1, 0, channels);  // iDDPM also predicts variances
  if (!pre_->learned_variance()) return {D, torch::Tensor()};
  return {D, (F_x.narrow(1, channels, channels) + 1) / 2};
}

torch::Tensor PrecondImpl::forward(const torch::Tensor& x, const torch::Tensor& sigma,
                                   const torch::Tensor& class_labels, const torch::Tensor& augment_labels) {
  return forward_with_variance(x, sigma, class_labels, augment_labels).first;
}

}  // namespace edm::networks
