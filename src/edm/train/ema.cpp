#include "edm/train/ema.h"

#include <algorithm>
#include <cmath>

namespace edm {

double ema_beta(double batch_size, double ema_halflife_nimg, double cur_nimg, std::optional<double> rampup_ratio) {
  double halflife = ema_halflife_nimg;
  if (rampup_ratio) halflife = std::min(halflife, cur_nimg * *rampup_ratio);
  return std::pow(0.5, batch_size / std::max(halflife, 1e-8));
}

void ema_update(torch::nn::Module& ema, const torch::nn::Module& net, double beta) {
  torch::NoGradGuard no_grad;
  auto e = ema.parameters(), n = net.parameters();
  for (size_t i = 0; i < e.size(); ++i) e[i].copy_(n[i].detach().lerp(e[i], beta));
}

double ramped_lr(double lr, double cur_nimg, double rampup_nimg) {
  return lr * std::min(cur_nimg / std::max(rampup_nimg, 1e-8), 1.0);
}

}  // namespace edm
