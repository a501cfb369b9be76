#include "edm/train/loss.h"

#include <map>

#include "edm/core/error.h"
#include "edm/diffusion/vp.h"

namespace edm {

LossConfig LossConfig::for_precond(const std::string& precond) {
  // The loss train.py pairs with each preconditioning, by --precond name or
  // by the edm.config class it builds.
  static const std::map<std::string, std::string> kinds = {
      {"edm", "edm"}, {"EDMPrecond", "edm"}, {"vp", "vp"},           {"VPPrecond", "vp"},
      {"ve", "ve"},   {"VEPrecond", "ve"},   {"EDM2Precond", "edm2"}};
  if (precond == "iddpm" || precond == "iDDPMPrecond")
    throw UsageError("--precond iddpm: training with the iDDPM loss (L_hybrid) is not implemented (edm, vp or ve)");
  auto kind = kinds.find(precond);
  if (kind == kinds.end()) throw UsageError("unknown --precond '" + precond + "' (edm, vp or ve)");
  LossConfig c;
  c.kind = kind->second;
  return c;
}

torch::Tensor sample_sigma(const LossConfig& c, int64_t n, torch::Device device, c10::optional<at::Generator> gen) {
  auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  if (c.kind == "vp") {
    auto t = 1 + torch::rand({n, 1, 1, 1}, gen, opts) * (c.epsilon_t - 1);
    return vp_sigma(t, c.beta_d, c.beta_min);
  }
  if (c.kind == "ve") return c.sigma_min * torch::pow(c.sigma_max / c.sigma_min, torch::rand({n, 1, 1, 1}, gen, opts));
  return (torch::randn({n, 1, 1, 1}, gen, opts) * c.P_std + c.P_mean).exp();
}

torch::Tensor loss_weight(const LossConfig& c, const torch::Tensor& sigma) {
  if (c.kind == "edm" || c.kind == "edm2")
    return (sigma.square() + c.sigma_data * c.sigma_data) / (sigma * c.sigma_data).square();
  return 1 / sigma.square();
}

torch::Tensor diffusion_loss(networks::PrecondImpl& net, const torch::Tensor& images, const torch::Tensor& labels,
                             const torch::Tensor& augment_labels, const LossConfig& c, const torch::Tensor& sigma_in,
                             const torch::Tensor& n) {
  std::vector<int64_t> shape(images.dim(), 1);  // sigma as [N,1,...,1], like the images
  shape[0] = -1;
  auto sigma = sigma_in.reshape(shape);
  auto weight = loss_weight(c, sigma);
  auto D = net.forward(images + n * sigma, sigma.flatten(), labels, augment_labels);
  return weight * (D - images).square();
}

}  // namespace edm
