#include "edm/quality/sample_grid.h"

#include <numeric>

#include "edm/core/error.h"
#include "edm/io/image.h"

namespace edm {

torch::Tensor sample_grid(Denoiser& net, int64_t per_row, uint64_t first_seed, GenerateOptions options) {
  if (per_row < 1) throw UsageError("a sample grid needs at least one image per row");
  const int64_t rows = net.label_dim() > 0 ? net.label_dim() : per_row;
  std::vector<torch::Tensor> images;
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<uint64_t> seeds(per_row);
    std::iota(seeds.begin(), seeds.end(), first_seed + r * per_row);
    if (net.label_dim() > 0) options.class_idx = r;
    images.push_back(generate_batch(net, seeds, options));
  }
  return make_grid(torch::cat(images), per_row, 1);
}

void save_sample_grid(const std::string& png_path, Denoiser& net, int64_t per_row, uint64_t first_seed,
                      const GenerateOptions& options) {
  write_png(png_path, sample_grid(net, per_row, first_seed, options));
}

}  // namespace edm
