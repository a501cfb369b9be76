#include "edm/data/image_transform.h"

#include <cmath>
#include <vector>

#include "edm/core/error.h"

namespace edm {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // PIL's fixed point for 8-bit images

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= M_PI;
  return std::sin(x) / x;
}
double lanczos3(double x) { return (-3.0 <= x && x < 3.0) ? sinc(x) * sinc(x / 3.0) : 0.0; }

// Per output pixel: the first input pixel and the fixed-point weights.
struct Taps {
  std::vector<int64_t> first;
  std::vector<std::vector<int32_t>> weights;
};

Taps lanczos_taps(int64_t in_size, int64_t out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0), support = 3.0 * filterscale;
  Taps t;
  for (int64_t o = 0; o < out_size; ++o) {
    const double center = (o + 0.5) * scale;
    const auto lo = std::max<int64_t>(0, static_cast<int64_t>(center - support + 0.5));
    const auto hi = std::min<int64_t>(in_size, static_cast<int64_t>(center + support + 0.5));
    std::vector<double> w;
    double sum = 0;
    for (int64_t x = lo; x < hi; ++x) sum += w.emplace_back(lanczos3((x - center + 0.5) * (1.0 / filterscale)));
    std::vector<int32_t> fixed;
    for (double v : w) {
      if (sum != 0.0) v /= sum;
      fixed.push_back(static_cast<int32_t>(v * (1 << kPrecisionBits) + (v < 0 ? -0.5 : 0.5)));
    }
    t.first.push_back(lo);
    t.weights.push_back(std::move(fixed));
  }
  return t;
}

uint8_t clip8(int64_t acc) {
  if (acc <= 0) return 0;
  if (acc >= (int64_t(255) << kPrecisionBits)) return 255;
  return static_cast<uint8_t>(acc >> kPrecisionBits);
}

// Resamples dim 0 of [L, M, C] uint8 to out_size rows.
torch::Tensor resample_rows(const torch::Tensor& in, int64_t out_size) {
  const int64_t n = in.size(0), m = in.size(1) * in.size(2);
  if (n == out_size) return in;
  const Taps t = lanczos_taps(n, out_size);
  auto out = torch::empty({out_size, in.size(1), in.size(2)}, torch::kUInt8);
  const uint8_t* src = in.data_ptr<uint8_t>();
  uint8_t* dst = out.data_ptr<uint8_t>();
  for (int64_t o = 0; o < out_size; ++o)
    for (int64_t j = 0; j < m; ++j) {
      int64_t acc = int64_t(1) << (kPrecisionBits - 1);
      for (size_t k = 0; k < t.weights[o].size(); ++k) acc += int64_t(src[(t.first[o] + k) * m + j]) * t.weights[o][k];
      dst[o * m + j] = clip8(acc);
    }
  return out;
}

torch::Tensor grey_to_rgb(const torch::Tensor& hwc) { return hwc.size(2) == 1 ? hwc.expand({-1, -1, 3}) : hwc; }

torch::Tensor center_crop(const torch::Tensor& img, int64_t width, int64_t height) {
  const int64_t h = img.size(0), w = img.size(1), crop = std::min(h, w);
  auto c = img.narrow(0, (h - crop) / 2, crop).narrow(1, (w - crop) / 2, crop);
  return resize_lanczos(grey_to_rgb(c), width, height);
}

torch::Tensor center_crop_wide(const torch::Tensor& img, int64_t width, int64_t height) {
  const int64_t h = img.size(0), w = img.size(1);
  const auto ch = static_cast<int64_t>(std::nearbyint(static_cast<double>(width) * h / w));  // ties to even
  if (w < width || ch < height) return {};
  auto c = resize_lanczos(grey_to_rgb(img.narrow(0, (h - ch) / 2, ch)), width, height);
  auto canvas = torch::zeros({width, width, 3}, torch::kUInt8);
  canvas.narrow(0, (width - height) / 2, height).copy_(c);
  return canvas;
}

}  // namespace

torch::Tensor resize_lanczos(const torch::Tensor& hwc, int64_t width, int64_t height) {
  auto img = hwc.contiguous();
  if (img.size(1) != width) img = resample_rows(img.transpose(0, 1).contiguous(), width).transpose(0, 1).contiguous();
  return resample_rows(img, height);
}

void check_transform(const ImageTransform& t) {
  if (t.width.has_value() != t.height.has_value()) throw UsageError("--resolution needs both a width and a height");
  if (t.width && (*t.width < 1 || *t.height < 1)) throw UsageError("--resolution must be positive");
  if (t.mode.empty()) return;
  if (t.mode != "center-crop" && t.mode != "center-crop-wide")
    throw UsageError("unknown --transform '" + t.mode + "' (center-crop or center-crop-wide)");
  if (!t.width) throw UsageError("--transform " + t.mode + " needs --resolution WxH");
}

torch::Tensor apply_transform(const ImageTransform& t, const torch::Tensor& hwc) {
  if (t.mode == "center-crop") return center_crop(hwc, *t.width, *t.height);
  if (t.mode == "center-crop-wide") return center_crop_wide(hwc, *t.width, *t.height);
  if (!t.width) return hwc;
  return resize_lanczos(hwc, *t.width, *t.height);
}

}  // namespace edm
