// A latent diffusion model as a denoiser: D works on normalised latents like
// any other denoiser (every sampler and guidance run unchanged), and
// to_images() turns samples back into images through the autoencoder.
#pragma once
#include <memory>

#include "edm/core/forwarding_denoiser.h"
#include "edm/model/latent_space.h"
#include "edm/nn/autoencoder_kl.h"

namespace edm {

class LatentDenoiser : public ForwardingDenoiser<Denoiser> {
 public:
  // Throws edm::Error when the network's channels, the autoencoder's latent
  // channels and the number of recorded statistics are not all the same.
  LatentDenoiser(std::shared_ptr<Denoiser> net, std::shared_ptr<networks::AutoencoderKLImpl> autoencoder,
                 LatentSpace space);

  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& class_labels = {},
                        const torch::Tensor& augment_labels = {}) override {
    return inner_->denoise(x, sigma, class_labels, augment_labels);
  }
  std::pair<torch::Tensor, torch::Tensor> denoise_with_variance(const torch::Tensor& x, const torch::Tensor& sigma,
                                                                const torch::Tensor& class_labels = {}) override {
    return inner_->denoise_with_variance(x, sigma, class_labels);
  }
  // decode(denormalize(x)), float32 in the autoencoder's image range.
  torch::Tensor to_images(const torch::Tensor& x) override;
  std::string sample_space() const override { return space_.id(); }

 private:
  std::shared_ptr<networks::AutoencoderKLImpl> autoencoder_;
  LatentSpace space_;
};

// A model file's denoiser under its edm.config "latent": the autoencoder
// found (find_autoencoder) and loaded on the denoiser's device. Throws
// edm::Error naming the model file.
std::shared_ptr<Denoiser> with_latent_space(std::shared_ptr<Denoiser> net, const nlohmann::json& latent,
                                            const std::string& model_path);

}  // namespace edm
