#include <deque>

#include "edm/sampling/multistep.h"
#include "edm/sampling/samplers.h"

namespace edm {

namespace {

// Adams-Bashforth weights of even steps, newest slope first (iPNDM keeps
// them on uneven steps too).
const std::vector<double>& ab_weights(size_t order) {
  static const std::vector<std::vector<double>> w = {
      {1.0}, {3.0 / 2, -1.0 / 2}, {23.0 / 12, -16.0 / 12, 5.0 / 12}, {55.0 / 24, -59.0 / 24, 37.0 / 24, -9.0 / 24}};
  return w[order - 1];
}

}  // namespace

// iPNDM (Zhang & Chen 2023): one evaluation per step; the slopes
// d = (x - D)/sigma of the last `order` steps (fewer at the start: the
// lower-order warm start) extrapolated with fixed Adams-Bashforth weights.
// The last step, into sigma = 0, is Euler (x = D), as in EDM's Heun: the
// slope's extrapolation from the steps above would not be smooth there.
torch::Tensor ipndm_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                            const NoiseFn&, const SamplerOptions& o, const StepFn& on_step) {
  validate(o);
  const size_t max_order = static_cast<size_t>(sampler_order(o, 4, 4, "ipndm"));
  const auto t = noise_levels(net, o);
  auto x = latents.to(torch::kFloat64) * t[0];
  std::deque<torch::Tensor> d;  // newest first
  for (int64_t i = 0; i < o.num_steps; ++i) {
    d.push_front((x - denoise_at(net, x, t[i], class_labels)) / t[i]);
    if (d.size() > max_order) d.pop_back();
    const auto& w = ab_weights(t[i + 1] == 0 ? 1 : d.size());
    auto slope = w[0] * d[0];
    for (size_t j = 1; j < d.size(); ++j) slope = slope + w[j] * d[j];
    x = x + (t[i + 1] - t[i]) * slope;
    if (on_step) on_step(i + 1);
  }
  return x;
}

}  // namespace edm

namespace edm {

// iPNDM-v: the same extrapolation with the Adams-Bashforth weights of the
// actual (uneven) steps, i.e. the slopes' Lagrange polynomial in sigma
// integrated exactly (DEIS's rhoAB); order `order` on any steps.
torch::Tensor ipndm_v_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                              const NoiseFn&, const SamplerOptions& o, const StepFn& on_step) {
  validate(o);
  const size_t max_order = static_cast<size_t>(sampler_order(o, 4, 4, "ipndm_v"));
  const auto t = noise_levels(net, o);
  auto x = latents.to(torch::kFloat64) * t[0];
  std::deque<torch::Tensor> d;  // newest first
  std::deque<double> nodes;     // their sigma
  for (int64_t i = 0; i < o.num_steps; ++i) {
    d.push_front((x - denoise_at(net, x, t[i], class_labels)) / t[i]);
    nodes.push_front(t[i]);
    if (d.size() > max_order) d.pop_back(), nodes.pop_back();
    if (t[i + 1] == 0) d.resize(1), nodes.resize(1);  // Euler into sigma = 0: x = D
    const auto w = lagrange_integrals({nodes.begin(), nodes.end()}, t[i], t[i + 1], [](double s) { return s; });
    for (size_t j = 0; j < w.size(); ++j) x = x + w[j] * d[j];
    if (on_step) on_step(i + 1);
  }
  return x;
}

}  // namespace edm
