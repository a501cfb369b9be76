// How well an autoencoder reconstructs a data set: the mean absolute pixel
// error (0..255) of decode(encode(x).mean), the Frechet distance of the
// reconstructions against the originals under the built-in detector, and a
// grid of originals (odd rows) over their reconstructions (even rows).
//   autoencoder_reconstruction AE_FILE [DATA=fashion-mnist:test] [N=1000] [GRID.png]
#include <iostream>

#include "edm/core/error.h"
#include "edm/eval/detector.h"
#include "edm/eval/fid.h"
#include "edm/eval/frechet.h"
#include "edm/io/image.h"
#include "edm/model/autoencoder_file.h"

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::cerr << "usage: autoencoder_reconstruction AE_FILE [DATA] [N] [GRID.png]\n";
    return 2;
  }
  const std::string data = argc > 2 ? argv[2] : "fashion-mnist:test";
  const int64_t n = argc > 3 ? std::stoll(argv[3]) : 1000;
  auto ae = edm::load_autoencoder(argv[1], torch::kCPU);
  auto images = edm::load_fid_images(data, n);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < images.size(0); i += 250) {
    auto x = edm::from_uint8(images.narrow(0, i, std::min<int64_t>(250, images.size(0) - i)));
    parts.push_back(edm::to_uint8_nhwc(ae->decode(ae->encode(x).mean)).permute({0, 3, 1, 2}));
  }
  auto recon = torch::cat(parts);
  const double mae = (recon.to(torch::kFloat64) - images.to(torch::kFloat64)).abs().mean().item<double>();
  std::cout << "images " << images.size(0) << ", mean absolute pixel error " << mae << " (0..255)\n";
  auto det = edm::load_detector(edm::default_detector_path(), torch::kCPU);
  const auto a = edm::detector_stats(*det, images, 250, "originals"),
             b = edm::detector_stats(*det, recon, 250, "reconstructions");
  std::cout << "Frechet distance of reconstructions to originals " << edm::frechet_distance(a, b) << "\n";
  if (argc > 4) {
    const int64_t cols = 10, rows = std::min<int64_t>(5, images.size(0) / cols);
    std::vector<torch::Tensor> tiles;
    for (int64_t r = 0; r < rows; ++r)
      tiles.push_back(images.narrow(0, r * cols, cols)), tiles.push_back(recon.narrow(0, r * cols, cols));
    edm::write_png(argv[4], edm::make_grid(torch::cat(tiles), cols));
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "autoencoder_reconstruction: " << e.what() << "\n";
  return 1;
}
