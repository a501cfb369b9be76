#include "edm/study/loss_profile.h"

#include <cmath>

#include "edm/core/error.h"
#include "edm/core/rng.h"
#include "edm/train/loss.h"

namespace edm {

std::vector<double> log_spaced(double lo, double hi, int64_t n) {
  if (!(lo > 0) || !(hi > lo) || n < 2) throw UsageError("noise levels need 0 < lo < hi and at least 2 of them");
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = lo * std::pow(hi / lo, static_cast<double>(i) / static_cast<double>(n - 1));
  return v;
}

LossProfile loss_per_sigma(Denoiser& net, const torch::Tensor& images, const torch::Tensor& labels,
                           const std::vector<double>& sigmas, uint64_t seed, int64_t batch, double sigma_data) {
  torch::NoGradGuard no_grad;
  const auto device = net.device();
  auto y_all = images.to(device, torch::kFloat32);
  auto gen = seed_generator(seed);
  // One noise draw per image (on the CPU, the same on every device).
  auto n_all = torch::randn(y_all.sizes(), gen, torch::kFloat32).to(device);
  LossConfig edm;  // EDM's lambda(sigma)
  edm.sigma_data = sigma_data;
  const int64_t N = y_all.size(0);
  LossProfile p;
  for (double s : sigmas) {
    const double w = loss_weight(edm, torch::tensor(s, torch::kFloat64)).item<double>();
    auto per_image = torch::empty({N}, torch::kFloat64);
    for (int64_t i = 0; i < N; i += batch) {
      const int64_t j = std::min(N, i + batch);
      auto y = y_all.slice(0, i, j), n = n_all.slice(0, i, j);
      auto sigma = torch::full({j - i}, s, y.options());
      auto D = net.denoise(y + n * s, sigma, labels.defined() ? labels.slice(0, i, j).to(device) : torch::Tensor());
      per_image.slice(0, i, j).copy_((D.to(torch::kFloat64) - y.to(torch::kFloat64)).square().flatten(1).mean(1).cpu() *
                                     w);
    }
    p.sigma.push_back(s);
    p.loss.push_back(per_image.mean().item<double>());
    p.stderr_.push_back(N > 1 ? per_image.std().item<double>() / std::sqrt(static_cast<double>(N)) : 0.0);
  }
  return p;
}

std::vector<double> p_train_density(const std::vector<double>& sigmas, double P_mean, double P_std) {
  std::vector<double> d;
  for (double s : sigmas) {
    const double z = (std::log(s) - P_mean) / P_std;
    d.push_back(std::exp(-0.5 * z * z) / (P_std * std::sqrt(2 * M_PI)));
  }
  return d;
}

}  // namespace edm
