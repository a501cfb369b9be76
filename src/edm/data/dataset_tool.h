// `edm dataset`: converts a source of images into the reference's data set
// layout: img%08d.png inside %05d/ folders of 1000 (named by the image's index
// in the source), and dataset.json {"labels": [[name, class], ...]} or
// {"labels": null} when any image has no label.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "edm/data/image_transform.h"

namespace edm {

struct DatasetToolOptions {
  std::string source, dest;
  ImageTransform transform;
  std::optional<int64_t> max_images;
  bool progress = true;
};

struct DatasetToolResult {
  int64_t images = 0, skipped = 0, resolution = 0, channels = 0;
  bool labelled = false;
};

// Throws edm::UsageError for impossible options and edm::Error naming the
// source file for bad input: an unreadable image, one whose size differs from
// the first without --resolution, a non-square or non-power-of-two size, an
// image with alpha, a missing label. Nothing is left under `dest` then.
DatasetToolResult make_dataset(const DatasetToolOptions& o);

// "WxH" or "W,H" (the reference's --resolution); throws edm::UsageError.
void parse_resolution(const std::string& text, ImageTransform& t);

// The reference's name of the index-th image: "00012/img00012345.png".
std::string dataset_image_name(int64_t index);

}  // namespace edm
