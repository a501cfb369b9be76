// Model files: safetensors whose tensors are the reference's state_dict and
// whose __metadata__["edm.config"] JSON says what to build around them.
#pragma once
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "edm/core/denoiser.h"
#include "edm/io/safetensors.h"
#include "edm/nn/precond.h"

namespace edm {

// The parsed edm.config of a model file; throws edm::Error naming the file if
// it is missing or not a JSON object with a "precond" string, or if the
// file's edm.format (when present) is not one this version reads.
nlohmann::json read_model_config(const TensorFile& file);

// The edm.format tag a model file of this config is written with:
// "edm2-model-v1" for EDM2Precond (as the EDM2 reference fixtures and
// tools/convert_pickle.py write them), "edm-model-v1" for every other.
// Readers take both; EDM2 models written as "edm-model-v1" still load.
std::string model_format(const nlohmann::json& config);

// Any model file as a denoiser on `device`: a preconditioned network
// (EDMPrecond, VPPrecond, VEPrecond, iDDPMPrecond) or an ideal denoiser
// ("ideal"), the network computing in `precision` (an ideal denoiser always
// computes in float64). Throws edm::Error with a one-line reason.
std::shared_ptr<Denoiser> load_denoiser(const std::string& path, torch::Device device,
                                        networks::Precision precision = networks::Precision::FromModel);

// A noise-aware classifier model file (edm train --classifier) on `device`.
// Throws edm::Error naming the file when it is not one.
std::shared_ptr<NoisyClassifier> load_classifier(const std::string& path, torch::Device device);

// A preconditioned network from a model file; every tensor must be present,
// expected and of the right shape (errors name the tensor).
std::shared_ptr<networks::PrecondImpl> load_precond(const TensorFile& file, const nlohmann::json& config,
                                                    torch::Device device);
// Builds the network of `config` on the meta device (no memory), bounded by
// the size of `tensors`, and compares its tensors' names and shapes with
// them: a configuration that does not describe these tensors (num_blocks
// 10^9, a huge label_dim or model_channels) fails here, naming the key or
// tensor, before anything is allocated. Throws edm::Error prefixed by `where`.
void check_config_matches(const nlohmann::json& config, const std::map<std::string, torch::Tensor>& tensors,
                          const std::string& where);
// Writes the module's state_dict (reference key names) and its edm.config, atomically.
void save_precond(const std::string& path, networks::PrecondImpl& net);

// The module's parameters and buffers under their state_dict names (detached,
// on the module's device); and the strict reverse: fills `net` from `tensors`,
// throwing edm::Error("<where>: missing/unexpected tensor 'name'" or a shape
// mismatch). For training states that keep several networks in one file.
std::map<std::string, torch::Tensor> state_dict(torch::nn::Module& net);
void load_state_dict(torch::nn::Module& net, const std::map<std::string, torch::Tensor>& tensors,
                     const std::string& where);

}  // namespace edm
