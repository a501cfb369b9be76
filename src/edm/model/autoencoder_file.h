// Autoencoder model files: those edm train --autoencoder writes (edm.config
// precond "AutoencoderKL", tensors under "model.") and the published
// Stable Diffusion VAE (diffusers AutoencoderKL names, no edm.config), read
// with the architecture of the config.json beside it (diffusers' layout) or,
// without one, sd-vae-ft-mse's.
#pragma once
#include <memory>
#include <string>

#include "edm/nn/autoencoder_kl.h"

namespace edm {

// The autoencoder of a model file on `device` in eval mode with frozen
// weights. Throws edm::Error naming the file when it is a denoiser or a
// classifier, or when a tensor is missing, unexpected or misshapen (naming it).
std::shared_ptr<networks::AutoencoderKLImpl> load_autoencoder(const std::string& path, torch::Device device);

// The published names of the attention weights before diffusers 0.14
// (query, key, value, proj_attn) as today's (to_q, to_k, to_v, to_out.0);
// other names unchanged.
std::string modern_attention_name(const std::string& name);

}  // namespace edm
