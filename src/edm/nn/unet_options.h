// The constructor arguments both U-Nets of the reference share, read from an
// edm.config under the reference's names. Each network sets its own defaults.
#pragma once
#include <cstdint>
#include <vector>

#include "edm/nn/config_reader.h"

namespace edm::networks {

struct UNetOptions {
  int64_t model_channels = 128;
  std::vector<int64_t> channel_mult{1, 2, 2, 2};
  int64_t channel_mult_emb = 4;
  int64_t num_blocks = 4;
  std::vector<int64_t> attn_resolutions{16};
  double dropout = 0.10;
  double label_dropout = 0;  // classifier-free guidance training

  // Reads each key, with the current value as its default.
  void read_shared(ConfigReader& r) {
    model_channels = r.integer("model_channels", model_channels);
    channel_mult = r.integers("channel_mult", channel_mult);
    channel_mult_emb = r.integer("channel_mult_emb", channel_mult_emb);
    num_blocks = r.integer("num_blocks", num_blocks);
    attn_resolutions = r.integers("attn_resolutions", attn_resolutions);
    dropout = r.number("dropout", dropout);
    label_dropout = r.number("label_dropout", label_dropout);
  }
};

}  // namespace edm::networks
