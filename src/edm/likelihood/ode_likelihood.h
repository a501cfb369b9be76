// Negative log-likelihood by the probability-flow ODE (Song et al. 2021,
// the instantaneous change of variables of Chen et al. 2018), in EDM's
// coordinates sigma(t) = t, s(t) = 1:
//
//   dx/dsigma = f(x; sigma) = (x - D(x; sigma)) / sigma,
//   d log p(x(sigma); sigma) / dsigma = -div f = -(dims - tr dD/dx) / sigma,
//
// integrated from x(sigma_min) = x up to sigma_max with the classical
// fourth-order Runge-Kutta method on EDM's time steps (the levels `edm
// generate` samples on, run backwards, as `edm invert` does), in float64,
// with the prior N(0, sigma_max^2 I) at the end:
//
//   -log p(x; sigma_min) = -log N(x(sigma_max); 0, sigma_max^2 I) - int div f dsigma.
//
// This is the density of the data convolved with N(0, sigma_min^2 I).
#pragma once
#include "edm/likelihood/divergence.h"
#include "edm/sampling/sampler.h"

namespace edm {

struct OdeLikelihood {
  torch::Tensor nll;        // [N] -log p(x; sigma_min) in nats
  torch::Tensor prior_nll;  // [N] -log N(x(sigma_max); 0, sigma_max^2 I)
  torch::Tensor latents;    // x(sigma_max), [N, ...]
};

// The noise levels the ODE is integrated over, smallest first: o.num_steps
// of EDM's levels (o.disc.rho), the range defaulted and clamped as the
// samplers do (sigma_range), rounded by the denoiser. Runge-Kutta makes
// four evaluations per interval: 4 (o.num_steps - 1).
std::vector<double> likelihood_levels(Denoiser& net, const SamplerOptions& o);
// validate(o) and at least two levels; edm::UsageError otherwise.
void validate_likelihood_levels(const SamplerOptions& o);
int64_t likelihood_nfe(const SamplerOptions& o);

// x [N, sample_shape...] in the model's space; probes [K, N, ...] for
// Hutchinson's estimator (held fixed along the path, as Song et al. do), or
// undefined for the exact divergence. on_step(i) after each interval.
OdeLikelihood ode_likelihood(Denoiser& net, const torch::Tensor& x, const torch::Tensor& class_labels,
                             const torch::Tensor& probes, const SamplerOptions& o, const StepFn& on_step = {});

}  // namespace edm
