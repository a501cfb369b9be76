// The reference dataset tool's crops and resizes. Resizing is PIL's LANCZOS
// (a=3, widened by the scale when shrinking, separable, horizontal then
// vertical, 8-bit fixed-point weights), so that images match the reference's.
#pragma once
#include <torch/torch.h>

#include <optional>
#include <string>

namespace edm {

// uint8 [H,W,C] -> uint8 [height,width,C].
torch::Tensor resize_lanczos(const torch::Tensor& hwc, int64_t width, int64_t height);

struct ImageTransform {
  std::string mode;                      // "" (resize only), "center-crop", "center-crop-wide"
  std::optional<int64_t> width, height;  // --resolution WxH; both or neither
};
// Throws edm::UsageError for an unknown mode, or a crop without a resolution.
void check_transform(const ImageTransform& t);
// The transformed image, or undefined when center-crop-wide skips an image
// too small for the output (as the reference does).
torch::Tensor apply_transform(const ImageTransform& t, const torch::Tensor& hwc);

}  // namespace edm
