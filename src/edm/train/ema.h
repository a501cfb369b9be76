// Exponential moving average of the weights with a half-life counted in
// images (reference training_loop.py), ramped up early in training.
#pragma once
#include <torch/torch.h>

#include <optional>

namespace edm {

// beta for one step of batch_size images: 0.5^(batch / half-life), where the
// half-life is min(ema_halflife_nimg, cur_nimg * rampup_ratio) when ramping.
double ema_beta(double batch_size, double ema_halflife_nimg, double cur_nimg, std::optional<double> rampup_ratio);

// p_ema <- p_net + beta (p_ema - p_net), parameter by parameter.
void ema_update(torch::nn::Module& ema, const torch::nn::Module& net, double beta);

// The learning rate after cur_nimg images with a linear ramp-up.
double ramped_lr(double lr, double cur_nimg, double rampup_nimg);

}  // namespace edm
