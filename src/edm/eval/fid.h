// Frechet distance statistics of data sets, image folders and images
// generated on the fly: images -> detector features -> mean/covariance.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "edm/core/denoiser.h"
#include "edm/eval/detector.h"
#include "edm/eval/frechet.h"
#include "edm/sampling/generate.h"

namespace edm {

// "fashion-mnist" (training split), "fashion-mnist:test" (t10k), a folder
// of images (sorted by name, searched recursively) or a .zip in the training
// data layout. uint8 [N,C,H,W]; at most
// `max_images` (0: all). Throws edm::Error for a missing source, unreadable
// files or images of mixed sizes.
torch::Tensor load_fid_images(const std::string& data, int64_t max_images = 0);

// Features of images in batches, accumulated into statistics; shows progress.
FeatureStats detector_stats(Detector& det, const torch::Tensor& images, int64_t batch = 250,
                            const std::string& label = "features");

// A second stage applied to each batch of generated images (their seeds
// given), e.g. a cascade's upsampler; empty: none.
using ImageStage = std::function<torch::Tensor(const torch::Tensor& images, const std::vector<uint64_t>& seeds)>;

// Images of `net` for each batch of seeds exactly as `edm generate` makes
// them (then `stage`), streamed into the detector's features without being
// written. One rank's share of a multi-process run; FeatureAccumulator::reduce
// joins them.
FeatureAccumulator generated_features(Detector& det, Denoiser& net, const std::vector<std::vector<uint64_t>>& batches,
                                      const GenerateOptions& options, bool show_progress = true,
                                      const ImageStage& stage = {});

}  // namespace edm
