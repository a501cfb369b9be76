#include "edm/nn/presets.h"

#include "edm/core/error.h"
#include "edm/nn/edm2_presets.h"

namespace edm::networks {

namespace {

using json = nlohmann::json;

// Where a small preset's 10-minute CPU run departs from small_cpu_training,
// each measured in docs/training.md.
struct CpuRecipe {
  int64_t batch = 0;             // 0: small_cpu_training's
  std::optional<double> P_mean;  // ln sigma ~ N(P_mean, P_std^2)
};

struct Preset {
  const char* name;
  const char* description;
  json model;  // the edm.config "model" object
  double dropout;
  bool small;  // sized for a CPU
  CpuRecipe cpu = {};
};

// train.py's defaults; the small presets train for minutes on a CPU.
const PresetTraining reference_training = {512, 10e-4, 10000, 200, 50, std::nullopt};
const PresetTraining small_cpu_training = {64, 1e-3, 2, 1, 2, 10.0};
const PresetTraining small_gpu_training = {256, 1e-3, 2, 5, 10, std::nullopt};

// DDPM++ as train.py configures it (--arch=ddpmpp), with the given sizes.
json ddpmpp(int64_t model_channels, json channel_mult, json extra = json::object()) {
  json model{{"model_type", "SongUNet"},         {"embedding_type", "positional"},
             {"encoder_type", "standard"},       {"decoder_type", "standard"},
             {"channel_mult_noise", 1},          {"resample_filter", {1, 1}},
             {"model_channels", model_channels}, {"channel_mult", std::move(channel_mult)}};
  model.update(extra);
  return model;
}

const std::vector<Preset>& presets() {
  // The reference's train.py: dropout defaults to 0.13 there, not to the
  // network's 0.10. The Fashion-MNIST ones are DDPM++ shrunk to 28->14->7.
  static const std::vector<Preset> list = {
      {"ddpmpp", "DDPM++ (SongUNet), 128 channels x [2,2,2], 4 blocks, attention at 16x16 (train.py --arch=ddpmpp)",
       ddpmpp(128, {2, 2, 2}), 0.13, false},
      {"ncsnpp",
       "NCSN++ (SongUNet), 128 channels x [2,2,2], Fourier embedding, residual encoder (train.py --arch=ncsnpp)",
       json{{"model_type", "SongUNet"},
            {"embedding_type", "fourier"},
            {"encoder_type", "residual"},
            {"decoder_type", "standard"},
            {"channel_mult_noise", 2},
            {"resample_filter", {1, 3, 3, 1}},
            {"model_channels", 128},
            {"channel_mult", {2, 2, 2}}},
       0.13, false},
      {"adm", "ADM (DhariwalUNet), 192 channels x [1,2,3,4], 3 blocks (train.py --arch=adm)",
       json{{"model_type", "DhariwalUNet"}, {"model_channels", 192}, {"channel_mult", {1, 2, 3, 4}}}, 0.13, false},
      {"fmnist-s",
       "small DDPM++ for 28x28 on a CPU: 32 channels x [1,2,2], 1 block, no attention (~1M parameters)",
       ddpmpp(32, {1, 2, 2}, {{"num_blocks", 1}, {"attn_resolutions", json::array()}}),
       0.0,
       true,
       // Measured (docs/training.md): twice the optimiser steps in 10 CPU
       // minutes at the same images/s gives a better model than batch 64, and
       // so does training effort moved to higher noise levels.
       {32, -0.4}},
      {"fmnist-m", "medium DDPM++ for 28x28: 64 channels x [1,2,2], 2 blocks, attention at 7x7 (~6M parameters)",
       ddpmpp(64, {1, 2, 2}, {{"num_blocks", 2}, {"attn_resolutions", {7}}}), 0.1, true},
  };
  return list;
}

const Preset& find_preset(const std::string& arch) {
  for (const auto& p : presets())
    if (arch == p.name) return p;
  std::string names;
  for (const auto& n : preset_names()) names += (names.empty() ? "" : ", ") + n;
  for (const auto& n : edm2_preset_names()) names += ", " + n;
  throw UsageError("unknown network preset \"" + arch + "\" (one of " + names + ")");
}

}  // namespace

const std::vector<std::string>& preset_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& p : presets()) out.push_back(p.name);
    return out;
  }();
  return names;
}

const std::vector<std::string>& precond_names() {
  static const std::vector<std::string> names = {"edm", "vp", "ve", "iddpm", "ddpm"};
  return names;
}

std::string preset_description(const std::string& arch) {
  if (is_edm2_preset(arch)) return edm2_preset_description(arch);
  return find_preset(arch).description;
}

bool preset_is_small(const std::string& arch) {
  if (is_edm2_preset(arch)) return edm2_preset_is_small(arch);
  return find_preset(arch).small;
}

namespace {

// train_edm2.py's recipe; the Fashion-MNIST ones report every 2 kimg and
// stop after 10 minutes on a CPU, as the other small presets.
PresetTraining edm2_training(const std::string& arch, bool cpu) {
  const auto t = edm2_preset_training(arch);
  const bool small = preset_is_small(arch);
  PresetTraining d{t.batch,
                   t.ref_lr,
                   t.rampup_Mimg * 1000,
                   t.duration_Mimg,
                   small ? (cpu ? 2.0 : 10.0) : 50.0,
                   small && cpu ? std::optional<double>(10.0) : std::nullopt};
  d.edm2 = true;
  d.decay = t.ref_batches;
  d.P_mean = t.P_mean;
  d.P_std = t.P_std;
  d.ema = 0;  // train_edm2.py keeps no classic EMA, only the power-function ones
  d.ema_std = {0.050, 0.100};
  return d;
}

// --cbase, --cres and --dropout on a preset's "model" object.
void apply_overrides(json& model, const PresetOverrides& o, double preset_dropout) {
  if (o.cbase) {
    if (*o.cbase < 1) throw UsageError("--cbase must be positive");
    model["model_channels"] = *o.cbase;
  }
  if (o.cres) {
    if (o.cres->empty()) throw UsageError("--cres must list at least one multiplier");
    for (auto m : *o.cres)
      if (m < 1) throw UsageError("--cres multipliers must be positive");
    model["channel_mult"] = *o.cres;
  }
  const double dropout = o.dropout.value_or(preset_dropout);
  check_dropout(dropout, "dropout");
  model["dropout"] = dropout;
}

void check_halvable(int64_t img_resolution, const json& model, const std::string& arch) {
  const auto levels = model["channel_mult"].size();
  if (img_resolution % (int64_t(1) << (levels - 1)))
    throw UsageError("image resolution " + std::to_string(img_resolution) + " cannot be halved " +
                     std::to_string(levels - 1) + " times by preset " + arch);
}

json edm2_config(const std::string& arch, const std::string& precond, int64_t img_resolution, int64_t img_channels,
                 int64_t label_dim, int64_t augment_dim, const PresetOverrides& o) {
  if (precond != "edm")
    throw UsageError("EDM2 preset " + arch + " keeps EDM's preconditioning (EDM2Precond): --precond must be edm");
  if (augment_dim > 0) throw UsageError("EDM2 networks take no augmentation labels (--augment)");
  if (o.label_dropout.value_or(0) > 0) throw UsageError("EDM2 networks have no label dropout (--label-dropout)");
  if (o.use_fp16) throw UsageError("EDM2 networks train in float32 or bfloat16 (--bf16), not float16 (--fp16)");
  auto config = edm2_preset_config(arch, img_resolution, img_channels, label_dim);
  if (o.use_bf16) config["use_bf16"] = true;  // MPConv's products (nn/product_dtype.h on a CPU)
  apply_overrides(config["model"], o, config["model"]["dropout"].get<double>());
  check_halvable(config["img_resolution"].get<int64_t>(), config["model"], arch);
  return config;
}

}  // namespace

PresetTraining preset_training(const std::string& arch, bool cpu) {
  if (is_edm2_preset(arch)) return edm2_training(arch, cpu);
  if (!preset_is_small(arch)) return reference_training;
  if (!cpu) return small_gpu_training;
  PresetTraining t = small_cpu_training;
  const auto& recipe = find_preset(arch).cpu;
  if (recipe.batch) t.batch = recipe.batch;
  t.P_mean = recipe.P_mean.value_or(t.P_mean);
  return t;
}

void check_dropout(double p, const std::string& option) {
  if (!(p >= 0 && p < 1)) throw UsageError("--" + option + " must be in [0, 1)");
}

json preset_config(const std::string& arch, const std::string& precond, int64_t img_resolution, int64_t img_channels,
                   int64_t label_dim, int64_t augment_dim, const PresetOverrides& o) {
  if (img_resolution < 1 || img_channels < 1) throw UsageError("image resolution and channels must be positive");
  if (label_dim < 0 || augment_dim < 0) throw UsageError("label and augment dimensions must not be negative");
  if (is_edm2_preset(arch)) return edm2_config(arch, precond, img_resolution, img_channels, label_dim, augment_dim, o);
  const auto& preset = find_preset(arch);
  static const std::map<std::string, std::string> classes = {{"edm", "EDMPrecond"},
                                                             {"vp", "VPPrecond"},
                                                             {"ve", "VEPrecond"},
                                                             {"iddpm", "iDDPMPrecond"},
                                                             {"ddpm", "DDPMPrecond"}};
  auto cls = classes.find(precond);
  if (cls == classes.end()) throw UsageError("unknown preconditioning \"" + precond + "\" (edm, vp, ve, iddpm, ddpm)");
  if (o.use_fp16 && o.use_bf16) throw UsageError("choose fp16 or bf16, not both");

  json model = preset.model;
  apply_overrides(model, o, preset.dropout);
  if (o.label_dropout) {
    check_dropout(*o.label_dropout, "label-dropout");
    model["label_dropout"] = *o.label_dropout;
  }
  check_halvable(img_resolution, model, arch);

  json config = {{"precond", cls->second}, {"img_resolution", img_resolution}, {"img_channels", img_channels},
                 {"label_dim", label_dim}, {"augment_dim", augment_dim},       {"model", model}};
  if (o.use_fp16) config["use_fp16"] = true;
  if (o.use_bf16) config["use_bf16"] = true;
  return config;
}

json classifier_config(const json& denoiser_config, int64_t classes, const std::string& arch) {
  const auto& model = denoiser_config.at("model");
  if (model.value("model_type", std::string()) != "SongUNet" || model.value("encoder_type", "") != "standard" ||
      denoiser_config.value("label_dim", int64_t(0)) > 0)
    throw UsageError("--classifier builds on an unconditional DDPM++-family preset (ddpmpp, fmnist-s, fmnist-m), not " +
                     arch);
  if (classes < 2) throw UsageError("--classifier needs a data set with at least two classes");
  json encoder = {{"model_type", "SongEncoder"}};
  for (const char* key :
       {"model_channels", "channel_mult", "channel_mult_emb", "num_blocks", "attn_resolutions", "dropout"})
    if (model.contains(key)) encoder[key] = model[key];
  json config = denoiser_config;
  config["model"] = encoder;
  config["num_classes"] = classes;
  return config;
}

}  // namespace edm::networks
