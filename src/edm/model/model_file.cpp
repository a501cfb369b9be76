#include "edm/model/model_file.h"

#include "edm/core/error.h"
#include "edm/nn/precond.h"
#include "edm/sampling/ideal_denoiser.h"

namespace edm {

nlohmann::json read_model_config(const TensorFile& file) {
  auto it = file.metadata().find("edm.config");
  if (it == file.metadata().end()) throw Error(file.path() + ": not a model file (no edm.config metadata)");
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception& e) {
    throw Error(file.path() + ": edm.config is not valid JSON");
  }
  if (!config.is_object() || !config.contains("precond") || !config["precond"].is_string())
    throw Error(file.path() + ": edm.config has no \"precond\" name");
  return config;
}

std::shared_ptr<Denoiser> load_denoiser(const std::string& path, torch::Device device) {
  TensorFile file(path);
  auto config = read_model_config(file);
  if (config["precond"] == "ideal") return load_ideal_denoiser(file, config, device);
  return nn::load_denoiser(file, config, device);
}

}  // namespace edm
