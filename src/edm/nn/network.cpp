#include "edm/nn/network.h"

#include "edm/core/error.h"
#include "edm/nn/autoencoder_kl.h"
#include "edm/nn/dhariwal_unet.h"
#include "edm/nn/edm2_unet.h"
#include "edm/nn/mlp.h"
#include "edm/nn/song_encoder.h"
#include "edm/nn/song_unet.h"

namespace edm::networks {

namespace {

// Sizes beyond these describe no network that fits a machine; they also keep
// the shifts and products below exact.
constexpr int64_t kMaxLevels = 16, kMaxBlocks = 1000, kMaxWidth = int64_t(1) << 24;

void check(const NetworkShape& s, int64_t model_channels, const std::vector<int64_t>& mult, int64_t num_blocks,
           const Build& build) {
  if (num_blocks > kMaxBlocks)
    throw Error("edm.config model: num_blocks " + std::to_string(num_blocks) + " is above " +
                std::to_string(kMaxBlocks));
  if (int64_t(mult.size()) > kMaxLevels) throw Error("edm.config model: channel_mult has more than 16 levels");
  if (model_channels > kMaxWidth)
    throw Error("edm.config model: model_channels " + std::to_string(model_channels) + " is above 2^24");
  for (auto m : mult)
    if (m > kMaxWidth || m * model_channels > kMaxWidth)
      throw Error("edm.config model: model_channels x channel_mult " + std::to_string(model_channels) + " x " +
                  std::to_string(m) + " is above 2^24");
  for (auto [v, name] : {std::pair{s.label_dim, "label_dim"},
                         {s.in_channels, "img_channels"},
                         {s.augment_dim, "augment_dim"},
                         {s.img_resolution, "img_resolution"}})
    if (v > kMaxWidth) throw Error("edm.config: " + std::string(name) + " " + std::to_string(v) + " is above 2^24");
  // Every block holds at least one tensor of its own.
  if (build.max_tensors && num_blocks * int64_t(mult.size()) > build.max_tensors)
    throw Error("edm.config model: num_blocks " + std::to_string(num_blocks) + " x " + std::to_string(mult.size()) +
                " levels needs more tensors than the file's " + std::to_string(build.max_tensors));
  if (s.img_resolution < 1 || s.in_channels < 1 || s.out_channels < 1 || s.label_dim < 0 || s.augment_dim < 0)
    throw Error("edm.config: img_resolution and img_channels must be positive, label_dim and augment_dim >= 0");
  if (mult.empty() || model_channels < 1 || num_blocks < 0)
    throw Error("edm.config model: model_channels, channel_mult and num_blocks must be positive");
  for (auto m : mult)
    if (m < 1) throw Error("edm.config model: channel_mult entries must be positive");
  // Every level halves the resolution exactly.
  if (s.img_resolution % (int64_t(1) << (mult.size() - 1)))
    throw Error("edm.config: img_resolution " + std::to_string(s.img_resolution) + " does not halve " +
                std::to_string(mult.size() - 1) + " times");
}

}  // namespace

std::shared_ptr<NetworkImpl> make_network(const nlohmann::json& model, const std::string& default_type,
                                          const NetworkShape& shape, const Build& build) {
  ConfigReader r(model, "edm.config model");
  auto type = r.string("model_type", default_type,
                       {"SongUNet", "DhariwalUNet", "EDM2UNet", "MLP", "SongEncoder", "AutoencoderKL"});
  if (type == "AutoencoderKL") {
    auto o = AutoencoderKLOptions::read(r);
    r.finish();
    return std::make_shared<AutoencoderKLImpl>(shape, o, build);
  }
  if (type == "MLP") {
    auto o = MLPOptions::read(r);
    r.finish();
    return std::make_shared<MLPImpl>(shape, o, build);
  }
  if (type == "EDM2UNet") {
    auto o = EDM2UNetOptions::read(r, model);
    r.finish();
    check(shape, o.model_channels, o.channel_mult, o.num_blocks, build);
    return std::make_shared<EDM2UNetImpl>(shape, o, build);
  }
  if (type == "SongEncoder") {
    auto o = SongEncoderOptions::read(r);
    r.finish();
    check(shape, o.model_channels, o.channel_mult, o.num_blocks, build);
    return std::make_shared<SongEncoderImpl>(shape, o, build);
  }
  if (type == "SongUNet") {
    auto o = SongUNetOptions::read(r);
    r.finish();
    check(shape, o.model_channels, o.channel_mult, o.num_blocks, build);
    if (o.channel_mult_noise < 1 || o.channel_mult_emb < 1)
      throw Error("edm.config model: channel multipliers must be positive");
    return std::make_shared<SongUNetImpl>(shape, o, build);
  }
  auto o = DhariwalUNetOptions::read(r);
  r.finish();
  check(shape, o.model_channels, o.channel_mult, o.num_blocks, build);
  if (o.channel_mult_emb < 1) throw Error("edm.config model: channel_mult_emb must be positive");
  return std::make_shared<DhariwalUNetImpl>(shape, o, build);
}

}  // namespace edm::networks
