// Time steps fitted to a model for one sampler, in the spirit of "Align Your
// Steps" (Sabour et al. 2024): the noise levels of a short schedule are moved
// one at a time, in log sigma between their neighbours, to lower the error of
// the sampler's output on a few dozen seeds of the model itself. The
// objective differs from the paper's (its KL upper bound of the discretised
// SDE): here it is the RMS distance to the same seeds solved with many Heun
// steps, which is what a deterministic sampler is trying to reach, and it
// takes the sampler's own multistep coupling into account.
#pragma once
#include <functional>
#include <vector>

#include "edm/sampling/samplers.h"

namespace edm {

struct StepFitOptions {
  int64_t ref_steps = 256;  // Heun steps of the target solution
  int64_t sweeps = 4;       // passes over all interior levels
  int64_t line_evals = 8;   // golden-section evaluations per level and pass
};

// The objective: RMS of sampler(levels) - target over the seeds.
class StepFitObjective {
 public:
  StepFitObjective(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                   const SamplerInfo& sampler, const SamplerOptions& o, int64_t ref_steps);
  double operator()(const std::vector<double>& levels) const;

 private:
  Denoiser& net_;
  torch::Tensor latents_, labels_, target_;
  const SamplerInfo& sampler_;
  SamplerOptions o_;
};

// Coordinate descent from `levels` (t_0 > ... > t_{N-1}; the two ends stay):
// each interior level by a golden-section search of log t between its
// neighbours, kept only where it lowers the objective. `on_pass` (optional)
// gets the pass number and the objective after it.
// Any error of the levels will do as the objective (StepFitObjective is one).
std::vector<double> fit_levels(const std::function<double(const std::vector<double>&)>& objective,
                               std::vector<double> levels, const StepFitOptions& f,
                               const std::function<void(int64_t, double)>& on_pass = {});

}  // namespace edm
