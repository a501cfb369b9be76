#include "edm/data/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "edm/core/error.h"
#include "edm/data/archive.h"
#include "edm/data/idx.h"
#include "edm/io/atomic_file.h"
#include "edm/io/image.h"

namespace edm {

namespace fs = std::filesystem;

namespace {

Dataset load_images(const std::string& spec, FileTree& src) {
  Dataset d;
  d.name = fs::path(spec).filename().string();
  auto names = src.names();
  std::vector<std::string> images;
  bool has_json = false;
  for (const auto& n : names) {
    if (n == "dataset.json")
      has_json = true;
    else if (is_image_name(n))
      images.push_back(n);
  }
  if (images.empty()) throw Error(spec + ": no images (PNG or JPEG) found");
  std::vector<torch::Tensor> pixels;
  pixels.reserve(images.size());
  for (const auto& n : images) {
    auto img = decode_image(src.read(n), spec + "/" + n);
    if (!pixels.empty() && !img.sizes().equals(pixels[0].sizes()))
      throw Error(spec + ": images of different sizes: " + n + " is " + c10::str(img.sizes()) + ", " + images[0] +
                  " is " + c10::str(pixels[0].sizes()));
    pixels.push_back(img);
  }
  // A model of gray+alpha images could only produce samples no PNG writer here takes.
  if (pixels[0].size(0) == 2)
    throw Error(spec + ": " + images[0] + " has 2 channels (gray+alpha); convert the images to gray or RGB");
  if (pixels[0].size(1) != pixels[0].size(2))
    throw Error(spec + ": images must be square, got " + c10::str(pixels[0].sizes()));
  d.images = torch::stack(pixels);
  if (has_json) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(src.read("dataset.json"));
    } catch (const nlohmann::json::exception&) {
      throw Error(spec + "/dataset.json is not valid JSON");
    }
    if (j.contains("labels") && !j["labels"].is_null()) {
      std::map<std::string, int64_t> by_name;
      try {
        for (const auto& e : j["labels"]) by_name[e.at(0).get<std::string>()] = e.at(1).get<int64_t>();
      } catch (const nlohmann::json::exception&) {
        throw Error(spec + "/dataset.json: \"labels\" must be a list of [file name, class] pairs");
      }
      std::vector<int64_t> labels;
      for (const auto& n : images) {
        auto it = by_name.find(n);
        if (it == by_name.end()) throw Error(spec + "/dataset.json has no label for " + n);
        if (it->second < 0) throw Error(spec + "/dataset.json: negative label for " + n);
        // Labels are one-hot: their count sizes the network's class input.
        if (it->second >= (int64_t(1) << 24))
          throw Error(spec + "/dataset.json: label " + std::to_string(it->second) + " of " + n +
                      " is above 2^24 classes");
        labels.push_back(it->second);
      }
      d.labels = torch::tensor(labels, torch::kInt64);
      d.label_dim = d.labels.max().item<int64_t>() + 1;
    }
  }
  return d;
}

}  // namespace

Dataset load_dataset(const std::string& spec) {
  if (spec == "fashion-mnist" || spec == "fashion-mnist:train" || spec == "fashion-mnist:test") {
    auto fm = load_fashion_mnist(spec == "fashion-mnist:test" ? "t10k" : "train");
    Dataset d;
    d.name = spec;
    d.images = fm.images;
    d.labels = fm.labels;
    d.label_dim = 10;
    d.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                     "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return d;
  }
  std::error_code ec;
  if (!fs::exists(spec, ec)) throw Error("dataset " + spec + " does not exist");
  return load_images(spec, *open_file_tree(spec));
}

double data_std(const Dataset& d) {
  if (d.size() == 0) throw Error("data set " + d.name + " has no images");
  constexpr int64_t chunk = 4096;
  double sum = 0, sum_sq = 0;
  for (int64_t i = 0; i < d.size(); i += chunk) {
    auto part = d.images.slice(0, i, std::min(d.size(), i + chunk));
    auto x = part.scalar_type() == torch::kUInt8 ? from_uint8(part, torch::kFloat64) : part.to(torch::kFloat64);
    sum += x.sum().item<double>();
    sum_sq += x.square().sum().item<double>();
  }
  const double n = double(d.images.numel()), mean = sum / n;
  return std::sqrt(std::max(sum_sq / n - mean * mean, 0.0));
}

Dataset with_xflip(const Dataset& d) {
  Dataset out = d;
  out.images = torch::cat({d.images, d.images.flip({3})});
  if (d.labels.defined()) out.labels = torch::cat({d.labels, d.labels});
  return out;
}

}  // namespace edm
