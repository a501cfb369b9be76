// The training data of a latent diffusion model (edm train --latent): every
// image encoded once to its encoder mean (deterministic, so that a resumed
// run and every process see the same latents), cached on disk under the
// SHA-256 of the autoencoder and of the images, so that later runs on the
// same pair skip the encoding.
#pragma once
#include <torch/torch.h>

#include <string>

#include "edm/data/dataset.h"

namespace edm {

struct EncodedData {
  torch::Tensor latents;  // float32 [N, latent_channels, H/f, W/f], not normalised
  std::string autoencoder_sha256;
};

// `pixels`' latents under the autoencoder file `autoencoder`: read from
// `cache_dir` when a cache of this pair is there and whole, else encoded on
// `device` with a progress line and written there atomically (when `write`:
// one process writes, the others encode alike). Throws edm::Error naming the
// autoencoder when its latents do not fit the images (channels, a resolution
// its factor does not divide).
EncodedData encode_dataset(const Dataset& pixels, const std::string& autoencoder, const std::string& cache_dir,
                           torch::Device device, bool write, bool verbose);

}  // namespace edm
