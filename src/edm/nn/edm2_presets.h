// EDM2 network presets: the reference's configurations (train_edm2.py,
// config_presets: ImageNet-512 latents 64x64x4 and ImageNet-64 pixels, 1000
// classes) and small ones for 28x28 Fashion-MNIST on a CPU.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace edm::networks {

// The recipe that goes with a preset (train_edm2.py).
struct EDM2PresetTraining {
  double duration_Mimg;  // training length
  int64_t batch;
  double ref_lr;       // alpha_ref
  double ref_batches;  // t_ref, in batches
  double rampup_Mimg;
  double dropout;
  double P_mean, P_std;  // ln sigma ~ N(P_mean, P_std^2)
};

// "edm2-img512-xs", -s, -m, -l, -xl, -xxl, "edm2-img64-s", "edm2-fmnist-xs",
// "edm2-fmnist-s". Every function below also takes "edm2", the name of the
// default one for Fashion-MNIST (edm2-fmnist-s).
const std::vector<std::string>& edm2_preset_names();
bool is_edm2_preset(const std::string& name);
// Sized for a CPU (the Fashion-MNIST ones, which take their shape from the data).
bool edm2_preset_is_small(const std::string& name);
std::string edm2_preset_description(const std::string& name);
// The full edm.config of the preset; the reference presets fix their data
// shape, the Fashion-MNIST ones take it from the data. edm::UsageError if unknown.
nlohmann::json edm2_preset_config(const std::string& name, int64_t img_resolution = 0, int64_t img_channels = 0,
                                  int64_t label_dim = 0);
EDM2PresetTraining edm2_preset_training(const std::string& name);

}  // namespace edm::networks
