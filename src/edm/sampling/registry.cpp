#include "edm/core/error.h"
#include "edm/sampling/analytical_first_step.h"
#include "edm/sampling/clipped_denoiser.h"
#include "edm/sampling/samplers.h"

namespace edm {

namespace {

int64_t one_per_step(const SamplerOptions& o) { return o.num_steps; }
// Multistep samplers: one per step, the first analytical with --afs.
int64_t multistep(const SamplerOptions& o) { return o.num_steps - (o.afs ? 1 : 0); }
// Heun: two evaluations per step, one into sigma = 0.
int64_t heun(const SamplerOptions& o) { return 2 * o.num_steps - 1; }
int64_t ablation_nfe(const SamplerOptions& o) { return o.solver == "heun" ? heun(o) : one_per_step(o); }
// ld_steps per noise level, one final denoising step.
int64_t langevin_nfe(const SamplerOptions& o) { return (o.num_steps - 1) * o.ld_steps + 1; }
// Heun whose first slope is analytical.
int64_t heun_afs(const SamplerOptions& o) { return 2 * o.num_steps - 2; }
int64_t data_dependent(const SamplerOptions&) { return -1; }
// corrector_steps Langevin steps and one predictor step per noise level.
int64_t pc_nfe(const SamplerOptions& o) { return o.num_steps * (o.corrector_steps + 1); }

}  // namespace

const std::vector<SamplerInfo>& sampler_table() {
  static const std::vector<SamplerInfo> table = {
      {"edm", edm_sampler, heun, "Algorithm 2 (Heun + churn) on EDM time steps", kChurn | kStepsFile},
      {"ablation", ablation_sampler, ablation_nfe, "the generalised sampler (Euler or Heun, any sigma(t), s(t))",
       kChurn | kAblation},
      {"ddim", ddim_sampler, one_per_step, "DDIM; --eta 0 is Euler on the probability-flow ODE",
       kDisc | kEta | kStepsFile},
      {"ddpm", ddpm_sampler, one_per_step,
       "DDPM ancestral sampling (learned variance if the model has one); --respace K: K of a DDPM model's levels",
       kDisc | kStepsFile | kRespace},
      {"euler_maruyama", euler_maruyama_sampler, one_per_step, "Euler-Maruyama on the reverse SDE", kDisc | kStepsFile},
      {"langevin", langevin_sampler, langevin_nfe, "annealed Langevin dynamics (NCSN)", kDisc | kLangevin | kStepsFile},
      {"dpmpp2m", dpmpp2m_sampler, multistep, "DPM-Solver++ multistep, 2nd order", kAfs | kDisc | kStepsFile},
      {"dpmpp3m", dpmpp3m_sampler, multistep, "DPM-Solver++ multistep, 3rd order", kAfs | kDisc | kStepsFile},
      {"ipndm", ipndm_sampler, multistep, "iPNDM, fixed Adams-Bashforth weights of --order 1-4 (default 4)",
       kAfs | kDisc | kOrder | kStepsFile},
      {"ipndm_v", ipndm_v_sampler, multistep, "iPNDM with the weights of uneven steps, --order 1-4 (default 4)",
       kAfs | kDisc | kOrder | kStepsFile},
      {"unipc", unipc_sampler, multistep, "UniPC, UniP-p + UniC of --order p 1-3 (default 3), --variant bh1|bh2",
       kAfs | kDisc | kOrder | kVariant | kStepsFile},
      {"deis", deis_sampler, multistep, "DEIS tAB of --order 1-3 (default 3)", kAfs | kDisc | kOrder | kStepsFile},
      {"heun_afs", heun_afs_sampler, heun_afs, "EDM Heun with an analytical first step", kDisc | kStepsFile},
      {"dpmpp2m_sde", dpmpp2m_sde_sampler, one_per_step, "DPM-Solver++(2M) SDE, Brownian-tree noise",
       kDisc | kStepsFile},
      {"dpmpp3m_sde", dpmpp3m_sde_sampler, one_per_step, "DPM-Solver++(3M) SDE, Brownian-tree noise",
       kDisc | kStepsFile},
      {"restart", restart_sampler, restart_nfe, "Restart sampling: Heun + --restart intervals of forward noise",
       kDisc | kRestart | kStepsFile},
      {"adaptive", adaptive_sampler, data_dependent, "DPM-Solver-12 with step size control to --rtol", kRtol},
      {"pc", pc_sampler, pc_nfe, "predictor-corrector: --predictor step + --corrector-steps Langevin steps at --snr",
       kDisc | kPredictorCorrector | kStepsFile},
  };
  return table;
}

std::string sampler_names() {
  std::string all;
  for (const auto& s : sampler_table()) all += (all.empty() ? "" : ", ") + std::string(s.name);
  return all;
}

const SamplerInfo& find_sampler(const std::string& name) {
  for (const auto& s : sampler_table())
    if (name == s.name) return s;
  throw UsageError("unknown sampler '" + name + "' (" + sampler_names() + ")");
}

void check_options(const SamplerInfo& s, const SamplerOptions& o) {
  const unsigned extra = options_set(o) & ~s.options;
  if (!extra) return;
  const std::string takes = s.options ? "it takes " + option_flags(s.options) : "it takes none of these";
  throw UsageError(option_flags(extra) + (extra & (extra - 1) ? " do" : " does") + " not apply to sampler '" + s.name +
                   "' (" + takes + ")");
}

torch::Tensor run_sampler(const SamplerInfo& s, Denoiser& net, const torch::Tensor& latents,
                          const torch::Tensor& class_labels, const NoiseFn& randn_like, const SamplerOptions& o,
                          const StepFn& on_step) {
  validate(o);
  check_options(s, o);
  std::shared_ptr<Denoiser> D(&net, [](Denoiser*) {});
  if (o.clip_denoised) D = std::make_shared<ClippedDenoiser>(D);
  if (o.afs) D = std::make_shared<AnalyticalFirstStep>(D);
  return s.run(*D, latents, class_labels, randn_like, o, on_step);
}

torch::Tensor run_sampler(const std::string& name, Denoiser& net, const torch::Tensor& latents,
                          const torch::Tensor& class_labels, const NoiseFn& randn_like, const SamplerOptions& o,
                          const StepFn& on_step) {
  return run_sampler(find_sampler(name), net, latents, class_labels, randn_like, o, on_step);
}

int64_t sampler_nfe(const std::string& name, const SamplerOptions& o) { return find_sampler(name).nfe(o); }

int64_t steps_for_nfe(const SamplerInfo& s, SamplerOptions o, int64_t nfe) {
  if (s.nfe(o) < 0) throw UsageError(std::string("sampler '") + s.name + "' picks its own steps: --nfe does not apply");
  // As --steps: the search below tries every step count up to nfe.
  if (nfe > 1000000) throw UsageError("--nfe must be at most 1000000, got " + std::to_string(nfe));
  std::string made;
  for (o.num_steps = 1; o.num_steps <= nfe + 1; ++o.num_steps) {
    const int64_t n = s.nfe(o);
    if (n == nfe) return o.num_steps;
    if (n > 0 && n < nfe + 8) made += (made.empty() ? "" : ", ") + std::to_string(n);
  }
  throw UsageError("sampler '" + std::string(s.name) + "' cannot make exactly " + std::to_string(nfe) +
                   " evaluations (nearby: " + made + ")");
}

}  // namespace edm
