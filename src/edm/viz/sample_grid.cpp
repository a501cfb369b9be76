#include "edm/viz/sample_grid.h"

#include <algorithm>
#include <numeric>

#include "edm/core/error.h"
#include "edm/io/image.h"
#include "edm/viz/plot.h"

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

void write_sample_grid(Denoiser& net, const std::vector<std::string>& class_names, int64_t per_row,
                       const SamplerOptions& sampler_options, const std::string& png_path) {
  torch::NoGradGuard no_grad;
  GenerateOptions o;
  o.sampler_options = sampler_options;
  auto grid = sample_grid(net, per_row, 0, o);  // uint8 [H,W,C], one row per class
  const int64_t rows = net.label_dim() > 0 ? net.label_dim() : per_row;
  write_grid_picture(grid, rows, net.label_dim() > 0 ? class_names : std::vector<std::string>{}, png_path);
}

void write_grid_picture(torch::Tensor grid, int64_t rows, const std::vector<std::string>& row_names,
                        const std::string& png_path) {
  // Upscale small images so that a person can see them.
  const int64_t zoom = std::max<int64_t>(1, 64 * rows / grid.size(0));
  if (zoom > 1) grid = grid.repeat_interleave(zoom, 0).repeat_interleave(zoom, 1);
  if (grid.size(2) == 1) grid = grid.repeat({1, 1, 3});
  const bool labelled = !row_names.empty();
  const int margin = labelled ? 150 : 0;
  plot::Canvas canvas(static_cast<int>(grid.size(1)) + margin, static_cast<int>(grid.size(0)));
  auto g = grid.contiguous();
  auto acc = g.accessor<uint8_t, 3>();
  for (int y = 0; y < g.size(0); ++y)
    for (int x = 0; x < g.size(1); ++x)
      canvas.blend(margin + x, y, plot::Color{acc[y][x][0], acc[y][x][1], acc[y][x][2], 1});
  if (labelled) {
    const double row_h = static_cast<double>(grid.size(0)) / static_cast<double>(rows);
    for (int64_t r = 0; r < rows && r < static_cast<int64_t>(row_names.size()); ++r)
      canvas.text(6, r * row_h + row_h / 2 - plot::Canvas::text_height() / 2.0, row_names[r], plot::kBlack);
  }
  canvas.save(png_path);
}

}  // namespace edm
