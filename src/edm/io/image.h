// PNG images in and out, and the reference's float <-> uint8 conversion.
#pragma once
#include <torch/torch.h>

#include <string>

namespace edm {

// Images in [-1, 1], [N,C,H,W] -> uint8 [N,H,W,C] as the reference quantises:
// (x * 127.5 + 128) clipped to [0, 255] and truncated.
torch::Tensor to_uint8_nhwc(const torch::Tensor& images);

// uint8 pixels in [0, 255] -> [-1, 1] of the given type, as the reference
// reads its data: x / 127.5 - 1 (same shape, same device).
torch::Tensor from_uint8(const torch::Tensor& pixels, torch::ScalarType dtype = torch::kFloat32);

// Writes one uint8 image [H,W,C] (C = 1 or 3) as PNG, atomically.
void write_png(const std::string& path, const torch::Tensor& hwc_uint8);
// Encodes to PNG bytes in memory.
std::string encode_png(const torch::Tensor& hwc_uint8);

// Reads a PNG (or any format stb reads) into uint8 [C,H,W] with its own
// channel count; throws edm::Error naming the file if it is not a readable image.
// Images of more than kMaxImageBytes pixel bytes are refused before they are decoded.
constexpr int64_t kMaxImageBytes = int64_t(1) << 28;
torch::Tensor read_image(const std::string& path);
torch::Tensor decode_image(const std::string& bytes, const std::string& name);

// Tiles [N,C,H,W] uint8 or float images into one [rows*H, cols*W, C] uint8 grid.
torch::Tensor make_grid(const torch::Tensor& images, int64_t cols, int64_t pad = 0);

}  // namespace edm
