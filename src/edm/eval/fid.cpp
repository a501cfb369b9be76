#include "edm/eval/fid.h"

#include <algorithm>
#include <filesystem>

#include "edm/core/error.h"
#include "edm/core/progress.h"
#include "edm/data/dataset.h"
#include "edm/io/image.h"

namespace edm {

namespace fs = std::filesystem;

namespace {

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

torch::Tensor load_folder(const std::string& dir, int64_t max_images) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && is_image_file(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (max_images > 0 && static_cast<int64_t>(files.size()) > max_images) files.resize(max_images);
  if (files.empty()) throw Error("no images (png, jpg, bmp) in " + dir);
  std::vector<torch::Tensor> images;
  Progress progress("read images", files.size());
  for (const auto& f : files) {
    auto img = read_image(f.string());
    if (!images.empty() && img.sizes() != images.front().sizes())
      throw Error("images of mixed sizes: " + f.string() + " is " + c10::str(img.sizes()) + ", " +
                  files.front().string() + " is " + c10::str(images.front().sizes()));
    images.push_back(img);
    progress.update(images.size());
  }
  progress.finish();
  return torch::stack(images);
}

}  // namespace

torch::Tensor load_fid_images(const std::string& data, int64_t max_images) {
  // Folders are searched recursively (`generate --subdirs` output); the
  // built-in data set and zips load as the training data does.
  if (fs::is_directory(data)) return load_folder(data, max_images);
  auto images = load_dataset(data == "fashion-mnist:t10k" ? "fashion-mnist:test" : data).images;
  if (max_images > 0 && images.size(0) > max_images) images = images.slice(0, 0, max_images);
  return images;
}

FeatureStats detector_stats(Detector& det, const torch::Tensor& images, int64_t batch, const std::string& label) {
  if (images.dim() != 4) throw Error("images must be [N,C,H,W]");
  if (images.size(0) < 2)
    throw Error("need at least 2 images for FID statistics, got " + std::to_string(images.size(0)));
  FeatureAccumulator acc;
  int64_t n = images.size(0);
  Progress progress(label, n);
  for (int64_t i = 0; i < n; i += batch) {
    acc.add(det.features(images.slice(0, i, std::min(n, i + batch))));
    progress.update(std::min(n, i + batch));
  }
  progress.finish();
  return acc.finish();
}

FeatureAccumulator generated_features(Detector& det, Denoiser& net, const std::vector<std::vector<uint64_t>>& batches,
                                      const GenerateOptions& options, bool show_progress, const ImageStage& stage) {
  check_generate_options(net, options);
  int64_t n = 0, done = 0;
  for (const auto& b : batches) n += static_cast<int64_t>(b.size());
  FeatureAccumulator acc;
  Progress progress("generate+features", n, show_progress);
  for (const auto& batch : batches) {
    if (batch.empty()) continue;
    auto images = generate_batch(net, batch, options);
    if (stage) images = stage(images, batch);
    acc.add(det.features(to_uint8_nhwc(images).permute({0, 3, 1, 2}).contiguous()));
    done += static_cast<int64_t>(batch.size());
    progress.update(done);
  }
  progress.finish();
  return acc;
}

}  // namespace edm
