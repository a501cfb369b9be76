#include "edm/io/image.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include "edm/core/error.h"
#include "edm/io/atomic_file.h"

namespace edm {

torch::Tensor to_uint8_nhwc(const torch::Tensor& images) {
  return (images.to(torch::kFloat64) * 127.5 + 128)
      .clamp(0, 255)
      .to(torch::kUInt8)
      .permute({0, 2, 3, 1})
      .contiguous()
      .cpu();
}

torch::Tensor from_uint8(const torch::Tensor& pixels, torch::ScalarType dtype) { return pixels.to(dtype) / 127.5 - 1; }

std::string encode_png(const torch::Tensor& hwc_uint8) {
  auto img = hwc_uint8.to(torch::kCPU).contiguous();
  if (img.dim() != 3 || img.scalar_type() != torch::kUInt8 ||
      (img.size(2) != 1 && img.size(2) != 3 && img.size(2) != 4))
    throw Error("write_png: expected a uint8 [H,W,C] image with 1, 3 or 4 channels");
  int w = static_cast<int>(img.size(1)), h = static_cast<int>(img.size(0)), c = static_cast<int>(img.size(2));
  std::string out;
  auto append = [](void* ctx, void* data, int size) {
    static_cast<std::string*>(ctx)->append(static_cast<char*>(data), size);
  };
  if (!stbi_write_png_to_func(append, &out, w, h, c, img.data_ptr<uint8_t>(), w * c))
    throw Error("write_png: encoding failed");
  return out;
}

void write_png(const std::string& path, const torch::Tensor& hwc_uint8) {
  write_file_atomic(path, encode_png(hwc_uint8));
}

torch::Tensor decode_image(const std::string& bytes, const std::string& name) {
  int w = 0, h = 0, c = 0;
  // A header may declare any size: stb allocates it before reading the
  // pixels, so a few bytes could ask for gigabytes.
  if (bytes.size() > size_t(INT32_MAX)) throw Error("'" + name + "' is larger than 2 GiB");
  if (stbi_info_from_memory(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()), &w,
                            &h, &c) &&
      int64_t(w) * h * c > kMaxImageBytes)
    throw Error("'" + name + "' declares a " + std::to_string(w) + "x" + std::to_string(h) + "x" + std::to_string(c) +
                " image, more than " + std::to_string(kMaxImageBytes >> 20) + " MiB of pixels");
  unsigned char* p = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(bytes.data()),
                                           static_cast<int>(bytes.size()), &w, &h, &c, 0);
  if (!p) throw Error("'" + name + "' is not a readable image (" + stbi_failure_reason() + ")");
  auto t = torch::from_blob(p, {h, w, c}, torch::kUInt8).permute({2, 0, 1}).clone();
  stbi_image_free(p);
  return t;
}

torch::Tensor read_image(const std::string& path) { return decode_image(read_file(path), path); }

torch::Tensor make_grid(const torch::Tensor& images, int64_t cols, int64_t pad) {
  auto x = images;
  if (x.scalar_type() != torch::kUInt8) x = to_uint8_nhwc(x).permute({0, 3, 1, 2});
  x = x.cpu();
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  cols = std::max<int64_t>(1, std::min(cols, n));
  const int64_t rows = (n + cols - 1) / cols;
  auto grid = torch::full({c, rows * (h + pad) + pad, cols * (w + pad) + pad}, 255, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    int64_t r = i / cols, k = i % cols;
    grid.narrow(1, pad + r * (h + pad), h).narrow(2, pad + k * (w + pad), w).copy_(x[i]);
  }
  return grid.permute({1, 2, 0}).contiguous();
}

}  // namespace edm
