#include "edm/sampling/guidance_interval.h"

#include <cmath>
#include <string>

#include "edm/core/error.h"

namespace edm {

void check_guidance_interval(const GuidanceInterval& g) {
  if (!(g.sigma_lo >= 0) || !(g.sigma_lo < g.sigma_hi))
    throw UsageError("--guidance-interval " + std::to_string(g.sigma_lo) + "," + std::to_string(g.sigma_hi) +
                     ": needs 0 <= sigma_lo < sigma_hi");
}

torch::Tensor guide_within(const std::optional<GuidanceInterval>& g, const torch::Tensor& sigma,
                           const torch::Tensor& plain, const std::function<torch::Tensor()>& guided) {
  if (!g) return guided();
  const auto s = sigma.to(torch::kFloat64).flatten();
  const auto inside = (s > g->sigma_lo).logical_and(s <= g->sigma_hi);
  if (inside.all().item<bool>()) return guided();
  if (!inside.any().item<bool>()) return plain;
  auto out = guided();
  std::vector<int64_t> shape(static_cast<size_t>(plain.dim()), 1);
  shape[0] = inside.numel();  // one sigma per row
  const auto dtype = torch::promote_types(out.scalar_type(), plain.scalar_type());
  return torch::where(inside.view(shape).to(plain.device()), out.to(dtype), plain.to(dtype));
}

}  // namespace edm
