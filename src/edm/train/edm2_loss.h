// The EDM2 training recipe (Karras et al. 2024, sections 2 and 5): the
// uncertainty-weighted loss and the inverse square-root learning rate.
#pragma once
#include <torch/torch.h>

#include "edm/nn/precond.h"

namespace edm {

struct EDM2LossConfig {
  double P_mean = -0.4, P_std = 1.0, sigma_data = 0.5;
};

// sigma = exp(rnd_normal P_std + P_mean) for rnd_normal [N,1,1,1] ~ N(0,1).
torch::Tensor edm2_sigma(const EDM2LossConfig& c, const torch::Tensor& rnd_normal);

// Per element: lambda(sigma) / e^u(sigma) |D(y + sigma n; sigma) - y|^2 + u(sigma),
// lambda = (sigma^2 + sigma_data^2) / (sigma sigma_data)^2. The learned
// log-variance u equalises the loss magnitude over noise levels, so that no
// level dominates the gradient (the paper's multi-task uncertainty weighting).
// `noise` is unit normal like `images`; the network needs the log-variance head.
torch::Tensor edm2_loss(networks::PrecondImpl& net, const torch::Tensor& images, const torch::Tensor& labels,
                        const EDM2LossConfig& c, const torch::Tensor& sigma, const torch::Tensor& noise);

// alpha = ref_lr / sqrt(max(cur_nimg / (ref_batches batch_size), 1)) (if
// ref_batches > 0), times min(cur_nimg / (rampup_Mimg 1e6), 1) (if
// rampup_Mimg > 0); cur_nimg is the count before the step.
double edm2_learning_rate(double cur_nimg, double batch_size, double ref_lr = 1e-2, double ref_batches = 70e3,
                          double rampup_Mimg = 10);

}  // namespace edm
