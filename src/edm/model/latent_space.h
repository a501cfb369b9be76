// The latent space of a latent diffusion model (edm train --latent): the
// autoencoder that maps images to latents and back, and the per-channel
// normalisation that gives the diffusion model latents of zero mean and
// standard deviation 0.5 = sigma_data (EDM2 does so with Stable Diffusion's
// latents: final_std 0.5 in its encoder). A model file
// records it as edm.config "latent", and names its autoencoder by path and
// SHA-256 rather than holding a copy, so that one autoencoder serves many
// models.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace edm {

struct LatentSpace {
  std::string autoencoder;        // the autoencoder's path when the model was trained
  std::string sha256;             // of that file
  std::vector<double> mean, std;  // per latent channel, over the encoded data set
  // The standard deviation the normalised latents have: EDM's sigma_data, as
  // EDM2's encoder's final_std (files of edm 0.1 before it was recorded: 1).
  double target_std = 0.5;

  // z -> (z - mean) / std * target_std per channel of [N,C,H,W], and back.
  torch::Tensor normalize(const torch::Tensor& z) const;
  torch::Tensor denormalize(const torch::Tensor& z) const;

  nlohmann::json to_json() const;
  // Throws edm::Error prefixed by `where` naming a missing or malformed key.
  static LatentSpace from_json(const nlohmann::json& j, const std::string& where);
  // The autoencoder's digest and the statistics: what sample_space() reports.
  std::string id() const;
};

// The per-channel mean and standard deviation of latents [N,C,H,W]; throws
// edm::Error when a channel is constant (it cannot be normalised).
LatentSpace fit_latent_space(const torch::Tensor& latents, const std::string& autoencoder, const std::string& sha256);

// The autoencoder file of a latent model at `model_path`: the recorded path,
// or else the file of that name beside the model (a model and its
// autoencoder moved together). Throws edm::Error naming the model when it is
// in neither place, or when its SHA-256 is not the recorded one.
std::string find_autoencoder(const LatentSpace& space, const std::string& model_path);

}  // namespace edm
