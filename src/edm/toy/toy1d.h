// The 1-D picture behind EDM's argument: a bimodal density diffusing with
// time, with probability-flow ODE curves and reverse-SDE paths of the exact
// (analytic) denoiser drawn over it, for a chosen noise schedule and scaling.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "edm/diffusion/schedule.h"
#include "edm/viz/plot.h"

namespace edm {

// A 1-D Gaussian mixture: the data density, with an exact denoiser.
struct Mixture1d {
  std::vector<double> weight, mean, stddev;
  static Mixture1d bimodal();  // the default toy data
  // Density of y + sigma n.
  double density(double x, double sigma) const;
  // D(x; sigma) = E[y | y + sigma n = x], exactly.
  double denoise(double x, double sigma) const;
  double sample(uint64_t& state) const;  // one draw (a small self-contained RNG)
};

struct ToyPath {
  std::vector<double> t, x;
};

struct Toy1dOptions {
  std::string schedule = "linear";  // linear | vp | ve; vp also scales by s(t)
  double sigma_max = 3;             // each schedule runs from sigma = 0 to this
  int num_ode = 15, num_sde = 6;    // curves drawn
  int num_steps = 400;              // integration steps, uniform in t
  uint64_t seed = 0;
};

struct Toy1dResult {
  std::vector<ToyPath> ode, sde;
  double t_max;
  // Mean squared ODE curvature-proxy: how far the curves bend from straight lines.
  double ode_straightness;
};

// Curves in the (t, x) plane, x = s(t) x_hat where x_hat follows the ODE
// dx_hat/dsigma = (x_hat - D(x_hat; sigma)) / sigma (the same for every
// schedule: only the clock and the scaling differ).
Toy1dResult toy1d_paths(const Mixture1d& data, const Toy1dOptions& o);

// The heat map of p(x; t) with the curves over it.
plot::Plot toy1d_plot(const Mixture1d& data, const Toy1dOptions& o, const Toy1dResult& r);

}  // namespace edm
