#include "edm/nn/autoencoder_config.h"

#include <algorithm>
#include <string>

#include "edm/core/error.h"
#include "edm/nn/autoencoder_kl.h"

namespace edm::networks {

nlohmann::json autoencoder_config(int64_t resolution, int64_t channels, int64_t factor, int64_t latent_channels,
                                  std::optional<int64_t> cbase) {
  if (factor < 1 || factor > 32 || (factor & (factor - 1)))
    throw UsageError("--ae-factor " + std::to_string(factor) + " is not a power of 2 up to 32");
  if (resolution % factor)
    throw UsageError("--ae-factor " + std::to_string(factor) + " does not divide the resolution " +
                     std::to_string(resolution));
  if (latent_channels < 1) throw UsageError("--latent-channels must be positive");
  const int64_t base = cbase.value_or(32);
  AutoencoderKLOptions o;
  o.block_out_channels = {base};
  for (int64_t f = 2; f <= factor; f *= 2) o.block_out_channels.push_back(2 * base);
  o.layers_per_block = 1;
  o.latent_channels = latent_channels;
  // Groups of 8 channels (at most 32 groups), a number that divides the width.
  o.norm_num_groups = std::max<int64_t>(1, std::min<int64_t>(32, base / 8));
  while (base % o.norm_num_groups) --o.norm_num_groups;
  o.scaling_factor = 1;
  return {{"precond", "AutoencoderKL"},
          {"img_resolution", resolution},
          {"img_channels", channels},
          {"label_dim", 0},
          {"model", o.to_json()}};
}

}  // namespace edm::networks
