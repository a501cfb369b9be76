#include "edm/train/autoencoder_loss.h"

#include "edm/core/error.h"
#include "edm/nn/autoencoder_kl.h"

namespace edm {

torch::Tensor autoencoder_loss(networks::PrecondImpl& net, const torch::Tensor& images, const torch::Tensor& noise,
                               double kl_weight) {
  auto* ae = dynamic_cast<networks::AutoencoderKLImpl*>(&net.model());
  if (!ae) throw Error("autoencoder_loss: the network is not an AutoencoderKL");
  auto q = ae->encode(images);
  const int64_t N = images.size(0), latent = q.mean[0].numel(), pixels = images[0].numel();
  if (latent > pixels) throw Error("autoencoder: the latent is larger than the image");
  auto eps = noise.reshape({N, pixels}).narrow(1, 0, latent).reshape(q.mean.sizes());
  auto z = q.mean + torch::exp(0.5 * q.logvar) * eps;
  auto error = (ae->decode(z) - images).square();
  // KL of N(mean, exp(logvar)) from N(0, 1), summed over the latent.
  auto kl = 0.5 * (q.mean.square() + q.logvar.exp() - 1 - q.logvar).flatten(1).sum(1);
  return error + (kl_weight / double(pixels)) * kl.view({N, 1, 1, 1});
}

}  // namespace edm
