#include "edm/model/latent_space.h"

#include <cmath>
#include <filesystem>

#include "edm/core/error.h"
#include "edm/io/sha256.h"

namespace edm {

namespace fs = std::filesystem;

namespace {

// A per-channel list as [1,C,1,1] against z.
torch::Tensor per_channel(const std::vector<double>& v, const torch::Tensor& z) {
  if (z.dim() != 4 || z.size(1) != int64_t(v.size()))
    throw Error("latents of shape " + c10::str(z.sizes()) + " do not have the latent space's " +
                std::to_string(v.size()) + " channels");
  return torch::tensor(v, torch::TensorOptions().dtype(torch::kFloat64))
      .to(z.device(), z.scalar_type())
      .view({1, -1, 1, 1});
}

std::vector<double> numbers(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j[key].is_array() || j[key].empty())
    throw Error(where + ": \"" + key + "\" must be a list of numbers");
  std::vector<double> v;
  for (const auto& x : j[key]) {
    if (!x.is_number()) throw Error(where + ": \"" + key + "\" must be a list of numbers");
    v.push_back(x.get<double>());
  }
  return v;
}

std::string text(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j[key].is_string() || j[key].get<std::string>().empty())
    throw Error(where + ": \"" + key + "\" must be a non-empty string");
  return j[key].get<std::string>();
}

}  // namespace

torch::Tensor LatentSpace::normalize(const torch::Tensor& z) const {
  return (z - per_channel(mean, z)) / per_channel(std, z) * target_std;
}

torch::Tensor LatentSpace::denormalize(const torch::Tensor& z) const {
  return z / target_std * per_channel(std, z) + per_channel(mean, z);
}

nlohmann::json LatentSpace::to_json() const {
  return {{"autoencoder", autoencoder}, {"sha256", sha256}, {"mean", mean}, {"std", std}, {"target_std", target_std}};
}

LatentSpace LatentSpace::from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + " is not an object");
  LatentSpace s{text(j, "autoencoder", where), text(j, "sha256", where), numbers(j, "mean", where),
                numbers(j, "std", where)};
  if (s.mean.size() != s.std.size()) throw Error(where + ": \"mean\" and \"std\" differ in length");
  for (size_t c = 0; c < s.std.size(); ++c)
    if (!std::isfinite(s.mean[c]) || !(s.std[c] > 0 && std::isfinite(s.std[c])))
      throw Error(where + ": channel " + std::to_string(c) + " has no finite mean and positive std");
  s.target_std = 1.0;  // a record without it normalised to unit variance
  if (j.contains("target_std")) {
    if (!j["target_std"].is_number() || !(j["target_std"].get<double>() > 0) ||
        !std::isfinite(j["target_std"].get<double>()))
      throw Error(where + ": \"target_std\" must be a positive number");
    s.target_std = j["target_std"].get<double>();
  }
  return s;
}

std::string LatentSpace::id() const {
  return sha256.substr(0, 16) + " " + nlohmann::json({mean, std, target_std}).dump();
}

LatentSpace fit_latent_space(const torch::Tensor& latents, const std::string& autoencoder, const std::string& sha256) {
  auto z = latents.to(torch::kFloat64).transpose(0, 1).reshape({latents.size(1), -1});
  auto mean = z.mean(1), sd = z.std(1);
  LatentSpace s{autoencoder, sha256, {}, {}};
  for (int64_t c = 0; c < z.size(0); ++c) {
    s.mean.push_back(mean[c].item<double>());
    s.std.push_back(sd[c].item<double>());
    if (!(s.std.back() > 0) || !std::isfinite(s.mean.back()))
      throw Error("latent channel " + std::to_string(c) + " of the encoded data is constant or not finite");
  }
  return s;
}

std::string find_autoencoder(const LatentSpace& space, const std::string& model_path) {
  std::string path = space.autoencoder;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    const auto beside = fs::path(model_path).parent_path() / fs::path(space.autoencoder).filename();
    if (!fs::is_regular_file(beside, ec))
      throw Error(model_path + ": its autoencoder " + space.autoencoder + " is missing (nor is " +
                  fs::path(space.autoencoder).filename().string() + " beside the model); the model's latents need it");
    path = beside.string();
  }
  const auto sha = sha256_file_hex(path);
  if (sha != space.sha256)
    throw Error(model_path + ": the autoencoder " + path + " has SHA-256 " + sha.substr(0, 16) +
                "..., the model was trained on latents of " + space.sha256.substr(0, 16) + "...");
  return path;
}

}  // namespace edm
