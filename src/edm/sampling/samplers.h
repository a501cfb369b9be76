// Samplers beyond the reference, on the same denoiser interface and the same
// noise levels (noise_levels(): EDM time steps unless --disc says otherwise).
// All are written in the paper's coordinates, sigma(t) = t and s(t) = 1, in
// which DDPM/DDIM, NCSN and the SDE samplers become short update rules on x
// and D(x; sigma).
#pragma once
#include <string>
#include <vector>

#include "edm/sampling/sampler.h"

namespace edm {

// DDIM (Song et al. 2021) with stochasticity eta: eta = 0 is deterministic
// (Euler on the probability-flow ODE), eta = 1 is DDPM ancestral sampling.
torch::Tensor ddim_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                           const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step = {});

// Euler-Maruyama on the reverse-time SDE dx = -2 sigma grad log p dsigma + sqrt(2 sigma) dw.
torch::Tensor euler_maruyama_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                                     const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step = {});

// Annealed Langevin dynamics (NCSN): o.ld_steps Langevin updates at each noise
// level with the step size set by o.ld_snr, then a final denoising step.
torch::Tensor langevin_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                               const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step = {});

// Standard normal noise for the step from sigma to sigma_next.
using StepNoiseFn = std::function<torch::Tensor(double sigma, double sigma_next)>;

// DPM-Solver++ multistep (Lu et al. 2022) in data prediction, order 2 or 3,
// one denoiser evaluation per step; with eta > 0 the SDE solver, drawing from `noise`.
torch::Tensor dpmpp_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                            const SamplerOptions& o, int order, const StepFn& on_step = {}, double eta = 0,
                            const StepNoiseFn& noise = {});

// The same samplers with the one signature of the table below.
torch::Tensor ddpm_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                           const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step = {});
torch::Tensor dpmpp2m_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                              const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step = {});
torch::Tensor dpmpp3m_sampler(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                              const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step = {});

// Few-step solvers (one file each; docs/sampling.md gives orders and options).
#define EDM_SAMPLER(name)                                                                            \
  torch::Tensor name(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels, \
                     const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step = {})
EDM_SAMPLER(ipndm_sampler);
EDM_SAMPLER(ipndm_v_sampler);
EDM_SAMPLER(deis_sampler);
EDM_SAMPLER(unipc_sampler);
EDM_SAMPLER(heun_afs_sampler);
EDM_SAMPLER(dpmpp2m_sde_sampler);
EDM_SAMPLER(dpmpp3m_sde_sampler);
EDM_SAMPLER(restart_sampler);
EDM_SAMPLER(adaptive_sampler);
// Predictor-corrector (Song et al. 2021): o.corrector_steps Langevin steps at
// o.snr, then a reverse-diffusion or Euler-Maruyama step (o.predictor).
EDM_SAMPLER(pc_sampler);
#undef EDM_SAMPLER
int64_t restart_nfe(const SamplerOptions& o);

// Every sampler, one row each (registry.cpp): adding a sampler is one file
// with its function plus one row. --help, the unknown-name error, dispatch,
// NFE and the check of which options apply all read this table.
using SamplerFn = torch::Tensor (*)(Denoiser& net, const torch::Tensor& latents, const torch::Tensor& class_labels,
                                    const NoiseFn& randn_like, const SamplerOptions& o, const StepFn& on_step);
struct SamplerInfo {
  const char* name;  // --sampler NAME
  SamplerFn run;
  int64_t (*nfe)(const SamplerOptions& o);  // denoiser evaluations (NFE) for o.num_steps; -1: data-dependent
  const char* description;                  // one line, for --help and docs/sampling.md
  unsigned options;                         // SamplerOption bits it reads beyond steps, sigma range and rho
};
const std::vector<SamplerInfo>& sampler_table();

// The row of `name`; throws edm::UsageError listing every name when there is none.
const SamplerInfo& find_sampler(const std::string& name);
// "edm, ablation, ..." in table order.
std::string sampler_names();
// Throws edm::UsageError naming the options `o` sets that `s` does not take
// (an option left at its default is never an error).
void check_options(const SamplerInfo& s, const SamplerOptions& o);

// validate, check_options, then the sampler.
torch::Tensor run_sampler(const SamplerInfo& s, Denoiser& net, const torch::Tensor& latents,
                          const torch::Tensor& class_labels, const NoiseFn& randn_like, const SamplerOptions& o,
                          const StepFn& on_step = {});
torch::Tensor run_sampler(const std::string& name, Denoiser& net, const torch::Tensor& latents,
                          const torch::Tensor& class_labels, const NoiseFn& randn_like, const SamplerOptions& o,
                          const StepFn& on_step = {});
// Denoiser evaluations the sampler makes (NFE), for progress and benchmarks.
int64_t sampler_nfe(const std::string& name, const SamplerOptions& o);
// The number of steps with which `s` makes exactly `nfe` evaluations (the
// fewest if several); throws edm::UsageError when none does.
int64_t steps_for_nfe(const SamplerInfo& s, SamplerOptions o, int64_t nfe);

}  // namespace edm
