#include "edm/train/ddpm_loss.h"

#include <cmath>

#include "edm/core/error.h"
#include "edm/diffusion/ddpm_terms.h"

namespace edm {

torch::Tensor ddpm_loss(networks::PrecondImpl& net, const torch::Tensor& images, const torch::Tensor& labels,
                        const torch::Tensor& augment_labels, const torch::Tensor& sigma, const torch::Tensor& n,
                        double lambda_vlb) {
  const auto* pre = dynamic_cast<const DDPMPreconditioning*>(&net.preconditioning());
  if (!pre) throw Error("the DDPM loss needs a DDPM model (DDPMPrecond)");
  auto x = images + sigma * n;
  auto F = net.network_output(x, sigma.flatten(), labels, augment_labels);
  const int64_t channels = images.size(1);
  auto eps = F.narrow(1, 0, channels);
  auto simple = (eps - n).square();
  if (!pre->learned_variance()) return simple;
  const auto& chain = pre->chain();
  auto t = pre->step_index(sigma.flatten());
  auto x0_pred = x - sigma * eps.detach();  // D with the mean's gradient stopped
  auto v = (F.narrow(1, channels, channels) + 1) / 2;
  auto x_t = ddpm::q_sample(chain, images, t, n);  // = c_in x, the chain's coordinates
  auto model = ddpm::reverse_step(chain, x0_pred, x_t, t, v);
  auto vlb_bits = ddpm::vlb_term(chain, images, x_t, t, model) / M_LN2;
  return simple + lambda_vlb * static_cast<double>(chain.T()) * vlb_bits;
}

}  // namespace edm
