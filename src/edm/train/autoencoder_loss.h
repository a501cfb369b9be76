// The loss of the KL autoencoder (edm train --autoencoder): the squared error
// of the reconstruction of a latent drawn from the posterior, plus a small
// weight times KL(q(z|x) || N(0, I)), the term that keeps the latent space
// smooth enough for a diffusion model to learn.
#pragma once
#include <torch/torch.h>

#include "edm/nn/precond.h"

namespace edm {

// Per pixel [N,C,H,W]: |x - D(mean + exp(logvar / 2) eps)|^2 + kl_weight x
// KL / (C H W) (each image's KL spread evenly over its pixels, so that the
// sum over pixels is the image's loss). images x in [-1, 1]; noise: standard
// normal like x, whose first elements give eps (drawn by the caller so that
// they follow the global batch; a latent is smaller than its image).
torch::Tensor autoencoder_loss(networks::PrecondImpl& net, const torch::Tensor& images, const torch::Tensor& noise,
                               double kl_weight);

}  // namespace edm
