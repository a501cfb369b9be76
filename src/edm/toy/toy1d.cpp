#include "edm/toy/toy1d.h"

#include <algorithm>
#include <cmath>

#include "edm/core/error.h"

namespace edm {

namespace {

constexpr double kPi = 3.14159265358979323846;

double normal_pdf(double x, double mean, double var) {
  return std::exp(-0.5 * (x - mean) * (x - mean) / var) / std::sqrt(2 * kPi * var);
}

// splitmix64: enough randomness for a picture, identical on every platform.
double uniform(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (static_cast<double>(z >> 11) + 0.5) / 9007199254740992.0;
}

double normal(uint64_t& s) { return std::sqrt(-2 * std::log(uniform(s))) * std::cos(2 * kPi * uniform(s)); }

}  // namespace

Mixture1d Mixture1d::bimodal() { return {{0.4, 0.6}, {-1.0, 1.0}, {0.15, 0.2}}; }

double Mixture1d::density(double x, double sigma) const {
  double p = 0;
  for (size_t k = 0; k < weight.size(); ++k)
    p += weight[k] * normal_pdf(x, mean[k], stddev[k] * stddev[k] + sigma * sigma);
  return p;
}

// Posterior mean: each component's Wiener estimate, weighted by how likely
// the component is to have produced x.
double Mixture1d::denoise(double x, double sigma) const {
  double num = 0, den = 0;
  std::vector<double> logw(weight.size());
  double best = -INFINITY;
  for (size_t k = 0; k < weight.size(); ++k) {
    double var = stddev[k] * stddev[k] + sigma * sigma;
    logw[k] = std::log(weight[k]) - 0.5 * (x - mean[k]) * (x - mean[k]) / var - 0.5 * std::log(var);
    best = std::max(best, logw[k]);
  }
  for (size_t k = 0; k < weight.size(); ++k) {
    double w = std::exp(logw[k] - best), v = stddev[k] * stddev[k];
    num += w * (mean[k] + v / (v + sigma * sigma) * (x - mean[k]));
    den += w;
  }
  return num / den;
}

double Mixture1d::sample(uint64_t& state) const {
  double u = uniform(state), acc = 0;
  size_t k = 0;
  for (; k + 1 < weight.size(); ++k)
    if ((acc += weight[k]) > u) break;
  return mean[k] + stddev[k] * normal(state);
}

namespace {

struct Clock {
  Schedule sch;
  Scaling scale;
  double t_max;
};

Clock make_clock(const Toy1dOptions& o) {
  if (o.schedule != "linear" && o.schedule != "vp" && o.schedule != "ve")
    throw UsageError("--schedule must be linear, vp or ve, got '" + o.schedule + "'");
  if (!(o.sigma_max > 0)) throw UsageError("--sigma-max must be positive");
  if (o.num_steps < 10 || o.num_ode < 0 || o.num_sde < 0) throw UsageError("need >= 10 steps and >= 0 curves");
  Clock c{Schedule::parse(o.schedule), Scaling::parse(o.schedule == "vp" ? "vp" : "none"), 0};
  c.t_max = c.sch.sigma_inv(o.sigma_max);
  return c;
}

double marginal_sd(const Mixture1d& d, double sigma) {
  double m = 0, m2 = 0;
  for (size_t k = 0; k < d.weight.size(); ++k) {
    m += d.weight[k] * d.mean[k];
    m2 += d.weight[k] * (d.mean[k] * d.mean[k] + d.stddev[k] * d.stddev[k]);
  }
  return std::sqrt(m2 - m * m + sigma * sigma);
}

}  // namespace

Toy1dResult toy1d_paths(const Mixture1d& data, const Toy1dOptions& o) {
  Clock c = make_clock(o);
  const int n = o.num_steps;
  std::vector<double> t(n + 1), sigma(n + 1), s(n + 1);
  for (int i = 0; i <= n; ++i) {
    t[i] = c.t_max * (1 - static_cast<double>(i) / n);
    sigma[i] = i == n ? 0 : c.sch.sigma(t[i]);
    s[i] = c.scale.s(t[i], c.sch);
  }
  Toy1dResult r;
  r.t_max = c.t_max;
  const double sd = marginal_sd(data, o.sigma_max);
  // Probability-flow ODE, Heun in sigma, started at evenly spread quantiles.
  for (int k = 0; k < o.num_ode; ++k) {
    double z = o.num_ode == 1 ? 0 : -2.2 + 4.4 * k / (o.num_ode - 1);
    double x = z * sd;
    ToyPath p;
    for (int i = 0; i <= n; ++i) {
      p.t.push_back(t[i]), p.x.push_back(s[i] * x);
      if (i == n) break;
      // Heun sub-steps uniform in sigma: the clock can take big sigma steps
      // (VE near t = 0) where the curves bend most.
      const int sub = 8;
      for (int j = 0; j < sub; ++j) {
        double s0 = sigma[i] + (sigma[i + 1] - sigma[i]) * j / sub;
        double s1 = sigma[i] + (sigma[i + 1] - sigma[i]) * (j + 1) / sub;
        double d = (x - data.denoise(x, s0)) / s0;
        double xe = x + (s1 - s0) * d;
        if (s1 > 0) xe = x + (s1 - s0) * 0.5 * (d + (xe - data.denoise(xe, s1)) / s1);
        x = xe;
      }
    }
    r.ode.push_back(std::move(p));
  }
  // Reverse SDE (beta = sigma'/sigma), by exact ancestral steps between noise
  // levels: the posterior of the next level given x if the data were D(x).
  uint64_t state = o.seed * 0x2545F4914F6CDD1Dull + 1;
  for (int k = 0; k < o.num_sde; ++k) {
    double x = data.sample(state) + o.sigma_max * normal(state);
    ToyPath p;
    for (int i = 0; i <= n; ++i) {
      p.t.push_back(t[i]), p.x.push_back(s[i] * x);
      if (i == n) break;
      double d = data.denoise(x, sigma[i]), ratio = sigma[i + 1] * sigma[i + 1] / (sigma[i] * sigma[i]);
      x = d + ratio * (x - d) + sigma[i + 1] * std::sqrt(std::max(0.0, 1 - ratio)) * normal(state);
    }
    r.sde.push_back(std::move(p));
  }
  // How far ODE curves stray from the chord between their ends, relative to
  // the height of the picture: 0 for straight lines.
  double bend = 0, height = 0;
  for (int i = 0; i <= n; ++i) height = std::max(height, s[i] * 2 * 2.5 * marginal_sd(data, sigma[i]));
  for (const auto& p : r.ode) {
    double worst = 0;
    for (size_t i = 0; i < p.t.size(); ++i) {
      double f = static_cast<double>(i) / (p.t.size() - 1);
      worst = std::max(worst, std::abs(p.x[i] - (p.x.front() * (1 - f) + p.x.back() * f)));
    }
    bend += worst / height;
  }
  r.ode_straightness = r.ode.empty() ? 0 : bend / r.ode.size();
  return r;
}

plot::Plot toy1d_plot(const Mixture1d& data, const Toy1dOptions& o, const Toy1dResult& r) {
  Clock c = make_clock(o);
  double xmax = 0;
  const int cols = 360, rows = 280;
  std::vector<double> ts(cols);
  for (int j = 0; j < cols; ++j) {
    ts[j] = (j + 0.5) / cols * c.t_max;
    double sig = c.sch.sigma(ts[j]);
    xmax = std::max(xmax, c.scale.s(ts[j], c.sch) * 2.6 * marginal_sd(data, sig));
  }
  for (const auto* set : {&r.ode, &r.sde})
    for (const auto& p : *set)
      for (double x : p.x) xmax = std::max(xmax, std::abs(x) * 1.02);
  // Density of x = s(t) (y + sigma n), each column scaled to its maximum so the
  // spread-out densities at large t stay visible.
  auto heat = torch::empty({rows, cols}, torch::kFloat64);
  auto h = heat.accessor<double, 2>();
  for (int j = 0; j < cols; ++j) {
    double sig = c.sch.sigma(ts[j]), sc = c.scale.s(ts[j], c.sch), top = 0;
    for (int i = 0; i < rows; ++i) {
      double x = -xmax + (i + 0.5) / rows * 2 * xmax;
      h[i][j] = data.density(x / sc, sig) / sc;
      top = std::max(top, h[i][j]);
    }
    for (int i = 0; i < rows; ++i) h[i][j] /= top;
  }
  static const std::map<std::string, std::string> names{
      {"linear", "sigma(t) = t (EDM)"}, {"vp", "VP: sigma(t), s(t) of DDPM"}, {"ve", "VE: sigma(t) = sqrt(t)"}};
  plot::Plot p;
  p.title(names.at(o.schedule)).xlabel("time t").ylabel("x").size(760, 520);
  p.heatmap(heat, 0, c.t_max, -xmax, xmax, 0.0, 1.0);
  for (size_t k = 0; k < r.ode.size(); ++k)
    p.add_series(k == 0 ? "ODE" : "", r.ode[k].t, r.ode[k].x, plot::kWhite.with_alpha(0.95f), 1.8);
  for (size_t k = 0; k < r.sde.size(); ++k)
    p.add_series(k == 0 ? "SDE" : "", r.sde[k].t, r.sde[k].x, plot::Color{255, 110, 60, 0.9f}, 1.2);
  return p;
}

}  // namespace edm
