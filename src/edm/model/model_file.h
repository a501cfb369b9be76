// Model files: safetensors whose tensors are the reference's state_dict and
// whose __metadata__["edm.config"] JSON says what to build around them.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "edm/core/denoiser.h"
#include "edm/io/safetensors.h"

namespace edm {

// The parsed edm.config of a model file; throws edm::Error naming the file if
// it is missing or not a JSON object with a "precond" string.
nlohmann::json read_model_config(const TensorFile& file);

// Any model file as a denoiser on `device`: a preconditioned network
// (EDMPrecond, VPPrecond, VEPrecond, iDDPMPrecond) or an ideal denoiser
// ("ideal"). Throws edm::Error with a one-line reason.
std::shared_ptr<Denoiser> load_denoiser(const std::string& path, torch::Device device);

}  // namespace edm
