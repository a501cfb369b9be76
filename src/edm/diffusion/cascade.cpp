#include "edm/diffusion/cascade.h"

#include "edm/core/error.h"

namespace edm::cascade {

namespace F = torch::nn::functional;

torch::Tensor downsample(const torch::Tensor& images, int64_t r) {
  const int64_t H = images.size(-1);
  if (r < 1 || H % r)
    throw UsageError(std::to_string(r) + " px does not divide the images' " + std::to_string(H) + " px");
  return F::avg_pool2d(images, F::AvgPool2dFuncOptions(H / r));
}

torch::Tensor upsample(const torch::Tensor& low, int64_t R) {
  return F::interpolate(
      low, F::InterpolateFuncOptions().size(std::vector<int64_t>{R, R}).mode(torch::kBilinear).align_corners(false));
}

torch::Tensor condition(const torch::Tensor& low, int64_t R, const torch::Tensor& sigma_aug, const torch::Tensor& n) {
  auto up = upsample(low, R);
  return up + sigma_aug.to(up.dtype()).view({-1, 1, 1, 1}) * n.to(up.dtype());
}

torch::Tensor augment_label(const torch::Tensor& sigma_aug) { return sigma_aug.reshape({-1, 1}); }

}  // namespace edm::cascade
