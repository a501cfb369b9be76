#include "edm/sampling/step_fit.h"

#include <cmath>

#include "edm/core/error.h"

namespace edm {

namespace {

torch::Tensor no_noise(const torch::Tensor& x) { return torch::zeros_like(x); }

}  // namespace

StepFitObjective::StepFitObjective(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                                   const SamplerInfo& sampler, const SamplerOptions& o, int64_t ref_steps)
    : net_(net), latents_(latents), labels_(class_labels), sampler_(sampler), o_(o) {
  if (ref_steps < 2) throw UsageError("--ref-steps must be at least 2");
  SamplerOptions ref;  // Heun on EDM steps over the same sigma range
  ref.sigma_min = o.sigma_min, ref.sigma_max = o.sigma_max, ref.disc.rho = o.disc.rho;
  ref.num_steps = ref_steps;
  target_ = edm_sampler(net_, latents_, labels_, no_noise, ref).to(torch::kFloat64);
}

double StepFitObjective::operator()(const std::vector<double>& levels) const {
  SamplerOptions o = o_;
  o.steps = levels;
  o.num_steps = static_cast<int64_t>(levels.size());
  auto x = run_sampler(sampler_, net_, latents_, labels_, no_noise, o).to(torch::kFloat64);
  return (x - target_).square().mean().sqrt().item<double>();
}

namespace {

// Golden-section search of u = log t_i in (lo, hi); returns the best u seen
// and its value, starting from the current (u0, f0).
std::pair<double, double> golden(const std::function<double(double)>& f, double lo, double hi, double u0, double f0,
                                 int64_t evals) {
  const double g = (std::sqrt(5.0) - 1) / 2;
  double best_u = u0, best_f = f0;
  double a = lo, b = hi, c = b - g * (b - a), d = a + g * (b - a);
  double fc = f(c), fd = f(d);
  for (int64_t k = 2;; ++k) {
    if (fc < best_f) best_u = c, best_f = fc;
    if (fd < best_f) best_u = d, best_f = fd;
    if (k >= evals) break;
    if (fc < fd)
      b = d, d = c, fd = fc, c = b - g * (b - a), fc = f(c);
    else
      a = c, c = d, fc = fd, d = a + g * (b - a), fd = f(d);
  }
  return {best_u, best_f};
}

}  // namespace

std::vector<double> fit_levels(const std::function<double(const std::vector<double>&)>& objective,
                               std::vector<double> levels, const StepFitOptions& f,
                               const std::function<void(int64_t, double)>& on_pass) {
  if (levels.size() < 3) return levels;  // no interior level to move
  if (f.line_evals < 2) throw UsageError("a line search needs at least 2 evaluations");
  double best = objective(levels);
  for (int64_t pass = 1; pass <= f.sweeps; ++pass) {
    for (size_t i = 1; i + 1 < levels.size(); ++i) {
      auto at = [&](double u) {
        auto trial = levels;
        trial[i] = std::exp(u);
        return objective(trial);
      };
      // Keep a margin from the neighbours so the levels stay strictly decreasing.
      const double lo = std::log(levels[i + 1]), hi = std::log(levels[i - 1]), margin = 1e-3 * (hi - lo);
      auto [u, value] = golden(at, lo + margin, hi - margin, std::log(levels[i]), best, f.line_evals);
      if (value < best) levels[i] = std::exp(u), best = value;  // else exactly as it was
    }
    if (on_pass) on_pass(pass, best);
  }
  return levels;
}

}  // namespace edm
