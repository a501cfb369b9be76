#include "edm/nn/edm2_presets.h"

#include <algorithm>

#include "edm/core/error.h"

namespace edm::networks {

namespace {

struct Preset {
  std::string name;
  int64_t resolution, channels, label_dim;  // 0: from the data
  int64_t model_channels;
  std::vector<int64_t> channel_mult, attn_resolutions;
  int64_t num_blocks, channels_per_head, logvar_channels;
  EDM2PresetTraining training;
};

// Durations are the reference's 2048<<20 images etc., in Mimg.
constexpr double Mi = double(1 << 20) / 1e6;

const std::vector<Preset>& presets() {
  static const std::vector<Preset> all = {
      {"edm2-img512-xs",
       64,
       4,
       1000,
       128,
       {1, 2, 3, 4},
       {16, 8},
       3,
       64,
       128,
       {2048 * Mi, 2048, 0.0120, 70000, 10, 0.00, -0.4, 1.0}},
      {"edm2-img512-s",
       64,
       4,
       1000,
       192,
       {1, 2, 3, 4},
       {16, 8},
       3,
       64,
       128,
       {2048 * Mi, 2048, 0.0100, 70000, 10, 0.00, -0.4, 1.0}},
      {"edm2-img512-m",
       64,
       4,
       1000,
       256,
       {1, 2, 3, 4},
       {16, 8},
       3,
       64,
       128,
       {2048 * Mi, 2048, 0.0090, 70000, 10, 0.10, -0.4, 1.0}},
      {"edm2-img512-l",
       64,
       4,
       1000,
       320,
       {1, 2, 3, 4},
       {16, 8},
       3,
       64,
       128,
       {1792 * Mi, 2048, 0.0080, 70000, 10, 0.10, -0.4, 1.0}},
      {"edm2-img512-xl",
       64,
       4,
       1000,
       384,
       {1, 2, 3, 4},
       {16, 8},
       3,
       64,
       128,
       {1280 * Mi, 2048, 0.0070, 70000, 10, 0.10, -0.4, 1.0}},
      {"edm2-img512-xxl",
       64,
       4,
       1000,
       448,
       {1, 2, 3, 4},
       {16, 8},
       3,
       64,
       128,
       {896 * Mi, 2048, 0.0065, 70000, 10, 0.10, -0.4, 1.0}},
      {"edm2-img64-s",
       64,
       3,
       1000,
       192,
       {1, 2, 3, 4},
       {16, 8},
       3,
       64,
       128,
       {1024 * Mi, 2048, 0.0100, 35000, 10, 0.00, -0.8, 1.6}},
      // CPU-sized: 28 -> 14 -> 7, attention at 7x7 only; short schedules.
      {"edm2-fmnist-xs", 0, 0, 0, 16, {1, 2, 2}, {7}, 1, 16, 32, {1.0, 128, 0.0100, 2000, 0.01, 0.00, -0.4, 1.0}},
      {"edm2-fmnist-s", 0, 0, 0, 32, {1, 2, 2}, {7}, 2, 32, 64, {1.0, 128, 0.0100, 2000, 0.01, 0.00, -0.4, 1.0}},
  };
  return all;
}

const Preset& find(const std::string& name_or_alias) {
  const std::string name = name_or_alias == "edm2" ? "edm2-fmnist-s" : name_or_alias;
  for (const auto& p : presets())
    if (p.name == name) return p;
  throw UsageError("unknown EDM2 preset \"" + name + "\"");
}

}  // namespace

const std::vector<std::string>& edm2_preset_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& p : presets()) out.push_back(p.name);
    return out;
  }();
  return names;
}

bool is_edm2_preset(const std::string& name) {
  const auto& n = edm2_preset_names();
  return name == "edm2" || std::find(n.begin(), n.end(), name) != n.end();
}

bool edm2_preset_is_small(const std::string& name) { return find(name).resolution == 0; }

std::string edm2_preset_description(const std::string& name) {
  const auto& p = find(name);
  std::string mult;
  for (auto m : p.channel_mult) mult += (mult.empty() ? "" : ",") + std::to_string(m);
  return "EDM2 (EDM2UNet, magnitude-preserving), " + std::to_string(p.model_channels) + " channels x [" + mult + "], " +
         std::to_string(p.num_blocks) + " blocks" +
         (p.resolution ? ", " + std::to_string(p.resolution) + "x" + std::to_string(p.resolution) + "x" +
                             std::to_string(p.channels)
                       : ", for 28x28 on a CPU");
}

nlohmann::json edm2_preset_config(const std::string& name, int64_t img_resolution, int64_t img_channels,
                                  int64_t label_dim) {
  const auto& p = find(name);
  const bool fixed = p.resolution > 0;
  nlohmann::json model = {{"model_type", "EDM2UNet"},
                          {"model_channels", p.model_channels},
                          {"channel_mult", p.channel_mult},
                          {"num_blocks", p.num_blocks},
                          {"attn_resolutions", p.attn_resolutions},
                          {"channels_per_head", p.channels_per_head},
                          {"dropout", p.training.dropout}};
  return {{"precond", "EDM2Precond"},
          {"img_resolution", fixed ? p.resolution : img_resolution},
          {"img_channels", fixed ? p.channels : img_channels},
          {"label_dim", fixed ? p.label_dim : label_dim},
          {"use_fp16", false},
          {"sigma_data", 0.5},
          {"logvar_channels", p.logvar_channels},
          {"model", model}};
}

EDM2PresetTraining edm2_preset_training(const std::string& name) { return find(name).training; }

}  // namespace edm::networks
