#include "edm/likelihood/divergence.h"

#include "edm/core/error.h"
#include "edm/sampling/sampler.h"

namespace edm {

namespace {

torch::Tensor grad_of(const torch::Tensor& scalar, const torch::Tensor& x) {
  return torch::autograd::grad({scalar}, {x}, {}, /*retain_graph=*/true)[0];
}

// Row i of dD/dx is the gradient of D_i summed over the batch (samples are independent).
torch::Tensor exact_trace(const torch::Tensor& d, const torch::Tensor& x) {
  const auto flat = d.reshape({d.size(0), -1});
  auto trace = torch::zeros({d.size(0)}, d.options().requires_grad(false));
  for (int64_t i = 0; i < flat.size(1); ++i)
    trace += grad_of(flat.select(1, i).sum(), x).reshape({x.size(0), -1}).select(1, i);
  return trace;
}

torch::Tensor hutchinson_trace(const torch::Tensor& d, const torch::Tensor& x, const torch::Tensor& probes) {
  auto trace = torch::zeros({d.size(0)}, d.options().requires_grad(false));
  for (int64_t k = 0; k < probes.size(0); ++k) {
    const auto eps = probes[k].to(d.options().requires_grad(false));
    trace += (grad_of((d * eps).sum(), x) * eps).reshape({x.size(0), -1}).sum(1);
  }
  return trace / static_cast<double>(probes.size(0));
}

}  // namespace

ProbeKind parse_probe_kind(const std::string& name) {
  if (name == "rademacher") return ProbeKind::Rademacher;
  if (name == "gaussian") return ProbeKind::Gaussian;
  throw UsageError("unknown probe '" + name + "' (rademacher or gaussian)");
}

torch::Tensor draw_probes(ProbeKind kind, int64_t k, at::IntArrayRef shape, at::Generator& gen) {
  std::vector<int64_t> full{k};
  full.insert(full.end(), shape.begin(), shape.end());
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  if (kind == ProbeKind::Gaussian) return torch::randn(full, gen, f64);
  return torch::randint(0, 2, full, gen, f64) * 2 - 1;
}

std::pair<torch::Tensor, torch::Tensor> denoise_with_trace(Denoiser& net, const torch::Tensor& x, double sigma,
                                                           const torch::Tensor& class_labels,
                                                           const torch::Tensor& probes) {
  torch::AutoGradMode grad_mode(true);
  const auto xg = x.detach().to(torch::kFloat64).requires_grad_(true);
  const auto d = denoise_at(net, xg, sigma, class_labels);
  if (!d.requires_grad()) throw Error("the denoiser cannot be differentiated (no autograd through it)");
  auto trace = probes.defined() ? hutchinson_trace(d, xg, probes) : exact_trace(d, xg);
  return {d.detach(), trace};
}

}  // namespace edm
