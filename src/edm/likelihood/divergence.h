// The divergence the probability-flow ODE needs: tr(dD/dx) of a denoiser,
// by autograd. Exactly (one backward pass per dimension, for small inputs
// such as the 2-D toys) or by Hutchinson's estimator E[eps^T (dD/dx) eps]
// with probes eps of zero mean and identity covariance (one backward pass
// per probe): unbiased for any number of probes.
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>

#include "edm/core/denoiser.h"

namespace edm {

enum class ProbeKind { Rademacher, Gaussian };
// "rademacher" | "gaussian"; edm::UsageError otherwise.
ProbeKind parse_probe_kind(const std::string& name);

// K probes for one sample of shape `shape`: [K, shape...] float64, drawn
// from `gen` (+-1 with equal odds, or standard normal).
torch::Tensor draw_probes(ProbeKind kind, int64_t k, at::IntArrayRef shape, at::Generator& gen);

// D(x; sigma) and, per sample, tr(dD/dx) [N] (both float64, detached):
// exact when `probes` is undefined, else the mean of Hutchinson's estimate
// over probes [K, N, ...] (x's shape behind K).
std::pair<torch::Tensor, torch::Tensor> denoise_with_trace(Denoiser& net, const torch::Tensor& x, double sigma,
                                                           const torch::Tensor& class_labels,
                                                           const torch::Tensor& probes);

}  // namespace edm
