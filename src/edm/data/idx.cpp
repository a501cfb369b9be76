#include "edm/data/idx.h"

#include <cstdlib>
#include <filesystem>

#include "edm/core/error.h"
#include "edm/io/gzip.h"

namespace edm {

torch::Tensor read_idx(const std::string& path) {
  std::string b = read_maybe_gzipped(path);
  auto u8 = [&](size_t i) { return static_cast<uint8_t>(b[i]); };
  if (b.size() < 4 || u8(0) != 0 || u8(1) != 0) throw Error("'" + path + "' is not an IDX file");
  if (u8(2) != 0x08) throw Error("'" + path + "' is an IDX file of a type other than unsigned bytes");
  const int ndim = u8(3);
  if (ndim < 1 || ndim > 4 || b.size() < 4 + 4 * static_cast<size_t>(ndim))
    throw Error("'" + path + "' has a truncated IDX header");
  std::vector<int64_t> shape;
  uint64_t count = 1;
  for (int d = 0; d < ndim; ++d) {
    size_t o = 4 + 4 * d;
    uint32_t v = (uint32_t(u8(o)) << 24) | (uint32_t(u8(o + 1)) << 16) | (uint32_t(u8(o + 2)) << 8) | u8(o + 3);
    // A zero dimension leaves no data (and a null pointer to copy to); the
    // product is checked against the file's size before it can overflow.
    if (v == 0) throw Error("'" + path + "' has an empty dimension in its IDX header");
    if (count > b.size() / v) throw Error("'" + path + "' has an IDX header larger than its data");
    shape.push_back(v);
    count *= v;
  }
  const size_t start = 4 + 4 * ndim;
  if (b.size() - start != count)
    throw Error("'" + path + "' holds " + std::to_string(b.size() - start) + " bytes of data, expected " +
                std::to_string(count));
  auto t = torch::empty(shape, torch::kUInt8);
  std::memcpy(t.data_ptr(), b.data() + start, count);
  return t;
}

std::string fashion_mnist_dir() {
  if (const char* env = std::getenv("EDM_FASHION_MNIST")) return env;
  return "/usr/share/datasets/fashion-mnist";
}

LabelledImages load_fashion_mnist(const std::string& split, const std::string& dir) {
  if (split != "train" && split != "t10k") throw Error("unknown Fashion-MNIST split '" + split + "' (train or t10k)");
  auto find = [&](const std::string& stem) {
    for (const char* ext : {".gz", ""}) {
      auto p = dir + "/" + stem + ext;
      if (std::filesystem::exists(p)) return p;
    }
    throw Error("Fashion-MNIST not found in '" + dir + "' (install dataset-fashion-mnist)");
  };
  auto images = read_idx(find(split + "-images-idx3-ubyte"));
  auto labels = read_idx(find(split + "-labels-idx1-ubyte"));
  if (images.dim() != 3 || labels.dim() != 1 || images.size(0) != labels.size(0))
    throw Error("Fashion-MNIST files in '" + dir + "' do not match each other");
  return {images.unsqueeze(1), labels.to(torch::kInt64)};
}

}  // namespace edm
