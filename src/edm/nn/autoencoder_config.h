// The edm.config of a fresh autoencoder (edm train --autoencoder).
#pragma once
#include <nlohmann/json.hpp>
#include <optional>

namespace edm::networks {

// An AutoencoderKL for images of `channels` x `resolution`^2 that downsamples
// by `factor` (a power of 2: log2(factor) + 1 blocks of cbase x 1, 2, 2, ...
// channels, default cbase 32) to `latent_channels`. Throws edm::UsageError
// for a factor that is not a power of 2 or does not divide the resolution.
nlohmann::json autoencoder_config(int64_t resolution, int64_t channels, int64_t factor, int64_t latent_channels,
                                  std::optional<int64_t> cbase);

}  // namespace edm::networks
