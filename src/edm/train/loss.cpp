#include "edm/train/loss.h"

#include <map>

#include "edm/core/error.h"
#include "edm/diffusion/vp.h"
#include "edm/train/ddpm_loss.h"

namespace edm {

LossConfig LossConfig::for_precond(const std::string& precond) {
  // The loss train.py pairs with each preconditioning, by --precond name or
  // by the edm.config class it builds.
  static const std::map<std::string, std::string> kinds = {
      {"edm", "edm"},      {"EDMPrecond", "edm"},   {"vp", "vp"},     {"VPPrecond", "vp"},    {"ve", "ve"},
      {"VEPrecond", "ve"}, {"EDM2Precond", "edm2"}, {"ddpm", "ddpm"}, {"DDPMPrecond", "ddpm"}};
  if (precond == "iddpm" || precond == "iDDPMPrecond")
    throw UsageError(
        "--precond iddpm: training the iDDPM model (its rounded u grid) is not implemented; "
        "--precond ddpm --beta cosine --learn-sigma trains Improved DDPM's model with L_hybrid");
  auto kind = kinds.find(precond);
  if (kind == kinds.end()) throw UsageError("unknown --precond '" + precond + "' (edm, vp, ve or ddpm)");
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
  if (c.kind == "ddpm") {
    if (c.sigma_levels.empty()) throw Error("the DDPM loss has no noise levels");
    auto levels = torch::tensor(c.sigma_levels, torch::kFloat64).to(device, torch::kFloat32);
    auto t = torch::randint(static_cast<int64_t>(c.sigma_levels.size()), {n}, gen, opts.dtype(torch::kInt64));
    return levels.index_select(0, t).reshape({n, 1, 1, 1});
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
  if (c.kind == "ddpm") return ddpm_loss(net, images, labels, augment_labels, sigma, n, c.lambda_vlb);
  auto weight = loss_weight(c, sigma);
  auto D = net.forward(images + n * sigma, sigma.flatten(), labels, augment_labels);
  return weight * (D - images).square();
}

}  // namespace edm
