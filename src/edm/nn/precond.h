// Preconditioning wrapped around the network F_theta (paper Table 1):
// D(x) = c_skip x + c_out F(c_in x; c_noise), as a trainable module and as a
// denoiser. The coefficients are the only part that differs between EDM, VP,
// VE and iDDPM (diffusion/preconditioning.h).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "edm/core/denoiser.h"
#include "edm/core/noisy_classifier.h"
#include "edm/diffusion/preconditioning.h"
#include "edm/nn/config_reader.h"
#include "edm/nn/init.h"
#include "edm/nn/mp_layers.h"
#include "edm/nn/network.h"

namespace edm::networks {

// The arithmetic of a network's forward pass (see compute_dtype).
enum class Precision { FromModel, Float32, BFloat16 };

// How a preconditioning holds its network: the default network type, the
// state_dict name of the network ("model" in EDM, "unet" in EDM2), and whether
// it has EDM2's learned log-variance head u(sigma) (edm.config logvar_channels).
struct ModelLayout {
  std::string default_model;
  std::string module_name = "model";
  bool logvar_head = false;
};

class PrecondImpl : public torch::nn::Module {
 public:
  // Reads the keys every preconditioning has from `r` (an edm.config reader
  // that the caller has already asked for its preconditioning's own keys),
  // builds the network `model` (default type `default_model`, output channels
  // = data channels x pre->out_factor()) and rejects unknown keys.
  PrecondImpl(const nlohmann::json& config, ConfigReader& r, std::shared_ptr<Preconditioning> pre,
              const ModelLayout& layout, const Build& build);

  // D(x; sigma, class_labels, augment_labels); x [N, sample_shape...] float32,
  // sigma [N] or scalar (broadcast as [N,1,...,1]). Undefined labels mean
  // zeros. Returns float32 (reference: computed in the network's dtype, cast
  // back to float32).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& class_labels = {},
                        const torch::Tensor& augment_labels = {});
  // The network's raw output F(c_in x; c_noise), every channel (a learned
  // variance's too), as float32 [N, out_channels, ...]; arguments as forward.
  torch::Tensor network_output(const torch::Tensor& x, const torch::Tensor& sigma,
                               const torch::Tensor& class_labels = {}, const torch::Tensor& augment_labels = {});
  // D and Improved DDPM's variance interpolation v = (F_var + 1) / 2 of a
  // DDPM model with a learned variance (v undefined otherwise).
  std::pair<torch::Tensor, torch::Tensor> forward_with_variance(const torch::Tensor& x, const torch::Tensor& sigma,
                                                                const torch::Tensor& class_labels = {},
                                                                const torch::Tensor& augment_labels = {});
  // EDM2's uncertainty u(sigma) = logvar_linear(logvar_fourier(c_noise)) as
  // [N,1,...,1] float32 (sigma as in forward); undefined without the head.
  torch::Tensor logvar(const torch::Tensor& sigma);
  // A noise-aware classifier (edm.config "num_classes" > 0) has no D: its
  // network's output F(c_in x; c_noise) are the logits of p(y | x; sigma),
  // [N, num_classes] float32 (x's dtype when x is float64, for gradient
  // checks). forward() refuses such a model.
  torch::Tensor logits(const torch::Tensor& x, const torch::Tensor& sigma);
  bool is_classifier() const { return num_classes() > 0; }
  int64_t num_classes() const { return config_.value("num_classes", int64_t(0)); }
  bool has_logvar() const { return !logvar_linear_.is_empty(); }
  double sigma_min() const { return pre_->sigma_min(); }
  double sigma_max() const { return pre_->sigma_max(); }
  torch::Tensor round_sigma(const torch::Tensor& sigma) const { return pre_->round_sigma(sigma); }
  std::vector<double> sigma_levels() const { return pre_->sigma_levels(); }
  const Preconditioning& preconditioning() const { return *pre_; }
  NetworkImpl& model() { return *model_; }

  const nlohmann::json& config() const { return config_; }  // the edm.config
  int64_t img_resolution() const { return config_.value("img_resolution", 0); }
  int64_t img_channels() const { return sample_shape_.empty() ? 0 : sample_shape_[0]; }
  int64_t label_dim() const { return config_.value("label_dim", 0); }
  int64_t augment_dim() const { return config_.value("augment_dim", 0); }
  // One sample's shape: [img_channels, img_resolution, img_resolution] for
  // images, or the edm.config "sample_shape" (e.g. [2] for points in the plane).
  const std::vector<int64_t>& sample_shape() const { return sample_shape_; }

  // The dtype the network runs in on `device`. Precision::FromModel follows
  // the edm.config: float16 (use_fp16) on CUDA only, as the reference;
  // bfloat16 (use_bf16) on CUDA and on CPUs with bfloat16 arithmetic
  // (cpu_has_bfloat16); float32 otherwise. Float32 and BFloat16 override it.
  // Inputs, outputs and the preconditioning stay float32.
  torch::ScalarType compute_dtype(torch::Device device) const;
  void set_precision(Precision precision) { precision_ = precision; }
  Precision precision() const { return precision_; }
  // Runs convolutions channels-last on CUDA (faster with tensor cores); on by
  // default for fp16/bf16.
  void set_channels_last(bool on) { channels_last_ = on ? 1 : 0; }
  bool channels_last(torch::Device device) const;

  // An upsampler of cascaded diffusion (edm.config "upsampler"): the
  // resolution of the images it enlarges (0 for any other model), and the
  // most conditioning-augmentation noise it was trained with.
  int64_t low_resolution() const { return low_resolution_; }
  double cond_aug_max() const { return cond_aug_max_; }
  // The upsampler's conditioning image [N,C,H,W] (diffusion/cascade.h), taken
  // as extra input channels by every forward until replaced; forward refuses
  // an upsampler without one.
  void set_condition(torch::Tensor condition) { condition_ = std::move(condition); }

 private:
  void read_upsampler(const nlohmann::json& config, NetworkShape& shape);
  // c_in x, then an upsampler's conditioning image as further channels.
  torch::Tensor with_condition(const torch::Tensor& x_in) const;
  nlohmann::json config_;
  std::shared_ptr<Preconditioning> pre_;
  std::shared_ptr<NetworkImpl> model_;
  MPFourier logvar_fourier_{nullptr};
  MPConv logvar_linear_{nullptr};
  std::vector<int64_t> sample_shape_;
  bool use_fp16_ = false, use_bf16_ = false;
  Precision precision_ = Precision::FromModel;
  int channels_last_ = -1;  // -1: automatic
  int64_t low_resolution_ = 0;
  double cond_aug_max_ = 0;
  torch::Tensor condition_;
};

// Throws edm::UsageError for bfloat16 on a CPU without bfloat16 arithmetic,
// where it would be emulated and slower than float32.
void check_precision(Precision precision, torch::Device device);

// A freshly initialised preconditioned network from an edm.config (float32,
// on the CPU). Throws edm::Error naming a bad or unknown key.
std::shared_ptr<PrecondImpl> make_precond(const nlohmann::json& config);
// The same on build.device, initialised or not (meta: shapes only).
std::shared_ptr<PrecondImpl> make_precond(const nlohmann::json& config, const Build& build);
// The number of parameters of the network of `config`, counted on the meta
// device (nothing allocated), so that a size can be refused before it is built.
int64_t parameter_count(const nlohmann::json& config);

// A network as a sampling-side denoiser (eval mode, no grad, inputs moved to
// `device`). Model files: edm/model/model_file.h.
// Throws edm::Error for a classifier.
std::shared_ptr<Denoiser> as_denoiser(std::shared_ptr<PrecondImpl> net, torch::Device device);
// A classifier model as a NoisyClassifier (eval mode, frozen weights, on
// `device`); throws edm::Error for a denoiser.
std::shared_ptr<NoisyClassifier> as_classifier(std::shared_ptr<PrecondImpl> net, torch::Device device);

}  // namespace edm::networks
