// DDPM ancestral sampling (Ho et al. 2020) on a discrete chain of noise
// levels: a DDPM model's own levels, K of them kept as Improved DDPM
// respaces (--respace K), or the --disc noise levels of any denoiser read as
// a chain (alpha-bar = 1 / (1 + sigma^2)). Each step draws x_{t-1} from the
// posterior q(x_{t-1} | x_t, x_0 = D) with the model's learned variance, or
// beta-tilde when it has none (then it is DDIM with eta = 1); the last step
// returns D.
#include <cmath>

#include "edm/core/error.h"
#include "edm/diffusion/ddpm_terms.h"
#include "edm/sampling/samplers.h"

namespace edm {

namespace {

// sigma_0 > ... > sigma_{K-1} > 0, then 0.
std::vector<double> ancestral_levels(Denoiser& net, const SamplerOptions& o) {
  if (o.respace == 0) return noise_levels(net, o);
  const auto levels = net.sigma_levels();
  if (levels.empty()) throw UsageError("--respace needs a model with discrete noise levels (a DDPM model)");
  const auto kept = ddpm::respaced_steps(static_cast<int64_t>(levels.size()), o.respace);
  std::vector<double> out;
  for (auto t = kept.rbegin(); t != kept.rend(); ++t) out.push_back(levels[*t]);
  out.push_back(0);
  return out;
}

}  // namespace

torch::Tensor ddpm_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                           const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step) {
  validate(o);
  const auto levels = ancestral_levels(net, o);
  const auto chain = ddpm::chain_from_sigmas(std::vector<double>(levels.rbegin() + 1, levels.rend()));
  auto x = latents.to(torch::kFloat64) * levels[0];
  for (int64_t t = chain.T() - 1; t >= 0; --t) {
    auto sigma = torch::tensor(chain.sigma[t], torch::TensorOptions().dtype(torch::kFloat64).device(x.device()));
    auto [D, v] = net.denoise_with_variance(x, sigma, class_labels);
    D = D.to(torch::kFloat64);
    if (v.defined()) v = v.to(torch::kFloat64);
    // The step in the chain's coordinates x_t = sqrt(abar_t) x, back to x after.
    const double scale = std::sqrt(chain.alpha_bar[t]), scale_prev = std::sqrt(chain.alpha_bar_prev[t]);
    auto step = ddpm::reverse_step(chain, D, x * scale, torch::full({x.size(0)}, t, torch::kInt64), v);
    x = step.mean / scale_prev;
    if (t > 0 && chain.beta[t] > 0) x = x + (0.5 * step.logvar).exp() / scale_prev * randn_like(x);
    if (on_step) on_step(chain.T() - t);
  }
  return x;
}

}  // namespace edm
