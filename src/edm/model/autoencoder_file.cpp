#include "edm/model/autoencoder_file.h"

#include <filesystem>
#include <fstream>
#include <map>

#include "edm/core/error.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"

namespace edm {

namespace {

using Tensors = std::map<std::string, torch::Tensor>;

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// A diffusers file: legacy attention names renamed, and the 1x1-convolution
// form [C,C,1,1] of their weights (some conversions keep it) made [C,C].
Tensors diffusers_tensors(const TensorFile& file) {
  Tensors out;
  for (const auto& [stored, tensor] : file.all()) {
    const auto name = modern_attention_name(stored);
    auto t = tensor;
    if (name.find(".attentions.") != std::string::npos && t.dim() == 4 && t.size(2) == 1 && t.size(3) == 1)
      t = t.flatten(1);
    out[name] = t;
  }
  return out;
}

// An edm file: the network's tensors without the "model." of its wrapper.
Tensors edm_tensors(const TensorFile& file) {
  Tensors out;
  for (const auto& [name, t] : file.all()) {
    if (name.rfind("model.", 0) != 0) throw Error(file.path() + ": unexpected tensor '" + name + "'");
    out[name.substr(6)] = t;
  }
  return out;
}

// A diffusers file's architecture: its config.json beside it (as diffusers
// saves a model), or else sd-vae-ft-mse's.
networks::AutoencoderKLOptions diffusers_options(const std::string& path, int64_t& channels) {
  auto options = networks::AutoencoderKLOptions::sd_vae_ft_mse();
  channels = 3;
  const auto config_path = std::filesystem::path(path).parent_path() / "config.json";
  std::ifstream in(config_path);
  if (!in) return options;
  nlohmann::json c;
  try {
    c = nlohmann::json::parse(in);
    options.block_out_channels = c.value("block_out_channels", options.block_out_channels);
    options.layers_per_block = c.value("layers_per_block", options.layers_per_block);
    options.latent_channels = c.value("latent_channels", options.latent_channels);
    options.norm_num_groups = c.value("norm_num_groups", options.norm_num_groups);
    options.scaling_factor = c.value("scaling_factor", options.scaling_factor);
    channels = c.value("in_channels", channels);
    if (c.value("out_channels", channels) != channels) throw Error("in_channels and out_channels differ");
    networks::check_autoencoder_options(options);
  } catch (const std::exception& e) {
    throw Error(config_path.string() + ": " + e.what());
  }
  return options;
}

}  // namespace

std::string modern_attention_name(const std::string& name) {
  static const std::pair<const char*, const char*> renames[] = {
      {".query.", ".to_q."}, {".key.", ".to_k."}, {".value.", ".to_v."}, {".proj_attn.", ".to_out.0."}};
  if (name.find(".attentions.") == std::string::npos) return name;
  for (const auto& [from, to] : renames) {
    auto at = name.rfind(from);
    if (at != std::string::npos && (ends_with(name, "weight") || ends_with(name, "bias")))
      return name.substr(0, at) + to + name.substr(at + std::string(from).size());
  }
  return name;
}

std::shared_ptr<networks::AutoencoderKLImpl> load_autoencoder(const std::string& path, torch::Device device) {
  TensorFile file(path);
  int64_t channels = 3;
  const bool edm_file = file.metadata().count("edm.config") > 0;
  auto options = edm_file ? networks::AutoencoderKLOptions() : diffusers_options(path, channels);
  if (edm_file) {
    auto config = read_model_config(file);
    const auto precond = config["precond"].get<std::string>();
    if (precond != "AutoencoderKL")
      throw Error(path + " is " + (config.value("num_classes", int64_t(0)) > 0 ? "a classifier" : "a denoiser") + " (" +
                  precond + "), not an autoencoder (edm train --autoencoder makes one)");
    const auto model = config.value("model", nlohmann::json::object());  // outlives the reader
    networks::ConfigReader r(model, "edm.config model");
    r.ignore("model_type");
    try {
      options = networks::AutoencoderKLOptions::read(r);
      r.finish();
    } catch (const Error& e) {
      throw Error(path + ": " + e.what());
    }
    channels = config.value("img_channels", int64_t(0));
  }
  networks::NetworkShape shape;
  shape.in_channels = shape.out_channels = channels;
  auto ae = std::make_shared<networks::AutoencoderKLImpl>(shape, options, networks::Build{device, false});
  load_state_dict(*ae, edm_file ? edm_tensors(file) : diffusers_tensors(file), path);
  ae->eval();
  for (auto& p : ae->parameters()) p.set_requires_grad(false);
  return ae;
}

}  // namespace edm
