// Guidance in a limited interval of noise levels (Kynkaanniemi et al. 2024,
// "Applying Guidance in a Limited Interval Improves Sample and Distribution
// Quality in Diffusion Models"): guided for sigma in (sigma_lo, sigma_hi],
// the unguided denoiser elsewhere. Guidance at high noise levels drives the
// samples towards few modes; at low ones it barely matters.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <limits>
#include <optional>

namespace edm {

struct GuidanceInterval {
  double sigma_lo = 0;
  double sigma_hi = std::numeric_limits<double>::infinity();
};

// Throws edm::UsageError unless 0 <= sigma_lo < sigma_hi (numbers).
void check_guidance_interval(const GuidanceInterval& g);

// `guided()` where sigma (a scalar, or one per row of `plain`) lies in the
// interval (everywhere when there is none), `plain` elsewhere; guided() is
// called only when some sigma does.
torch::Tensor guide_within(const std::optional<GuidanceInterval>& g, const torch::Tensor& sigma,
                           const torch::Tensor& plain, const std::function<torch::Tensor()>& guided);

}  // namespace edm
