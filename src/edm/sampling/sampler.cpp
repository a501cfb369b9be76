#include "edm/sampling/sampler.h"

#include <algorithm>
#include <cmath>

#include "edm/core/error.h"
#include "edm/diffusion/schedule.h"
#include "edm/diffusion/vp.h"

namespace edm {

torch::Tensor denoise_at(Denoiser& net, const torch::Tensor& x, double sigma, const torch::Tensor& class_labels) {
  auto s = torch::tensor(sigma, torch::TensorOptions().dtype(torch::kFloat64).device(x.device()));
  return net.denoise(x, s, class_labels).to(torch::kFloat64);
}

double round_sigma(Denoiser& net, double sigma) {
  return net.round_sigma(torch::tensor(sigma, torch::kFloat64)).item<double>();
}

namespace {

std::vector<double> round_all(Denoiser& net, const std::vector<double>& v) {
  auto t = torch::tensor(v, torch::kFloat64);
  auto r = net.round_sigma(t).to(torch::kFloat64).contiguous();
  return std::vector<double>(r.data_ptr<double>(), r.data_ptr<double>() + r.numel());
}

// gamma_i of Algorithm 2: churn only inside [S_min, S_max], at most sqrt(2)-1.
double churn_gamma(const SamplerOptions& o, double sigma_cur) {
  if (!(o.S_min <= sigma_cur && sigma_cur <= o.S_max)) return 0;
  return churn_gamma_in_range(o);
}

}  // namespace

double churn_gamma_in_range(const SamplerOptions& o) {
  return std::min(o.S_churn / static_cast<double>(o.num_steps), std::sqrt(2.0) - 1);
}

SigmaRange sigma_range(const Denoiser& net, const SamplerOptions& o) {
  const SigmaRange r{std::max(o.sigma_min.value_or(default_sigma_min(o.discretization, o.disc)), net.sigma_min()),
                     std::min(o.sigma_max.value_or(default_sigma_max(o.discretization)), net.sigma_max())};
  if (!(r.min < r.max))
    throw UsageError("empty noise range: sigma_min " + std::to_string(r.min) + " is not below sigma_max " +
                     std::to_string(r.max) + " (after clamping to the network's range)");
  return r;
}

std::vector<double> noise_levels(Denoiser& net, const SamplerOptions& o) {
  if (!o.steps.empty()) {  // --steps-file: rounded, not clamped
    auto t = round_all(net, o.steps);
    t.push_back(0);
    return t;
  }
  const SigmaRange r = sigma_range(net, o);
  auto t_steps = round_all(net, sigma_steps(o.discretization, o.num_steps, r.min, r.max, o.disc));
  t_steps.push_back(0);  // t_N = 0
  return t_steps;
}

torch::Tensor edm_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                          const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step) {
  validate(o);
  SamplerOptions edm = o;
  edm.discretization = "edm";
  const auto t_steps = noise_levels(net, edm);

  auto x_next = latents.to(torch::kFloat64) * t_steps[0];
  for (int64_t i = 0; i < o.num_steps; ++i) {
    const double t_cur = t_steps[i], t_next = t_steps[i + 1];
    auto x_cur = x_next;
    // Increase noise temporarily (the reference draws noise even when gamma = 0).
    const double gamma = churn_gamma(o, t_cur);
    const double t_hat = round_sigma(net, t_cur + gamma * t_cur);
    auto x_hat = x_cur + std::sqrt(t_hat * t_hat - t_cur * t_cur) * o.S_noise * randn_like(x_cur);
    // Euler step.
    auto denoised = denoise_at(net, x_hat, t_hat, class_labels);
    auto d_cur = (x_hat - denoised) / t_hat;
    x_next = x_hat + (t_next - t_hat) * d_cur;
    // Second-order correction, except into sigma = 0.
    if (i < o.num_steps - 1) {
      denoised = denoise_at(net, x_next, t_next, class_labels);
      auto d_prime = (x_next - denoised) / t_next;
      x_next = x_hat + (t_next - t_hat) * (0.5 * d_cur + 0.5 * d_prime);
    }
    if (on_step) on_step(i + 1);
  }
  return x_next;
}

torch::Tensor ablation_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                               const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step) {
  validate(o);
  const DiscretizationParams& p = o.disc;
  const SigmaRange range = sigma_range(net, o);
  const double sigma_min = range.min, sigma_max = range.max;

  // The VP schedule is fitted to the sigma range actually used.
  const VPBeta vp = vp_beta_fit(sigma_min, sigma_max, p.epsilon_s);
  const Schedule sch = Schedule::parse(o.schedule, vp.beta_d, vp.beta_min);
  const Scaling sc = Scaling::parse(o.scaling);
  auto sigma = [&](double t) { return sch.sigma(t); };
  auto s = [&](double t) { return sc.s(t, sch); };
  // dx/dt = (sigma'/sigma + s'/s) x - sigma' s / sigma D(x/s; sigma)   (paper eq. 4)
  auto slope = [&](const torch::Tensor& x, double t) {
    auto denoised = denoise_at(net, x / s(t), sigma(t), class_labels);
    const double sd = sch.sigma_deriv(t), sg = sigma(t), st = s(t);
    return (sd / sg + sc.s_deriv(t, sch) / st) * x - sd * st / sg * denoised;
  };

  auto levels = round_all(net, sigma_steps(o.discretization, o.num_steps, sigma_min, sigma_max, p));
  std::vector<double> t_steps;
  for (double v : levels) t_steps.push_back(sch.sigma_inv(v));
  t_steps.push_back(0);  // t_N = 0

  auto x_next = latents.to(torch::kFloat64) * (sigma(t_steps[0]) * s(t_steps[0]));
  for (int64_t i = 0; i < o.num_steps; ++i) {
    const double t_cur = t_steps[i], t_next = t_steps[i + 1];
    auto x_cur = x_next;
    const double gamma = churn_gamma(o, sigma(t_cur));
    const double t_hat = sch.sigma_inv(round_sigma(net, sigma(t_cur) + gamma * sigma(t_cur)));
    const double churn = std::sqrt(std::max(sigma(t_hat) * sigma(t_hat) - sigma(t_cur) * sigma(t_cur), 0.0));
    auto x_hat = s(t_hat) / s(t_cur) * x_cur + churn * s(t_hat) * o.S_noise * randn_like(x_cur);

    const double h = t_next - t_hat;
    auto d_cur = slope(x_hat, t_hat);
    if (o.solver == "euler" || i == o.num_steps - 1) {
      x_next = x_hat + h * d_cur;
    } else {
      auto x_prime = x_hat + o.alpha * h * d_cur;
      const double t_prime = t_hat + o.alpha * h;
      auto d_prime = slope(x_prime, t_prime);
      x_next = x_hat + h * ((1 - 1 / (2 * o.alpha)) * d_cur + 1 / (2 * o.alpha) * d_prime);
    }
    if (on_step) on_step(i + 1);
  }
  return x_next;
}

}  // namespace edm
