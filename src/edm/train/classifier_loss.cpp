#include "edm/train/classifier_loss.h"

namespace edm {

torch::Tensor classifier_loss(networks::PrecondImpl& net, const torch::Tensor& images, const torch::Tensor& labels,
                              const torch::Tensor& sigma, const torch::Tensor& n) {
  auto logits = net.logits(images + sigma * n, sigma.flatten());
  return -(torch::log_softmax(logits.to(torch::kFloat32), 1) * labels).sum(1);
}

}  // namespace edm
