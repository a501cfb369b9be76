#include <deque>

#include "edm/diffusion/vp.h"
#include "edm/sampling/multistep.h"
#include "edm/sampling/samplers.h"

namespace edm {

// DEIS tAB (Zhang & Chen 2023) in sigma: dx/dsigma = eps, with eps
// interpolated through the last `order` steps by a polynomial in the VP time
// tau(sigma) of the reference's VP discretization, integrated exactly. The
// last step, into sigma = 0, is Euler (x = D): near 0, sigma ~ sqrt(tau) is
// not smooth in tau.
torch::Tensor deis_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                           const NoiseFn&, const SamplerOptions& o, const StepFn& on_step) {
  validate(o);
  const size_t max_order = static_cast<size_t>(sampler_order(o, 3, 3, "deis"));
  const VPBeta vp = vp_beta_fit(0.002, 80, 1e-3);
  auto tau = [&](double sigma) { return vp_sigma_inv(sigma, vp.beta_d, vp.beta_min); };
  const auto t = noise_levels(net, o);
  auto x = latents.to(torch::kFloat64) * t[0];
  std::deque<torch::Tensor> eps;  // newest first
  std::deque<double> nodes;       // their tau
  for (int64_t i = 0; i < o.num_steps; ++i) {
    eps.push_front((x - denoise_at(net, x, t[i], class_labels)) / t[i]);
    nodes.push_front(tau(t[i]));
    if (eps.size() > max_order) eps.pop_back(), nodes.pop_back();
    if (t[i + 1] == 0) eps.resize(1), nodes.resize(1);  // Euler into sigma = 0: x = D
    const auto w = lagrange_integrals({nodes.begin(), nodes.end()}, t[i], t[i + 1], tau);
    for (size_t j = 0; j < w.size(); ++j) x = x + w[j] * eps[j];
    if (on_step) on_step(i + 1);
  }
  return x;
}

}  // namespace edm
