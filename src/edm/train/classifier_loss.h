// The loss of the noise-aware classifier of classifier guidance: the
// cross-entropy of the true class given the noisy image y + sigma n, with
// sigma drawn from the denoiser's p_train so that the classifier knows every
// noise level the sampler visits.
#pragma once
#include <torch/torch.h>

#include "edm/nn/precond.h"

namespace edm {

// -log p(label | y + sigma n; sigma) per image, [N]. images y [N,C,H,W] in
// [-1, 1]; labels one-hot [N, classes]; sigma [N,1,1,1]; n like y.
torch::Tensor classifier_loss(networks::PrecondImpl& net, const torch::Tensor& images, const torch::Tensor& labels,
                              const torch::Tensor& sigma, const torch::Tensor& n);

}  // namespace edm
