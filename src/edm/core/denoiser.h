// The one central abstraction: a denoiser D(x; sigma, labels) returns the
// denoised estimate of x. Samplers take a denoiser and nothing else; a
// preconditioned network, the ideal denoiser of a data set and a guided pair
// of denoisers all are denoisers.
#pragma once
#include <torch/torch.h>

#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace edm {

class Denoiser {
 public:
  virtual ~Denoiser() = default;

  // x: [N,C,H,W] (or [N, sample_shape...]); sigma: [N] (or a scalar tensor); class_labels: [N,label_dim]
  // one-hot (undefined when unconditional); augment_labels: [N,augment_dim]
  // (undefined means zeros). Returns D in x's dtype or wider.
  virtual torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma,
                                const torch::Tensor& class_labels = {}, const torch::Tensor& augment_labels = {}) = 0;

  // D together with Improved DDPM's learned variance: v in [0, 1] per element
  // sets the log variance of the reverse step to sigma's next level as
  // v log beta + (1 - v) log beta-tilde. v is undefined for a denoiser that
  // has none (the default, which is D alone).
  virtual std::pair<torch::Tensor, torch::Tensor> denoise_with_variance(const torch::Tensor& x,
                                                                        const torch::Tensor& sigma,
                                                                        const torch::Tensor& class_labels = {}) {
    return {denoise(x, sigma, class_labels), torch::Tensor()};
  }
  // The discrete noise levels the denoiser was trained on, increasing (a
  // DDPM model's T levels); empty when it takes any sigma.
  virtual std::vector<double> sigma_levels() const { return {}; }

  // The noise levels the denoiser supports; samplers clamp to them.
  virtual double sigma_min() const { return 0.0; }
  virtual double sigma_max() const { return std::numeric_limits<double>::infinity(); }
  // Maps sigma onto the levels the denoiser was trained on (iDDPM's u grid).
  virtual torch::Tensor round_sigma(const torch::Tensor& sigma) const { return sigma; }

  virtual int64_t img_channels() const = 0;
  virtual int64_t img_resolution() const = 0;
  // One sample's shape (x is [N, sample_shape...]); images by default.
  virtual std::vector<int64_t> sample_shape() const { return {img_channels(), img_resolution(), img_resolution()}; }
  virtual int64_t label_dim() const { return 0; }
  // The images [N,C,H,W] in [-1, 1] that samples x stand for: x itself, or a
  // latent model's decoding of its latents. Callers that write or measure
  // images go through it.
  virtual torch::Tensor to_images(const torch::Tensor& x) { return x; }
  // What samples are beyond their shape: "" for pixels, else an identity of
  // the latent space (its autoencoder and normalisation) so that two
  // denoisers combined in guidance can be checked to share it.
  virtual std::string sample_space() const { return ""; }
  virtual torch::Device device() const { return torch::kCPU; }
  // The arithmetic of the underlying network (float32, bfloat16, float16),
  // for records; samplers work in float64 whatever it is.
  virtual torch::ScalarType compute_dtype() const { return torch::kFloat32; }
};

}  // namespace edm
