// The ideal denoiser of a finite data set: the exact posterior mean E[y | x]
// for y drawn from the points (optionally each blurred into an isotropic
// Gaussian of standard deviation `std`) and x = y + sigma n. The ground truth
// samplers are tested against.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>

#include "edm/core/denoiser.h"
#include "edm/io/safetensors.h"

namespace edm {

class IdealDenoiser : public Denoiser {
 public:
  // points [K,C,H,W] (or any [K, sample_shape...]); labels [K] int64 or undefined; std >= 0. Squared
  // distances are direct differences (exact to rounding, what the reference
  // tests need) unless `fast`: |x|^2 - 2 x.y + |y|^2 by matrix products,
  // ~10x faster on large sets, with float64 cancellation error ~1e-13 |x|^2.
  IdealDenoiser(torch::Tensor points, torch::Tensor labels, double std, int64_t label_dim = 0, bool fast = false);

  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& class_labels = {},
                        const torch::Tensor& augment_labels = {}) override;
  int64_t img_channels() const override { return points_.size(1); }
  int64_t img_resolution() const override { return points_.dim() > 2 ? points_.size(2) : 0; }
  std::vector<int64_t> sample_shape() const override { return points_.sizes().slice(1).vec(); }
  int64_t label_dim() const override { return label_dim_; }
  torch::Device device() const override { return points_.device(); }

  const torch::Tensor& points() const { return points_; }
  const torch::Tensor& labels() const { return labels_; }
  double std() const { return std_; }

 private:
  torch::Tensor points_, flat_, labels_;
  double std_;
  int64_t label_dim_;
  bool fast_;
  torch::Tensor sq_norms_;  // |y_k|^2, for the fast distances
};

// {"precond": "ideal", "std": s} with tensors `points` [K,C,H,W] (or [K, ...])
// and optional `labels` [K].
std::shared_ptr<Denoiser> load_ideal_denoiser(const TensorFile& file, const nlohmann::json& config,
                                              torch::Device device);
void save_ideal_denoiser(const std::string& path, const torch::Tensor& points, const torch::Tensor& labels, double std);

}  // namespace edm
