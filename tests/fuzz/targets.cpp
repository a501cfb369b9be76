#include "targets.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "edm/core/error.h"
#include "edm/core/rng.h"
#include "edm/data/dataset.h"
#include "edm/data/idx.h"
#include "edm/io/image.h"
#include "edm/io/safetensors_format.h"
#include "edm/model/model_file.h"
#include "edm/nn/precond.h"

namespace edm::fuzz {

namespace {

namespace fs = std::filesystem;
using Bytes = std::string;

// A per-process scratch directory: the file readers take paths.
const fs::path& scratch() {
  static const fs::path dir = [] {
    auto d = fs::temp_directory_path() / ("edm-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

std::string write_scratch(const std::string& name, const Bytes& bytes) {
  const auto path = scratch() / name;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size()));
  return path.string();
}

// Two 4x4 gray images, for a data set whose dataset.json is fuzzed.
void write_images(const fs::path& dir) {
  fs::create_directories(dir);
  for (const char* name : {"a.png", "b.png"})
    if (!fs::exists(dir / name)) write_png((dir / name).string(), torch::zeros({4, 4, 1}, torch::kUInt8));
}

const std::map<std::string, std::function<void(const Bytes&)>>& targets() {
  static const std::map<std::string, std::function<void(const Bytes&)>> t = {
      {"safetensors",
       [](const Bytes& b) { safetensors::parse_header(reinterpret_cast<const uint8_t*>(b.data()), b.size()); }},
      {"model_file", [](const Bytes& b) { load_denoiser(write_scratch("model.safetensors", b), torch::kCPU); }},
      {"edm_config",
       [](const Bytes& b) {
         auto config = nlohmann::json::parse(b, nullptr, false);
         if (config.is_discarded()) return;
         networks::Build meta{torch::kMeta, false};
         meta.max_tensors = 512, meta.max_values = int64_t(1) << 26;  // as a 256 MB file
         networks::make_precond(config, meta);
       }},
      {"dataset_zip", [](const Bytes& b) { load_dataset(write_scratch("data.zip", b)); }},
      {"dataset_json",
       [](const Bytes& b) {
         const auto dir = scratch() / "folder";
         write_images(dir);
         write_scratch("folder/dataset.json", b);
         load_dataset(dir.string());
       }},
      {"idx", [](const Bytes& b) { read_idx(write_scratch("data.idx", b)); }},
      {"png", [](const Bytes& b) { decode_image(b, "fuzz.png"); }},
      {"seeds", [](const Bytes& b) { parse_seed_list(b); }},
  };
  return t;
}

}  // namespace

const std::vector<std::string>& target_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& kv : targets()) out.push_back(kv.first);
    return out;
  }();
  return names;
}

void run_target(const std::string& target, const uint8_t* data, size_t size) {
  auto it = targets().find(target);
  if (it == targets().end()) throw std::invalid_argument("unknown fuzz target " + target);
  try {
    it->second(Bytes(reinterpret_cast<const char*>(data), size));
  } catch (const Error&) {
    // A one-line rejection: what bad input should get.
  }
}

}  // namespace edm::fuzz
