// How well an upsampler (edm train --cascade-from) enlarges real images: N
// images of a data set are downsampled to its low resolution and enlarged
// again, and the Frechet distance to the originals (built-in detector) is
// printed for the upsampler's images and, as the baseline, for the bilinear
// enlargement of the same low-resolution images.
//   cascade_upsampling SR_FILE [DATA=fashion-mnist:test] [N=1000] [STEPS=18] [COND_AUG=0]
#include <chrono>
#include <iostream>
#include <numeric>

#include "edm/core/error.h"
#include "edm/diffusion/cascade.h"
#include "edm/eval/detector.h"
#include "edm/eval/fid.h"
#include "edm/eval/frechet.h"
#include "edm/io/image.h"
#include "edm/model/upsampler.h"

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::cerr << "usage: cascade_upsampling SR_FILE [DATA] [N] [STEPS] [COND_AUG]\n";
    return 2;
  }
  const std::string data = argc > 2 ? argv[2] : "fashion-mnist:test";
  const int64_t n = argc > 3 ? std::stoll(argv[3]) : 1000, steps = argc > 4 ? std::stoll(argv[4]) : 18;
  const double cond_aug = argc > 5 ? std::stod(argv[5]) : 0.0;
  auto up = edm::load_upsampler(argv[1], torch::kCPU);
  auto images = edm::load_fid_images(data, n);
  edm::GenerateOptions o;
  o.sampler_options.num_steps = steps;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> enlarged, bilinear;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < images.size(0); i += 250) {
    auto x = edm::from_uint8(images.narrow(0, i, std::min<int64_t>(250, images.size(0) - i)));
    auto low = edm::cascade::downsample(x, up->low_resolution());
    std::vector<uint64_t> seeds(static_cast<size_t>(x.size(0)));
    std::iota(seeds.begin(), seeds.end(), static_cast<uint64_t>(i));
    enlarged.push_back(edm::to_uint8_nhwc(edm::upsample_batch(*up, low, seeds, o, cond_aug)).permute({0, 3, 1, 2}));
    bilinear.push_back(edm::to_uint8_nhwc(edm::cascade::upsample(low, up->resolution())).permute({0, 3, 1, 2}));
    std::cerr << "enlarged " << i + x.size(0) << "/" << images.size(0) << "\n";
  }
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "images " << images.size(0) << " enlarged from " << up->low_resolution() << " to " << up->resolution()
            << " px in " << sec << " s (" << steps << " steps, cond-aug " << cond_aug << ")\n";
  auto det = edm::load_detector(edm::default_detector_path(), torch::kCPU);
  const auto ref = edm::detector_stats(*det, images, 250, "originals");
  std::cout << "Frechet distance to the originals: upsampler "
            << edm::frechet_distance(ref, edm::detector_stats(*det, torch::cat(enlarged), 250, "upsampled"))
            << ", bilinear "
            << edm::frechet_distance(ref, edm::detector_stats(*det, torch::cat(bilinear), 250, "bilinear")) << "\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "cascade_upsampling: " << e.what() << "\n";
  return 1;
}
