#include "edm/sampling/restart.h"

#include <cmath>
#include <sstream>

#include "edm/core/error.h"
#include "edm/sampling/discretization.h"
#include "edm/sampling/samplers.h"

namespace edm {

namespace {

RestartInterval parse_interval(const std::string& text) {
  RestartInterval r{};
  char c1 = 0, c2 = 0, c3 = 0;
  std::istringstream in(text);
  if (!(in >> r.n >> c1 >> r.K >> c2 >> r.t_min >> c3 >> r.t_max) || c1 != ',' || c2 != ',' || c3 != ',' ||
      !(in >> std::ws).eof())
    throw UsageError("--restart: '" + text + "' is not n,K,t_min,t_max");
  if (r.n < 1 || r.K < 1) throw UsageError("--restart: n and K must be at least 1 in '" + text + "'");
  if (!(r.t_min > 0 && r.t_min < r.t_max && std::isfinite(r.t_max)))
    throw UsageError("--restart: need 0 < t_min < t_max in '" + text + "'");
  return r;
}

// The main step whose end level is nearest t_min (never the final sigma = 0).
int64_t restart_index(const std::vector<double>& t, double t_min) {
  int64_t best = 1;
  for (int64_t j = 1; j + 1 < static_cast<int64_t>(t.size()); ++j)
    if (std::abs(t[j] - t_min) < std::abs(t[best] - t_min)) best = j;
  return best;
}

// Heun from t[0] down to t.back() (> 0), two evaluations per step.
torch::Tensor heun(Denoiser& net, torch::Tensor x, const std::vector<double>& t, const torch::Tensor& labels) {
  for (size_t i = 0; i + 1 < t.size(); ++i) {
    const double h = t[i + 1] - t[i];
    auto d = (x - denoise_at(net, x, t[i], labels)) / t[i];
    auto x_next = x + h * d;
    if (t[i + 1] > 0) x_next = x + h * 0.5 * (d + (x_next - denoise_at(net, x_next, t[i + 1], labels)) / t[i + 1]);
    x = x_next;
  }
  return x;
}

}  // namespace

std::vector<RestartInterval> parse_restart(const std::string& spec) {
  std::vector<RestartInterval> out;
  std::istringstream in(spec);
  for (std::string part; std::getline(in, part, ':');) out.push_back(parse_interval(part));
  if (out.empty() || spec.back() == ':') throw UsageError("--restart: empty interval in '" + spec + "'");
  return out;
}

int64_t restart_nfe(const SamplerOptions& o) {
  int64_t n = 2 * o.num_steps - 1;
  for (const auto& r : parse_restart(o.restart)) n += r.K * 2 * r.n;
  return n;
}

torch::Tensor restart_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                              const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step) {
  validate(o);
  if (o.num_steps < 2) throw UsageError("sampler 'restart' needs --steps 2 or more");
  const auto t = noise_levels(net, o);
  const auto intervals = parse_restart(o.restart);
  auto x = latents.to(torch::kFloat64) * t[0];
  for (int64_t i = 0; i < o.num_steps; ++i) {
    x = heun(net, x, {t[i], t[i + 1]}, class_labels);
    for (const auto& r : intervals) {
      if (restart_index(t, r.t_min) != i + 1) continue;
      const double lo = t[i + 1], hi = round_sigma(net, r.t_max);
      if (!(hi > lo)) throw UsageError("--restart: t_max " + std::to_string(r.t_max) + " is not above t_min's level");
      auto levels = sigma_steps("edm", r.n + 1, lo, hi, o.disc);
      for (auto& s : levels) s = round_sigma(net, s);
      levels.back() = lo;
      for (int64_t k = 0; k < r.K; ++k) {
        x = x + std::sqrt(hi * hi - lo * lo) * randn_like(x);  // forward noise from lo to hi
        x = heun(net, x, levels, class_labels);
      }
    }
    if (on_step) on_step(i + 1);
  }
  return x;
}

}  // namespace edm
