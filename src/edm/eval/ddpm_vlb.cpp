#include "edm/eval/ddpm_vlb.h"

#include <cmath>

#include "edm/core/error.h"
#include "edm/core/rng.h"
#include "edm/diffusion/ddpm_terms.h"

namespace edm::ddpm {

Chain chain_of(const Denoiser& net) {
  const auto levels = net.sigma_levels();
  if (levels.empty()) throw UsageError("the discrete variational bound needs a DDPM model (discrete noise levels)");
  return chain_from_sigmas(levels);
}

namespace {

// Mean over every dimension but the first, in bits.
torch::Tensor bits_per_dim(const torch::Tensor& nats) { return nats.flatten(1).mean(1) / M_LN2; }

}  // namespace

VariationalBound variational_bound_bpd(Denoiser& net, const Chain& chain, const torch::Tensor& images,
                                       const torch::Tensor& class_labels, uint64_t seed,
                                       const std::function<void(int64_t)>& on_step) {
  const auto device = net.device();
  auto x0 = images.to(device, torch::kFloat64);
  const int64_t n = x0.size(0), T = chain.T();
  auto gen = seed_generator(seed);
  VariationalBound b;
  b.terms_bpd = torch::zeros({n, T}, torch::kFloat64);
  for (int64_t t = T - 1; t >= 0; --t) {
    auto eps = torch::randn(x0.sizes(), gen, torch::kFloat64).to(device);
    auto steps = torch::full({n}, t, torch::kInt64);
    auto x_t = q_sample(chain, x0, steps, eps);
    auto sigma = torch::tensor(chain.sigma[t], torch::TensorOptions().dtype(torch::kFloat64).device(device));
    // The denoiser sees x = x_t / sqrt(abar_t) at sigma_t: the same model.
    auto [D, v] = net.denoise_with_variance(x_t / std::sqrt(chain.alpha_bar[t]), sigma, class_labels);
    auto model = reverse_step(chain, D.to(torch::kFloat64), x_t, steps, v.defined() ? v.to(torch::kFloat64) : v);
    b.terms_bpd.select(1, t).copy_(bits_per_dim(vlb_term(chain, x0, x_t, steps, model)).cpu());
    if (on_step) on_step(T - t);
  }
  b.prior_bpd = bits_per_dim(prior_kl(chain, x0)).cpu();
  b.total_bpd = b.terms_bpd.sum(1) + b.prior_bpd;
  return b;
}

}  // namespace edm::ddpm
