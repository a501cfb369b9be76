#include "edm/model/latent_denoiser.h"

#include "edm/core/error.h"
#include "edm/model/autoencoder_file.h"

namespace edm {

LatentDenoiser::LatentDenoiser(std::shared_ptr<Denoiser> net, std::shared_ptr<networks::AutoencoderKLImpl> autoencoder,
                               LatentSpace space)
    : ForwardingDenoiser(std::move(net)), autoencoder_(std::move(autoencoder)), space_(std::move(space)) {
  const auto channels = autoencoder_->options().latent_channels;
  if (inner_->img_channels() != channels || int64_t(space_.mean.size()) != channels)
    throw Error("the network samples " + std::to_string(inner_->img_channels()) +
                " channels, the autoencoder's latents have " + std::to_string(channels) +
                " and the recorded statistics " + std::to_string(space_.mean.size()));
}

torch::Tensor LatentDenoiser::to_images(const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  const auto z = space_.denormalize(x.to(torch::kFloat32));
  return autoencoder_->decode(z.to(inner_->device()));
}

std::shared_ptr<Denoiser> with_latent_space(std::shared_ptr<Denoiser> net, const nlohmann::json& latent,
                                            const std::string& model_path) {
  auto space = LatentSpace::from_json(latent, model_path + ": edm.config \"latent\"");
  auto autoencoder = load_autoencoder(find_autoencoder(space, model_path), net->device());
  try {
    return std::make_shared<LatentDenoiser>(std::move(net), std::move(autoencoder), std::move(space));
  } catch (const Error& e) {
    throw Error(model_path + ": " + e.what());
  }
}

}  // namespace edm
