// Network presets: the reference's training configurations (train.py --arch
// ddpmpp / ncsnpp / adm) and small ones sized for 28x28 Fashion-MNIST on a CPU.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace edm::nn {

struct PresetOverrides {
  std::optional<int64_t> cbase;              // model_channels (train.py --cbase)
  std::optional<std::vector<int64_t>> cres;  // channel_mult (train.py --cres)
  std::optional<double> dropout;             // train.py --dropout
  std::optional<double> label_dropout;       // for classifier-free guidance
  bool use_fp16 = false;                     // train.py --fp16 (CUDA only)
  bool use_bf16 = false;                     // bfloat16 instead (CUDA only)
};

// "ddpmpp", "ncsnpp", "adm", "fmnist-s", "fmnist-m".
const std::vector<std::string>& preset_names();
// The default for training on Fashion-MNIST.
inline const char* default_preset() { return "fmnist-s"; }
// "edm", "vp", "ve", "iddpm".
const std::vector<std::string>& precond_names();

// A full edm.config. Throws edm::UsageError for an unknown arch or precond or
// an impossible value (e.g. a resolution the U-Net cannot halve).
nlohmann::json preset_config(const std::string& arch, const std::string& precond, int64_t img_resolution,
                             int64_t img_channels, int64_t label_dim, int64_t augment_dim,
                             const PresetOverrides& overrides = {});

// A one-line description of a preset, for --help texts.
std::string preset_description(const std::string& arch);

}  // namespace edm::nn
