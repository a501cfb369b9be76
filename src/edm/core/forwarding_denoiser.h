// A denoiser built around another object that knows the noise levels and
// the data it works on (another denoiser, or a preconditioned network): it
// answers everything but denoise() from that object. Guidance and the
// sampling-side view of a network derive from it instead of forwarding the
// same methods one by one.
#pragma once
#include <memory>
#include <type_traits>

#include "edm/core/denoiser.h"

namespace edm {

template <class Inner>
class ForwardingDenoiser : public Denoiser {
 public:
  explicit ForwardingDenoiser(std::shared_ptr<Inner> inner) : inner_(std::move(inner)) {}

  double sigma_min() const override { return inner_->sigma_min(); }
  double sigma_max() const override { return inner_->sigma_max(); }
  torch::Tensor round_sigma(const torch::Tensor& sigma) const override { return inner_->round_sigma(sigma); }
  std::vector<double> sigma_levels() const override { return inner_->sigma_levels(); }
  int64_t img_channels() const override { return inner_->img_channels(); }
  int64_t img_resolution() const override { return inner_->img_resolution(); }
  std::vector<int64_t> sample_shape() const override { return inner_->sample_shape(); }
  int64_t label_dim() const override { return inner_->label_dim(); }
  torch::Device device() const override {
    if constexpr (std::is_base_of_v<Denoiser, Inner>) return inner_->device();
    return Denoiser::device();  // a network view answers this itself
  }
  torch::Tensor to_images(const torch::Tensor& x) override {
    if constexpr (std::is_base_of_v<Denoiser, Inner>) return inner_->to_images(x);
    return x;  // a network view samples pixels
  }
  std::string sample_space() const override {
    if constexpr (std::is_base_of_v<Denoiser, Inner>) return inner_->sample_space();
    return "";
  }
  torch::ScalarType compute_dtype() const override {
    if constexpr (std::is_base_of_v<Denoiser, Inner>) return inner_->compute_dtype();
    return torch::kFloat32;  // a network view answers this itself
  }

 protected:
  std::shared_ptr<Inner> inner_;
};

}  // namespace edm
