#include "edm/model/model_file.h"

#include <set>

#include "edm/core/error.h"
#include "edm/model/latent_denoiser.h"
#include "edm/nn/precond.h"
#include "edm/sampling/ideal_denoiser.h"

// Model files: the state_dict under the reference's key names plus the
// edm.config, so that loading is a straight name-to-tensor map.
namespace edm {

namespace {

std::string shape_str(torch::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

std::map<std::string, torch::Tensor> state_dict(torch::nn::Module& net) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& p : net.named_parameters()) tensors[p.key()] = p.value().detach();
  for (const auto& b : net.named_buffers()) tensors[b.key()] = b.value().detach();
  return tensors;
}

void load_state_dict(torch::nn::Module& net, const std::map<std::string, torch::Tensor>& tensors,
                     const std::string& where) {
  std::set<std::string> expected;
  torch::NoGradGuard no_grad;
  auto fill = [&](const std::string& name, torch::Tensor& target) {
    expected.insert(name);
    auto it = tensors.find(name);
    if (it == tensors.end()) throw Error(where + ": missing tensor '" + name + "'");
    auto t = it->second;
    // A scalar gain is 0-dim in the network; files may store it as [1].
    if (t.numel() == 1 && target.numel() == 1 && t.dim() <= 1 && target.dim() <= 1) t = t.reshape(target.sizes());
    if (t.sizes() != target.sizes())
      throw Error(where + ": tensor '" + name + "' has shape " + shape_str(t.sizes()) + ", expected " +
                  shape_str(target.sizes()));
    if (!t.is_floating_point()) throw Error(where + ": tensor '" + name + "' is not floating point");
    // NaN or Inf weights would only show as blank images much later.
    if (!torch::isfinite(t).all().item<bool>())
      throw Error(where + ": tensor '" + name + "' has non-finite values (NaN or Inf)");
    target.copy_(t);
  };
  for (auto& p : net.named_parameters()) fill(p.key(), p.value());
  for (auto& b : net.named_buffers()) fill(b.key(), b.value());
  for (const auto& kv : tensors)
    if (!expected.count(kv.first)) throw Error(where + ": unexpected tensor '" + kv.first + "'");
}

void check_config_matches(const nlohmann::json& config, const std::map<std::string, torch::Tensor>& tensors,
                          const std::string& where) {
  networks::Build meta{torch::kMeta, false};
  meta.max_tensors = int64_t(tensors.size());
  for (const auto& kv : tensors) meta.max_values += kv.second.numel();
  std::shared_ptr<networks::PrecondImpl> net;
  try {
    net = networks::make_precond(config, meta);
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  for (const auto& [name, t] : state_dict(*net)) {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw Error(where + ": missing tensor '" + name + "'");
    if (it->second.numel() != t.numel() || (it->second.dim() > 1 && it->second.sizes() != t.sizes()))
      throw Error(where + ": tensor '" + name + "' has shape " + shape_str(it->second.sizes()) + ", expected " +
                  shape_str(t.sizes()) + " by edm.config");
  }
}

std::shared_ptr<networks::PrecondImpl> load_precond(const TensorFile& file, const nlohmann::json& config,
                                                    torch::Device device) {
  auto tensors = file.all();
  check_config_matches(config, tensors, file.path());                         // before anything is allocated
  auto net = networks::make_precond(config, networks::Build{device, false});  // every tensor comes from the file
  load_state_dict(*net, tensors, file.path());
  return net;
}

void save_precond(const std::string& path, networks::PrecondImpl& net) {
  save_tensors(path, state_dict(net),
               {{"edm.config", net.config().dump()}, {"edm.format", model_format(net.config())}});
}

std::string model_format(const nlohmann::json& config) {
  return config.value("precond", std::string()) == "EDM2Precond" ? "edm2-model-v1" : "edm-model-v1";
}

nlohmann::json read_model_config(const TensorFile& file) {
  if (file.metadata("edm.format", "") == "edm-train-state-v1")
    throw Error(file.path() + " is a training state, not a model (give a network-snapshot-*.safetensors)");
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
  const auto format = file.metadata("edm.format", "");
  if (!format.empty() && format != "edm-model-v1" && format != model_format(config))
    throw Error(file.path() + ": edm.format \"" + format + "\" is not a model format of this version for " +
                config["precond"].get<std::string>() + " (edm-model-v1" +
                (model_format(config) == "edm-model-v1" ? "" : ", " + model_format(config)) + ")");
  return config;
}

std::shared_ptr<Denoiser> load_denoiser(const std::string& path, torch::Device device, networks::Precision precision) {
  TensorFile file(path);
  auto config = read_model_config(file);
  if (config["precond"] == "ideal") return load_ideal_denoiser(file, config, device);
  if (config["precond"] == "AutoencoderKL")
    throw Error(path + " is an autoencoder, not a denoiser (edm train --latent trains a denoiser on its latents)");
  auto net = load_precond(file, config, device);
  if (net->is_classifier())
    throw Error(path + " is a noise-aware classifier, not a denoiser (it guides one with --classifier)");
  if (net->low_resolution())
    throw Error(path + " is an upsampler: it enlarges a base model's images (edm generate --net BASE --upsampler " +
                path + ")");
  net->set_precision(precision);
  auto denoiser = networks::as_denoiser(net, device);
  return config.contains("latent") ? with_latent_space(std::move(denoiser), config["latent"], path) : denoiser;
}

std::shared_ptr<NoisyClassifier> load_classifier(const std::string& path, torch::Device device) {
  TensorFile file(path);
  auto config = read_model_config(file);
  if (!config.contains("num_classes") || !config["num_classes"].is_number_integer() ||
      config["num_classes"].get<int64_t>() <= 0)
    throw Error(path + " is a denoiser, not a noise-aware classifier (edm train --classifier makes one)");
  return networks::as_classifier(load_precond(file, config, device), device);
}

}  // namespace edm
