#include "edm/train/edm2_loss.h"

#include <algorithm>
#include <cmath>

#include "edm/core/error.h"

namespace edm {

torch::Tensor edm2_sigma(const EDM2LossConfig& c, const torch::Tensor& rnd_normal) {
  return (rnd_normal * c.P_std + c.P_mean).exp();
}

torch::Tensor edm2_loss(networks::PrecondImpl& net, const torch::Tensor& images, const torch::Tensor& labels,
                        const EDM2LossConfig& c, const torch::Tensor& sigma, const torch::Tensor& noise) {
  if (!net.has_logvar()) throw Error("the EDM2 loss needs a network with a log-variance head (EDM2Precond)");
  const double sd2 = c.sigma_data * c.sigma_data;
  auto weight = (sigma.pow(2) + sd2) / (sigma * c.sigma_data).pow(2);
  auto denoised = net.forward(images + noise * sigma, sigma, labels);
  auto logvar = net.logvar(sigma);
  return (weight / logvar.exp()) * (denoised - images).pow(2) + logvar;
}

double edm2_learning_rate(double cur_nimg, double batch_size, double ref_lr, double ref_batches, double rampup_Mimg) {
  double lr = ref_lr;
  if (ref_batches > 0) lr /= std::sqrt(std::max(cur_nimg / (ref_batches * batch_size), 1.0));
  if (rampup_Mimg > 0) lr *= std::min(cur_nimg / (rampup_Mimg * 1e6), 1.0);
  return lr;
}

}  // namespace edm
