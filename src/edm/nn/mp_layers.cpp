#include "edm/nn/mp_layers.h"

#include <cmath>
#include <numeric>

#include "edm/core/error.h"
#include "edm/nn/product_dtype.h"

namespace edm::networks {

torch::Tensor mp_normalize(const torch::Tensor& x, std::vector<int64_t> dims, double eps) {
  if (dims.empty())
    for (int64_t d = 1; d < x.dim(); ++d) dims.push_back(d);
  auto norm = torch::linalg_vector_norm(x, 2, dims, /*keepdim=*/true, torch::kFloat32);
  const double alpha = std::sqrt(double(norm.numel()) / double(x.numel()));
  norm = torch::add(torch::scalar_tensor(eps, norm.options()), norm, alpha);
  return x / norm.to(x.scalar_type());
}

torch::Tensor mp_silu(const torch::Tensor& x) { return torch::silu(x) / 0.596; }

torch::Tensor mp_sum(const torch::Tensor& a, const torch::Tensor& b, double t) {
  // lerp, as the reference: its rounding is what the golden values carry.
  return a.lerp(b, t) / std::sqrt((1 - t) * (1 - t) + t * t);
}

torch::Tensor mp_cat(const torch::Tensor& a, const torch::Tensor& b, int64_t dim, double t) {
  const double Na = double(a.size(dim)), Nb = double(b.size(dim));
  const double C = std::sqrt((Na + Nb) / ((1 - t) * (1 - t) + t * t));
  const double wa = C / std::sqrt(Na) * (1 - t), wb = C / std::sqrt(Nb) * t;
  return torch::cat({wa * a, wb * b}, dim);
}

torch::Tensor mp_resample(const torch::Tensor& x, const std::vector<double>& f, const std::string& mode) {
  if (mode == "keep") return x;
  if (f.empty() || f.size() % 2) throw Error("resample_filter must have an even, nonzero length");
  auto f32 = torch::tensor(std::vector<float>(f.begin(), f.end()));
  f32 = f32 / f32.sum();
  auto kernel = torch::outer(f32, f32).to(x.options()).unsqueeze(0).unsqueeze(0);
  const int64_t c = x.size(1), pad = (int64_t(f.size()) - 1) / 2;
  if (mode == "down") return torch::conv2d(x, kernel.tile({c, 1, 1, 1}), {}, 2, pad, 1, c);
  return torch::conv_transpose2d(x, (kernel * 4).tile({c, 1, 1, 1}), {}, 2, pad, 0, c);
}

MPFourierImpl::MPFourierImpl(int64_t num_channels, double bandwidth, const Build& build) {
  auto opts = torch::TensorOptions().device(build.device);
  if (build.initialise) {
    freqs = 2 * M_PI * torch::randn({num_channels}, opts) * bandwidth;
    phases = 2 * M_PI * torch::rand({num_channels}, opts);
  } else {
    freqs = torch::empty({num_channels}, opts);
    phases = torch::empty({num_channels}, opts);
  }
  freqs = register_buffer("freqs", freqs);
  phases = register_buffer("phases", phases);
}

torch::Tensor MPFourierImpl::forward(const torch::Tensor& x) {
  auto y = x.to(torch::kFloat32).ger(freqs.to(torch::kFloat32));
  y = y + phases.to(torch::kFloat32);
  return (y.cos() * std::sqrt(2.0)).to(x.scalar_type());
}

MPConvImpl::MPConvImpl(int64_t in_channels, int64_t out_channels, const std::vector<int64_t>& kernel,
                       const Build& build)
    : out_channels(out_channels) {
  std::vector<int64_t> shape{out_channels, in_channels};
  shape.insert(shape.end(), kernel.begin(), kernel.end());
  auto opts = torch::TensorOptions().device(build.device);
  weight = register_parameter("weight", build.initialise ? torch::randn(shape, opts) : torch::empty(shape, opts));
}

torch::Tensor MPConvImpl::normalized_weight() {
  auto w = weight.to(torch::kFloat32);  // the parameter itself for float32
  if (is_training()) {
    torch::NoGradGuard no_grad;
    weight.copy_(mp_normalize(w));
  }
  return mp_normalize(w);
}

torch::Tensor MPConvImpl::apply(const torch::Tensor& x_in, const torch::Tensor& w_in) {
  const auto dt = product_dtype(x_in);
  auto x = x_in.to(dt), w = w_in.to(dt);
  auto y = w.dim() == 2 ? x.matmul(w.t()) : torch::conv2d(x, w, {}, 1, w.size(-1) / 2);
  count_product_flops(y, 2.0 * static_cast<double>(w[0].numel()));
  return y.to(x_in.scalar_type());
}

torch::Tensor MPConvImpl::forward(const torch::Tensor& x, double gain) {
  auto w = normalized_weight();
  return apply(x, w * (gain / std::sqrt(double(w[0].numel()))));
}

torch::Tensor MPConvImpl::forward(const torch::Tensor& x, const torch::Tensor& gain) {
  auto w = normalized_weight();
  return apply(x, w * (gain / std::sqrt(double(w[0].numel()))));
}

}  // namespace edm::networks
