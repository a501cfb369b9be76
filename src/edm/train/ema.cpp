#include "edm/train/ema.h"

#include <algorithm>
#include <cmath>

#include "edm/train/flat_params.h"
#include "edm/train/update_kernels.h"

namespace edm {

double ema_beta(double batch_size, double ema_halflife_nimg, double cur_nimg, std::optional<double> rampup_ratio) {
  double halflife = ema_halflife_nimg;
  if (rampup_ratio) halflife = std::min(halflife, cur_nimg * *rampup_ratio);
  return std::pow(0.5, batch_size / std::max(halflife, 1e-8));
}

void ema_update(torch::nn::Module& ema, const torch::nn::Module& net, double beta) {
  torch::NoGradGuard no_grad;
  auto e = ema.parameters(), n = net.parameters();
  auto e_flat = flat_buffer(e), n_flat = flat_buffer(n);
  if (e_flat.defined() && n_flat.defined() && e_flat.sizes() == n_flat.sizes()) {
    // One pass for all (flatten_parameters).
    const bool cpu32 = e_flat.is_cpu() && n_flat.is_cpu() && e_flat.scalar_type() == torch::kFloat32 &&
                       n_flat.scalar_type() == torch::kFloat32;
    if (update_kernels_available() && cpu32)
      lerp_flat(e_flat, n_flat, beta);
    else
      torch::lerp_out(e_flat, n_flat, e_flat, beta);
    return;
  }
  for (size_t i = 0; i < e.size(); ++i) e[i].copy_(n[i].detach().lerp(e[i], beta));
}

double ramped_lr(double lr, double cur_nimg, double rampup_nimg) {
  return lr * std::min(cur_nimg / std::max(rampup_nimg, 1e-8), 1.0);
}

}  // namespace edm
