#include "edm/eval/frechet.h"

#include <cmath>

#include "edm/core/error.h"
#include "edm/io/safetensors.h"

namespace edm {

void FeatureAccumulator::add(const torch::Tensor& features) {
  if (features.dim() != 2) throw Error("features must be [N,F]");
  auto x = features.to(torch::kCPU, torch::kFloat64);
  if (!sum_.defined()) {
    sum_ = torch::zeros({x.size(1)}, torch::kFloat64);
    outer_ = torch::zeros({x.size(1), x.size(1)}, torch::kFloat64);
  }
  if (x.size(1) != sum_.size(0)) throw Error("feature size changed between batches");
  sum_ += x.sum(0);
  outer_ += x.t().mm(x);
  count_ += x.size(0);
}

void FeatureAccumulator::reduce(const std::function<void(torch::Tensor&)>& sum_across) {
  if (!sum_.defined()) throw Error("no feature vectors to join (fewer images than processes?)");
  auto n = torch::tensor({static_cast<double>(count_)}, torch::kFloat64);
  sum_across(sum_);
  sum_across(outer_);
  sum_across(n);
  count_ = static_cast<int64_t>(std::llround(n.item<double>()));
}

FeatureStats FeatureAccumulator::finish() const {
  if (count_ < 2) throw Error("need at least 2 images for a covariance, got " + std::to_string(count_));
  auto mu = sum_ / static_cast<double>(count_);
  auto sigma = (outer_ - torch::outer(mu, mu) * static_cast<double>(count_)) / static_cast<double>(count_ - 1);
  return {mu, sigma, count_};
}

FeatureStats feature_stats(const torch::Tensor& features) {
  if (features.dim() != 2 || features.size(0) < 2)
    throw Error("need at least 2 feature vectors [N,F] for a covariance");
  auto x = features.to(torch::kCPU, torch::kFloat64);
  auto mu = x.mean(0);
  auto c = x - mu;
  return {mu, c.t().mm(c) / static_cast<double>(x.size(0) - 1), x.size(0)};
}

namespace {

// Symmetric PSD square root by eigendecomposition (tiny negative eigenvalues
// from rounding clamp to zero).
torch::Tensor sqrt_psd(const torch::Tensor& s) {
  auto [values, vectors] = torch::linalg::eigh(s, "L");
  return vectors.mm(torch::diag(values.clamp_min(0).sqrt())).mm(vectors.t());
}

// A covariance is finite, symmetric and positive semi-definite (up to
// rounding); anything else gives a distance that means nothing.
void check_statistics(const torch::Tensor& mu, const torch::Tensor& sigma, const std::string& where) {
  if (!torch::isfinite(mu).all().item<bool>() || !torch::isfinite(sigma).all().item<bool>())
    throw Error(where + ": mu or sigma has non-finite values (NaN or Inf)");
  auto s = sigma.to(torch::kFloat64);
  const double scale = s.abs().max().item<double>();
  if (!torch::allclose(s, s.t(), 1e-9, 1e-12 * scale))
    throw Error(where + ": sigma is not symmetric, so not a covariance");
  if (torch::linalg::eigvalsh(s, "L").min().item<double>() < -1e-8 * scale)
    throw Error(where + ": sigma is not positive semi-definite, so not a covariance");
}

}  // namespace

double frechet_distance(const torch::Tensor& mu1, const torch::Tensor& sigma1, const torch::Tensor& mu2,
                        const torch::Tensor& sigma2) {
  if (mu1.dim() != 1 || mu2.dim() != 1 || mu1.size(0) != mu2.size(0))
    throw Error("statistics differ in feature size: " + std::to_string(mu1.numel()) + " vs " +
                std::to_string(mu2.numel()));
  int64_t f = mu1.size(0);
  for (const auto* s : {&sigma1, &sigma2})
    if (s->dim() != 2 || s->size(0) != f || s->size(1) != f)
      throw Error("covariance must be [" + std::to_string(f) + "," + std::to_string(f) + "]");
  check_statistics(mu1, sigma1, "first statistics");
  check_statistics(mu2, sigma2, "second statistics");
  auto m1 = mu1.to(torch::kFloat64), m2 = mu2.to(torch::kFloat64);
  auto s1 = sigma1.to(torch::kFloat64), s2 = sigma2.to(torch::kFloat64);
  s1 = (s1 + s1.t()) / 2, s2 = (s2 + s2.t()) / 2;
  // tr (S1 S2)^(1/2) = tr (S1^(1/2) S2 S1^(1/2))^(1/2): the latter is symmetric
  // PSD, so its eigenvalues are real and the square root is stable.
  auto r = sqrt_psd(s1);
  auto m = r.mm(s2).mm(r);
  auto eig = torch::linalg::eigvalsh((m + m.t()) / 2, "L");
  double tr_sqrt = eig.clamp_min(0).sqrt().sum().item<double>();
  double mean_term = (m1 - m2).square().sum().item<double>();
  return mean_term + s1.trace().item<double>() + s2.trace().item<double>() - 2 * tr_sqrt;
}

void save_stats(const std::string& path, const FeatureStats& s, const std::string& detector,
                const std::string& source) {
  save_tensors(
      path, {{"mu", s.mu.to(torch::kFloat64)}, {"sigma", s.sigma.to(torch::kFloat64)}},
      {{"edm.fid_stats", nlohmann::json{{"count", s.count}, {"detector", detector}, {"source", source}}.dump()}});
}

FeatureStats load_stats(const std::string& path) {
  TensorFile f(path);
  if (!f.has("mu") || !f.has("sigma")) throw Error(path + ": not a statistics file (needs tensors mu and sigma)");
  auto mu = f.get("mu").to(torch::kFloat64), sigma = f.get("sigma").to(torch::kFloat64);
  if (mu.dim() != 1 || sigma.dim() != 2 || sigma.size(0) != mu.size(0) || sigma.size(1) != mu.size(0))
    throw Error(path + ": mu must be [F] and sigma [F,F], got " + std::to_string(mu.dim()) + "-D mu and sigma " +
                c10::str(sigma.sizes()));
  check_statistics(mu, sigma, path);
  int64_t count = 0;
  auto meta = nlohmann::json::parse(f.metadata("edm.fid_stats", "{}"), nullptr, false);
  if (meta.is_object() && meta.contains("count") && meta["count"].is_number_integer()) count = meta["count"];
  return {mu, sigma, count};
}

double frechet_distance_to_reference(const FeatureStats& stats, const FeatureStats& ref, const std::string& ref_name) {
  if (stats.mu.size(0) != ref.mu.size(0))
    throw Error(ref_name + " has " + std::to_string(ref.mu.size(0)) + " features, the detector gives " +
                std::to_string(stats.mu.size(0)) + " (made with another detector?)");
  return frechet_distance(stats, ref);
}

}  // namespace edm
