// The Frechet distance between two Gaussians fitted to detector features:
// |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)), the FID when the features are
// Inception-v3's. Everything in float64.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <string>

namespace edm {

// Mean [F] and unbiased covariance [F,F] (np.cov(rowvar=False)) of features.
struct FeatureStats {
  torch::Tensor mu, sigma;
  int64_t count = 0;
};

// Accumulates sums in float64 so the statistics of a whole data set are built
// batch by batch without keeping every feature vector.
class FeatureAccumulator {
 public:
  void add(const torch::Tensor& features);  // [N,F]
  int64_t count() const { return count_; }
  // Joins the accumulators of several processes: `sum_across` sums a tensor
  // over them in place (e.g. World::all_reduce_sum). Every process must have
  // added at least one feature vector.
  void reduce(const std::function<void(torch::Tensor&)>& sum_across);
  // Throws edm::Error with fewer than two feature vectors.
  FeatureStats finish() const;

 private:
  torch::Tensor sum_, outer_;
  int64_t count_ = 0;
};

FeatureStats feature_stats(const torch::Tensor& features);

// Checks shapes (mu [F], sigma [F,F], same F on both sides); throws edm::Error.
double frechet_distance(const torch::Tensor& mu1, const torch::Tensor& sigma1, const torch::Tensor& mu2,
                        const torch::Tensor& sigma2);
inline double frechet_distance(const FeatureStats& a, const FeatureStats& b) {
  return frechet_distance(a.mu, a.sigma, b.mu, b.sigma);
}

// The distance of `stats` to reference statistics `ref` (read from
// `ref_name`); throws edm::Error naming it when the feature sizes differ,
// i.e. the statistics were made with another detector.
double frechet_distance_to_reference(const FeatureStats& stats, const FeatureStats& ref, const std::string& ref_name);

// Statistics files: safetensors `mu` [F] and `sigma` [F,F] float64, with the
// number of images and the detector in the metadata.
void save_stats(const std::string& path, const FeatureStats& s, const std::string& detector, const std::string& source);
FeatureStats load_stats(const std::string& path);  // throws edm::Error naming the file

}  // namespace edm
