#include "edm/data/dataset.h"

#include <zip.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "edm/core/error.h"
#include "edm/data/idx.h"
#include "edm/io/atomic_file.h"
#include "edm/io/image.h"

namespace edm {

namespace fs = std::filesystem;

namespace {

bool is_image_name(const std::string& name) {
  auto ext = fs::path(name).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

// File names and contents of a folder or a zip, in sorted order.
class Source {
 public:
  virtual ~Source() = default;
  virtual std::vector<std::string> names() = 0;  // relative, '/'-separated
  virtual std::string read(const std::string& name) = 0;
};

class FolderSource : public Source {
 public:
  explicit FolderSource(std::string root) : root_(std::move(root)) {}
  std::vector<std::string> names() override {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root_))
      if (e.is_regular_file()) out.push_back(fs::relative(e.path(), root_).generic_string());
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string read(const std::string& name) override { return read_file(root_ + "/" + name); }

 private:
  std::string root_;
};

class ZipSource : public Source {
 public:
  explicit ZipSource(const std::string& path) : path_(path) {
    require_regular_file(path);
    int err = 0;
    zip_ = zip_open(path.c_str(), ZIP_RDONLY, &err);
    if (!zip_) throw Error(path + ": not a readable zip archive");
  }
  ~ZipSource() override { zip_discard(zip_); }
  std::vector<std::string> names() override {
    std::vector<std::string> out;
    const zip_int64_t n = zip_get_num_entries(zip_, 0);
    for (zip_int64_t i = 0; i < n; ++i) {
      const char* name = zip_get_name(zip_, i, 0);
      if (name && name[0] && name[std::strlen(name) - 1] != '/') out.emplace_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string read(const std::string& name) override {
    zip_stat_t st;
    if (zip_stat(zip_, name.c_str(), 0, &st) != 0) throw Error(path_ + ": no entry " + name);
    std::unique_ptr<zip_file_t, decltype(&zip_fclose)> f(zip_fopen(zip_, name.c_str(), 0), zip_fclose);
    if (!f) throw Error(path_ + ": cannot read " + name);
    std::string data(st.size, '\0');
    if (zip_fread(f.get(), data.data(), st.size) != static_cast<zip_int64_t>(st.size))
      throw Error(path_ + ": " + name + " is corrupt");
    return data;
  }

 private:
  std::string path_;
  zip_t* zip_ = nullptr;
};

Dataset load_images(const std::string& spec, Source& src) {
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
  if (fs::is_directory(spec, ec)) {
    FolderSource src(spec);
    return load_images(spec, src);
  }
  ZipSource src(spec);
  return load_images(spec, src);
}

Dataset with_xflip(const Dataset& d) {
  Dataset out = d;
  out.images = torch::cat({d.images, d.images.flip({3})});
  if (d.labels.defined()) out.labels = torch::cat({d.labels, d.labels});
  return out;
}

}  // namespace edm
