#include "edm/sampling/brownian.h"

#include <cmath>
#include <cstring>

namespace edm {

namespace {

uint64_t splitmix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Uniform in (0, 1], 53 bits.
double to_unit(uint64_t bits) { return (static_cast<double>(bits >> 11) + 1) * 0x1.0p-53; }

}  // namespace

void keyed_normals(uint64_t key, uint64_t node, double* out, int64_t n) {
  const uint64_t base = splitmix64(key ^ splitmix64(node));
  for (int64_t i = 0; i < n; i += 2) {
    const uint64_t a = splitmix64(base + 2 * static_cast<uint64_t>(i)), b = splitmix64(a);
    const double r = std::sqrt(-2 * std::log(to_unit(a))), phi = 2 * M_PI * to_unit(b);
    out[i] = r * std::cos(phi);
    if (i + 1 < n) out[i + 1] = r * std::sin(phi);
  }
}

BrownianTree::BrownianTree(std::vector<uint64_t> keys, std::vector<int64_t> sample_shape, double t0, double t1)
    : keys_(std::move(keys)), shape_(std::move(sample_shape)), numel_(1), t0_(t0), t1_(t1) {
  for (auto s : shape_) numel_ *= s;
}

// Bisects [t0, t1] towards t; each midpoint is the bridge mean plus
// sqrt(width / 4) times the node's normal. Below a width of 1e-12 of the
// domain the bridge mean (linear interpolation) is used.
void BrownianTree::path_at(uint64_t key, double t, double* out) const {
  std::vector<double> lo(numel_, 0.0), hi(numel_), z(numel_);
  keyed_normals(key, 1, hi.data(), numel_);
  for (auto& v : hi) v *= std::sqrt(t1_ - t0_);
  double a = t0_, b = t1_;
  uint64_t node = 1;  // [a, b]'s place in the heap; its midpoint's normals
  for (int depth = 0; depth < 40 && t > a && t < b; ++depth) {
    const double mid = 0.5 * (a + b);
    keyed_normals(key, node + (uint64_t{1} << 62), z.data(), numel_);
    const double sd = std::sqrt(0.25 * (b - a));
    for (int64_t i = 0; i < numel_; ++i) z[i] = 0.5 * (lo[i] + hi[i]) + sd * z[i];
    if (t < mid) {
      hi.swap(z), b = mid, node = 2 * node;
    } else {
      lo.swap(z), a = mid, node = 2 * node + 1;
    }
  }
  const double f = b > a ? (t - a) / (b - a) : 0;
  for (int64_t i = 0; i < numel_; ++i) out[i] = t >= b ? hi[i] : t <= a ? lo[i] : lo[i] + f * (hi[i] - lo[i]);
}

torch::Tensor BrownianTree::at(double t) const {
  t = std::min(std::max(t, t0_), t1_);
  std::vector<int64_t> shape{static_cast<int64_t>(keys_.size())};
  shape.insert(shape.end(), shape_.begin(), shape_.end());
  auto w = torch::empty(shape, torch::kFloat64);
  for (size_t k = 0; k < keys_.size(); ++k) path_at(keys_[k], t, w.data_ptr<double>() + k * numel_);
  return w;
}

torch::Tensor BrownianTree::normalized_increment(double a, double b) const {
  return (at(b) - at(a)) / std::sqrt(std::abs(b - a));
}

std::vector<uint64_t> brownian_keys(const NoiseFn& randn_like, const torch::Tensor& like) {
  auto first = randn_like(like).to(torch::kCPU).to(torch::kFloat64).flatten(1).select(1, 0).contiguous();
  std::vector<uint64_t> keys(first.size(0));
  for (int64_t i = 0; i < first.size(0); ++i) std::memcpy(&keys[i], first.data_ptr<double>() + i, sizeof(double));
  return keys;
}

}  // namespace edm
