// DDPM's training losses (Ho et al. 2020; Nichol & Dhariwal 2021): L_simple,
// the squared error of the predicted noise at a uniformly drawn step, and
// for a learned variance L_hybrid = L_simple + lambda L_vlb, where L_vlb is
// T times the bound's term L_t in bits with the mean held fixed (stop
// gradient), so that it trains the variance alone.
#pragma once
#include <torch/torch.h>

#include "edm/nn/precond.h"

namespace edm {

// Per element, shaped like images: (eps_theta - n)^2 [+ lambda T L_t / ln 2].
// sigma [N,1,...,1] is one of the model's levels (sample_sigma draws them),
// n the noise with x = images + sigma n. Throws edm::Error for a network that
// is not a DDPM model.
torch::Tensor ddpm_loss(networks::PrecondImpl& net, const torch::Tensor& images, const torch::Tensor& labels,
                        const torch::Tensor& augment_labels, const torch::Tensor& sigma, const torch::Tensor& n,
                        double lambda_vlb);

}  // namespace edm
