#include "edm/data/dataset_tool.h"

#include <cstdio>
#include <regex>

#include "edm/core/error.h"
#include "edm/core/progress.h"
#include "edm/data/dataset_writer.h"
#include "edm/data/image_inputs.h"
#include "edm/io/image.h"

namespace edm {

namespace {

std::string shape_text(const torch::Tensor& hwc) {
  return std::to_string(hwc.size(1)) + "x" + std::to_string(hwc.size(0)) + "x" + std::to_string(hwc.size(2));
}

// The reference's rules on the first image, and equality with it after.
void check_image(const torch::Tensor& img, const std::string& name, const torch::Tensor& first,
                 const std::string& first_name) {
  const int64_t h = img.size(0), w = img.size(1), c = img.size(2);
  if (first.defined()) {
    if (!img.sizes().equals(first.sizes()))
      throw Error(name + " is " + shape_text(img) + " (WxHxC) but " + first_name + " is " + shape_text(first) +
                  "; give --resolution to resize every image");
    return;
  }
  if (c != 1 && c != 3) throw Error(name + " has " + std::to_string(c) + " channels: images must be grey or RGB");
  if (w != h) throw Error(name + " is " + shape_text(img) + ": images must be square (see --transform)");
  if (w & (w - 1))
    throw Error(name + " is " + shape_text(img) + ": the size must be a power of two (see --resolution)");
}

// json.dumps of the reference's metadata, byte for byte.
std::string labels_json(const std::vector<std::pair<std::string, std::optional<int64_t>>>& labels) {
  for (const auto& l : labels)
    if (!l.second) return "{\"labels\": null}";
  std::string s = "{\"labels\": [";
  for (size_t i = 0; i < labels.size(); ++i)
    s += (i ? ", [\"" : "[\"") + labels[i].first + "\", " + std::to_string(*labels[i].second) + "]";
  return s + "]}";
}

}  // namespace

std::string dataset_image_name(int64_t index) {
  char idx[32];
  std::snprintf(idx, sizeof idx, "%08lld", static_cast<long long>(index));
  return std::string(idx, 5) + "/img" + idx + ".png";
}

void parse_resolution(const std::string& text, ImageTransform& t) {
  std::smatch m;
  if (!std::regex_match(text, m, std::regex(R"(^(\d{1,6})[x,](\d{1,6})$)")))
    throw UsageError("--resolution '" + text + "' is not WxH");
  t.width = std::stoll(m[1]);
  t.height = std::stoll(m[2]);
}

DatasetToolResult make_dataset(const DatasetToolOptions& o) {
  check_transform(o.transform);
  if (o.max_images && *o.max_images < 1) throw UsageError("--max-images must be at least 1");
  auto input = open_image_input(o.source);
  auto writer = open_dataset_writer(o.dest);
  const int64_t n = o.max_images ? std::min(*o.max_images, input->size()) : input->size();
  Progress progress("dataset", n, o.progress);
  DatasetToolResult r;
  torch::Tensor first;
  std::string first_name;
  std::vector<std::pair<std::string, std::optional<int64_t>>> labels;
  for (int64_t i = 0; i < n; ++i) {
    auto in = input->get(i);
    auto img = apply_transform(o.transform, in.pixels);
    progress.update(i + 1);
    if (!img.defined()) {
      ++r.skipped;
      continue;
    }
    check_image(img, in.name, first, first_name);
    if (!first.defined()) first = img, first_name = in.name;
    const auto name = dataset_image_name(i);
    writer->add(name, encode_png(img));
    labels.emplace_back(name, in.label);
  }
  if (!first.defined()) throw Error(o.source + ": no image left after --transform " + o.transform.mode);
  writer->add("dataset.json", labels_json(labels));
  writer->commit();
  progress.clear();
  r.images = static_cast<int64_t>(labels.size());
  r.resolution = first.size(0);
  r.channels = first.size(2);
  r.labelled = labels_json(labels) != "{\"labels\": null}";
  return r;
}

}  // namespace edm
