// The EDM sampler (paper Algorithm 2; Algorithm 1 when S_churn = 0) and the
// generalised sampler over every solver x discretization x schedule x scaling,
// with the semantics of the reference's edm_sampler and ablation_sampler.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "edm/core/denoiser.h"
#include "edm/sampling/discretization.h"

namespace edm {

struct SamplerOptions {
  int64_t num_steps = 18;
  std::optional<double> sigma_min, sigma_max;  // unset: the discretization's default
  std::string solver = "heun";                 // euler | heun
  std::string discretization = "edm";          // edm | vp | ve | iddpm
  std::string schedule = "linear";             // linear | vp | ve
  std::string scaling = "none";                // none | vp
  double alpha = 1;                            // Heun's intermediate point, (0, 1]
  DiscretizationParams disc;                   // rho (--rho) and the other discretizations' constants
  double S_churn = 0, S_min = 0, S_max = std::numeric_limits<double>::infinity(), S_noise = 1;
  // Samplers beyond the reference (samplers.h).
  double eta = 0;                        // DDIM: 0 deterministic, 1 = DDPM ancestral
  int64_t ld_steps = 3;                  // annealed Langevin: updates per noise level
  double ld_snr = 0.16;                  // annealed Langevin: signal-to-noise ratio of each update
  int order = 0;                         // multistep samplers: 0 = the sampler's own default
  std::string variant = "bh2";           // UniPC's B(h): bh1 | bh2
  std::string restart = "3,2,0.06,0.3";  // Restart: n,K,t_min,t_max[:n,K,t_min,t_max...]
  double rtol = 0.05;                    // adaptive: relative error tolerance per step
  std::vector<double> steps;             // --steps-file: the noise levels t_0 > ... > t_{N-1} > 0 themselves
  int64_t respace = 0;                   // ddpm: K of a DDPM model's own levels (0: the --disc levels)
  bool clip_denoised = false;            // D clamped to the data range [-1, 1] (Improved DDPM's clip_denoised)
  bool afs = false;                      // multistep samplers: the first evaluation analytical (one fewer)

  // Predictor-corrector (pc).
  std::string predictor = "reverse-diffusion";  // reverse-diffusion | euler-maruyama
  int64_t corrector_steps = 1;                  // Langevin corrector steps per noise level
  double snr = 0.16;                            // the corrector's signal-to-noise ratio
};

// The one rule of every option: throws edm::UsageError naming the first
// impossible one (a range, NaN, or a choice that is none of the names above).
void validate(const SamplerOptions& o);

// Options that only some samplers read, one bit each; SamplerInfo::options
// (samplers.h) says which a sampler takes. --steps, --sigma_min, --sigma_max
// and --rho belong to every sampler.
enum SamplerOption : unsigned {
  kS_churn = 1u << 0,
  kS_min = 1u << 1,
  kS_max = 1u << 2,
  kS_noise = 1u << 3,
  kSolver = 1u << 4,
  kDisc = 1u << 5,
  kSchedule = 1u << 6,
  kScaling = 1u << 7,
  kAlpha = 1u << 8,
  kEta = 1u << 9,
  kLd_steps = 1u << 10,
  kLd_snr = 1u << 11,
  kOrder = 1u << 12,
  kVariant = 1u << 13,
  kRestart = 1u << 14,
  kRtol = 1u << 15,
  kStepsFile = 1u << 16,
  kPredictor = 1u << 17,
  kCorrectorSteps = 1u << 18,
  kSnr = 1u << 19,
  kRespace = 1u << 20,
  kAfs = 1u << 21,
  kChurn = kS_churn | kS_min | kS_max | kS_noise,
  kAblation = kSolver | kDisc | kSchedule | kScaling | kAlpha,
  kLangevin = kLd_steps | kLd_snr,
  kPredictorCorrector = kPredictor | kCorrectorSteps | kSnr,
};
// The bits of the options `o` sets to other than their defaults.
unsigned options_set(const SamplerOptions& o);
// Their command-line names, e.g. "--S_churn, --eta".
std::string option_flags(unsigned options);

// The sigma range a sampler runs over: the options' (the discretization's
// default where unset) clamped to the network's. Throws edm::UsageError when
// nothing is left.
struct SigmaRange {
  double min, max;
};
SigmaRange sigma_range(const Denoiser& net, const SamplerOptions& o);

// gamma of Algorithm 2 inside [S_min, S_max]: S_churn / N, at most sqrt(2) - 1,
// so every S_churn >= (sqrt(2) - 1) N churns alike.
double churn_gamma_in_range(const SamplerOptions& o);

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
