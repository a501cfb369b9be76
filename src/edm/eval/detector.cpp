#include "edm/eval/detector.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "edm/core/error.h"
#include "edm/eval/fmnist_cnn.h"

namespace edm {

namespace fs = std::filesystem;

std::unique_ptr<Detector> load_detector(const std::string& path, torch::Device device) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read detector " + path);
  char magic[4] = {};
  in.read(magic, 4);
  // TorchScript files are zip archives.
  if (in.gcount() == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4)
    return load_script_detector(path, device);
  if (!is_fashion_cnn_file(path))
    throw Error(path + ": not a detector (expected a TorchScript module or an edm detector safetensors file)");
  return make_fashion_cnn_detector(load_fashion_cnn(path), "fmnist_cnn:" + fs::path(path).filename().string(), device);
}

std::string default_detector_path() {
  if (const char* env = std::getenv("EDM_DETECTOR"); env && *env) {
    if (!fs::exists(env)) throw Error("EDM_DETECTOR names a missing file: " + std::string(env));
    return env;
  }
  const std::string file = "models/fmnist_detector.safetensors";
  std::vector<fs::path> candidates{fs::path(EDM_SOURCE_DIR) / file};
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path() / file);
    candidates.push_back(exe.parent_path().parent_path() / file);
    candidates.push_back(exe.parent_path().parent_path() / "share/edm" / file);
  }
  for (const auto& c : candidates)
    if (fs::exists(c)) return c.string();
  throw Error("built-in detector not found (looked for " + candidates.front().string() +
              "); set EDM_DETECTOR or pass --detector");
}

}  // namespace edm
