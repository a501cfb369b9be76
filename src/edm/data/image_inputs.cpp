#include "edm/data/image_inputs.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "edm/core/error.h"
#include "edm/data/archive.h"
#include "edm/data/cifar10.h"
#include "edm/data/idx.h"
#include "edm/io/image.h"

namespace edm {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

class TensorInput : public ImageInput {
 public:
  TensorInput(torch::Tensor nchw, torch::Tensor labels, std::string name)
      : images_(std::move(nchw)), labels_(std::move(labels)), name_(std::move(name)) {}
  int64_t size() const override { return images_.size(0); }
  InputImage get(int64_t i) override {
    return {images_[i].permute({1, 2, 0}).contiguous(), labels_[i].item<int64_t>(),
            name_ + "[" + std::to_string(i) + "]"};
  }

 private:
  torch::Tensor images_, labels_;
  std::string name_;
};

// Folders sort by path components, as the reference's sorted(Path.rglob()).
bool component_less(const std::string& a, const std::string& b) {
  fs::path pa(a), pb(b);
  return std::lexicographical_compare(pa.begin(), pa.end(), pb.begin(), pb.end(),
                                      [](const fs::path& x, const fs::path& y) { return x.string() < y.string(); });
}

// {file name: label} from dataset.json, empty when it has none.
std::map<std::string, int64_t> json_labels(FileTree& tree, const std::string& source) {
  const std::string where = source + "/dataset.json";
  if (!tree.has("dataset.json")) return {};
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(tree.read("dataset.json"));
  } catch (const nlohmann::json::exception&) {
    throw Error(where + " is not valid JSON");
  }
  std::map<std::string, int64_t> out;
  if (!j.is_object() || !j.contains("labels") || j["labels"].is_null()) return out;
  try {
    for (const auto& e : j["labels"]) {
      if (!e.at(1).is_number_integer() || e.at(1).get<int64_t>() < 0)
        throw Error(where + ": the label of " + e.at(0).get<std::string>() + " is not a non-negative integer");
      out[e.at(0).get<std::string>()] = e.at(1).get<int64_t>();
    }
  } catch (const nlohmann::json::exception&) {
    throw Error(where + ": \"labels\" must be a list of [file name, class] pairs");
  }
  return out;
}

// Without dataset.json, a folder's top-level subfolders are its classes
// (when there are at least two).
std::map<std::string, int64_t> folder_labels(const std::vector<std::string>& images) {
  auto top = [](const std::string& n) { return n.find('/') == std::string::npos ? "" : n.substr(0, n.find('/')); };
  std::set<std::string> tops;
  for (const auto& n : images) tops.insert(top(n));
  std::map<std::string, int64_t> out;
  if (tops.size() < 2) return out;
  for (const auto& n : images) out[n] = std::distance(tops.begin(), tops.find(top(n)));
  return out;
}

class TreeInput : public ImageInput {
 public:
  TreeInput(const std::string& source, bool is_folder) : source_(source), tree_(open_file_tree(source)) {
    for (const auto& n : tree_->names())
      if (is_image_name(n)) images_.push_back(n);
    if (is_folder) std::stable_sort(images_.begin(), images_.end(), component_less);
    if (images_.empty()) throw Error(source + ": no images found");
    labels_ = json_labels(*tree_, source);
    if (labels_.empty() && is_folder) labels_ = folder_labels(images_);
  }
  int64_t size() const override { return static_cast<int64_t>(images_.size()); }
  InputImage get(int64_t i) override {
    const auto& n = images_[i];
    InputImage img{
        decode_image(tree_->read(n), source_ + "/" + n).permute({1, 2, 0}).contiguous(), {}, source_ + "/" + n};
    if (labels_.empty()) return img;
    auto it = labels_.find(n);
    if (it == labels_.end()) throw Error(source_ + "/dataset.json has no label for " + n);
    img.label = it->second;
    return img;
  }

 private:
  std::string source_;
  std::unique_ptr<FileTree> tree_;
  std::vector<std::string> images_;
  std::map<std::string, int64_t> labels_;
};

// MNIST's 28x28 digits padded to 32x32 with zeros, as the reference does.
LabelledImages padded(LabelledImages d) {
  d.images = torch::constant_pad_nd(d.images, {2, 2, 2, 2}, 0);
  return d;
}

std::unique_ptr<ImageInput> idx_input(const std::string& images_path) {
  const std::string stem = "-images-idx3-ubyte";
  std::string labels_path = images_path;
  labels_path.replace(labels_path.rfind(stem), stem.size(), "-labels-idx1-ubyte");
  auto images = read_idx(images_path);
  auto labels = read_idx(labels_path);
  if (images.dim() != 3 || images.size(1) != 28 || images.size(2) != 28)
    throw Error(images_path + ": expected 28x28 images, got " + c10::str(images.sizes()));
  if (labels.dim() != 1 || labels.size(0) != images.size(0))
    throw Error(labels_path + ": " + std::to_string(labels.numel()) + " labels for " + std::to_string(images.size(0)) +
                " images in " + images_path);
  auto d = padded({images.unsqueeze(1), labels.to(torch::kInt64)});
  return tensor_input(d.images, d.labels, images_path);
}

}  // namespace

std::unique_ptr<ImageInput> tensor_input(torch::Tensor nchw, torch::Tensor labels, std::string name) {
  return std::make_unique<TensorInput>(std::move(nchw), std::move(labels), std::move(name));
}

std::unique_ptr<ImageInput> open_image_input(const std::string& source) {
  if (source == "fashion-mnist" || source == "fashion-mnist:test") {
    auto d = padded(load_fashion_mnist(source == "fashion-mnist" ? "train" : "t10k"));
    return tensor_input(d.images, d.labels, source);
  }
  std::error_code ec;
  if (fs::is_directory(source, ec)) return std::make_unique<TreeInput>(source, true);
  if (!fs::is_regular_file(source, ec)) throw Error("--source " + source + " does not exist");
  const std::string base = fs::path(source).filename().string();
  if (ends_with(base, "-images-idx3-ubyte.gz") || ends_with(base, "-images-idx3-ubyte")) return idx_input(source);
  if (base == "cifar-10-python.tar.gz")
    throw Error(source + ": the pickled CIFAR-10 is not read; use the binary version, cifar-10-binary.tar.gz");
  if (ends_with(base, ".tar.gz") || ends_with(base, ".tgz") || ends_with(base, ".tar")) {
    auto d = load_cifar10_binary(source);
    return tensor_input(d.images, d.labels, source);
  }
  if (ends_with(base, ".zip")) return std::make_unique<TreeInput>(source, false);
  throw Error(source +
              ": unknown kind of source (a folder, .zip, *-images-idx3-ubyte[.gz], "
              "cifar-10-binary.tar.gz or fashion-mnist)");
}

}  // namespace edm
