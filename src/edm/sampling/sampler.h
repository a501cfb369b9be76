// The EDM sampler (paper Algorithm 2; Algorithm 1 when S_churn = 0) and the
// generalised sampler over every solver x discretization x schedule x scaling,
// with the semantics of the reference's edm_sampler and ablation_sampler.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <limits>
#include <optional>
#include <string>

#include "edm/core/denoiser.h"
#include "edm/sampling/discretization.h"

namespace edm {

struct SamplerOptions {
  int64_t num_steps = 18;
  std::optional<double> sigma_min, sigma_max;  // unset: the discretization's default
  double rho = 7;
  std::string solver = "heun";         // euler | heun
  std::string discretization = "edm";  // edm | vp | ve | iddpm
  std::string schedule = "linear";     // linear | vp | ve
  std::string scaling = "none";        // none | vp
  double alpha = 1;                    // Heun's intermediate point, (0, 1]
  DiscretizationParams disc;
  double S_churn = 0, S_min = 0, S_max = std::numeric_limits<double>::infinity(), S_noise = 1;
  // Samplers beyond the reference (samplers.h).
  double eta = 0;        // DDIM: 0 deterministic, 1 = DDPM ancestral
  int64_t ld_steps = 3;  // annealed Langevin: updates per noise level
  double ld_snr = 0.16;  // annealed Langevin: signal-to-noise ratio of each update
};

// Throws edm::UsageError naming the first impossible option.
void validate(const SamplerOptions& o);

// Fresh standard normal noise shaped like its argument (float64), drawn per seed.
using NoiseFn = std::function<torch::Tensor(const torch::Tensor& like)>;
// Called after each step with the number of steps done.
using StepFn = std::function<void(int64_t)>;

// Algorithm 2 with sigma(t) = t, s(t) = 1, EDM time steps (reference edm_sampler).
torch::Tensor edm_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                          const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step = {});

// Every combination of the design choices (reference ablation_sampler).
torch::Tensor ablation_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                               const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step = {});

// The noise levels t_0 > ... > t_{N-1} > t_N = 0 of o.discretization, the
// sigma range clamped to the network's and rounded by it, as edm_sampler does.
std::vector<double> noise_levels(Denoiser& net, const SamplerOptions& o);

// D(x; sigma) at a scalar sigma, as float64.
torch::Tensor denoise_at(Denoiser& net, const torch::Tensor& x, double sigma, const torch::Tensor& class_labels);
// round_sigma of one noise level.
double round_sigma(Denoiser& net, double sigma);

}  // namespace edm
