// Network presets: the reference's training configurations (train.py --arch
// ddpmpp / ncsnpp / adm) and small ones sized for 28x28 Fashion-MNIST on a CPU.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace edm::networks {

struct PresetOverrides {
  std::optional<int64_t> cbase;              // model_channels (train.py --cbase)
  std::optional<std::vector<int64_t>> cres;  // channel_mult (train.py --cres)
  std::optional<double> dropout;             // train.py --dropout
  std::optional<double> label_dropout;       // for classifier-free guidance
  bool use_fp16 = false;                     // train.py --fp16 (CUDA only)
  bool use_bf16 = false;                     // bfloat16 instead (CUDA only)
};

// What `edm train` uses for the options the user leaves open: the reference's
// train.py values for its presets, a CPU-sized run for the small ones.
struct PresetTraining {
  int64_t batch;                      // total over processes
  double lr;                          // learning rate
  double lr_rampup;                   // kimg
  double duration;                    // Mimg
  double tick;                        // kimg
  std::optional<double> max_minutes;  // a fresh run stops at the first tick past this
  // The loss and optimiser recipe: EDM (constant learning rate after the
  // ramp-up, classic EMA) or EDM2 (inverse square-root decay after `decay`
  // batches, no classic EMA, post-hoc EMA profiles instead).
  bool edm2 = false;
  double decay = 0;                   // EDM2 t_ref, batches
  double P_mean = -1.2, P_std = 1.2;  // ln sigma ~ N(P_mean, P_std^2)
  double ema = 0.5;                   // classic EMA half-life, Mimg (0: none)
  std::vector<double> ema_std;        // post-hoc EMA stds tracked by default
};

// "ddpmpp", "ncsnpp", "adm", "fmnist-s", "fmnist-m". The EDM2 presets
// (edm2_presets.h) are accepted by the functions below as well.
const std::vector<std::string>& preset_names();
// The default for training on Fashion-MNIST.
inline const char* default_preset() { return "fmnist-s"; }
// "edm", "vp", "ve", "iddpm", "ddpm" (DDPMPrecond with its defaults: linear
// betas, T = 1000, no learned variance; its keys beta_schedule, T and
// learn_sigma may be set on the config).
const std::vector<std::string>& precond_names();

// A full edm.config; for an EDM2 preset precond must be "edm" (EDM2Precond
// keeps EDM's preconditioning) and label dropout / augmentation are refused. Throws edm::UsageError for an unknown arch
// or precond or an impossible value (e.g. a resolution the U-Net cannot halve).
nlohmann::json preset_config(const std::string& arch, const std::string& precond, int64_t img_resolution,
                             int64_t img_channels, int64_t label_dim, int64_t augment_dim,
                             const PresetOverrides& overrides = {});

// The noise-aware classifier of classifier guidance built from a preset's
// denoiser config: the encoder half of its SongUNet (same widths, blocks,
// attention and dropout) and a head of `classes` logits; no class input.
// Throws edm::UsageError for a preset that is not a SongUNet (DDPM++ family).
nlohmann::json classifier_config(const nlohmann::json& denoiser_config, int64_t classes, const std::string& arch);

// Whether the preset is sized for a CPU (the Fashion-MNIST ones).
bool preset_is_small(const std::string& arch);
// Training defaults of a preset on a CPU or on an accelerator.
PresetTraining preset_training(const std::string& arch, bool cpu);

// Throws edm::UsageError "--<option> must be in [0, 1)" unless 0 <= p < 1;
// the one rule for --dropout and --label-dropout.
void check_dropout(double p, const std::string& option);

// A one-line description of a preset, for --help texts.
std::string preset_description(const std::string& arch);

}  // namespace edm::networks
