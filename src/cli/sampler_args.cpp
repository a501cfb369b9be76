#include "sampler_args.h"

#include <cmath>

#include "edm/core/error.h"
#include "edm/sampling/guidance.h"

namespace edm::cli {

void add_sampler_options(CLI::App* sub, SamplerArgs& a) {
  auto& so = a.gen.sampler_options;
  a.class_opt = sub->add_option("--class", a.class_idx, "Class label (default: random)");
  sub->add_option("--steps", so.num_steps, "Number of sampling steps")->capture_default_str();
  a.sigma_min_opt = sub->add_option("--sigma_min", a.sigma_min, "Lowest noise level (default: per discretization)");
  a.sigma_max_opt = sub->add_option("--sigma_max", a.sigma_max, "Highest noise level (default: per discretization)");
  sub->add_option("--rho", so.rho, "Time step exponent")->capture_default_str();
  sub->add_option("--S_churn", so.S_churn, "Stochasticity strength")->capture_default_str();
  sub->add_option("--S_min", so.S_min, "Stoch. min noise level")->capture_default_str();
  sub->add_option("--S_max", so.S_max, "Stoch. max noise level")->capture_default_str();
  sub->add_option("--S_noise", so.S_noise, "Stoch. noise inflation")->capture_default_str();
  a.ablation_opts.push_back(sub->add_option("--solver", so.solver, "Ablate ODE solver: euler|heun"));
  a.ablation_opts.push_back(
      sub->add_option("--disc", so.discretization, "Ablate time step discretization: vp|ve|iddpm|edm"));
  a.ablation_opts.push_back(sub->add_option("--schedule", so.schedule, "Ablate noise schedule sigma(t): vp|ve|linear"));
  a.ablation_opts.push_back(sub->add_option("--scaling", so.scaling, "Ablate signal scaling s(t): vp|none"));
  sub->add_option("--alpha", so.alpha, "Heun's intermediate point (generalised sampler)")->capture_default_str();
  sub->add_option("--sampler", a.gen.sampler,
                  "auto (reference: edm, or ablation when ablating), edm, ablation, ddim, ddpm, euler_maruyama, "
                  "langevin, dpmpp2m, dpmpp3m")
      ->capture_default_str();
  sub->add_option("--eta", so.eta, "DDIM stochasticity (0 deterministic, 1 DDPM)")->capture_default_str();
  sub->add_option("--ld_steps", so.ld_steps, "Langevin updates per noise level")->capture_default_str();
  sub->add_option("--ld_snr", so.ld_snr, "Langevin signal-to-noise ratio")->capture_default_str();
  a.guidance_opt = sub->add_option("--guidance", a.guidance, "Classifier-free guidance weight w (1 = none)");
}

std::shared_ptr<Denoiser> apply_sampler_options(SamplerArgs& a, std::shared_ptr<Denoiser> net) {
  auto& so = a.gen.sampler_options;
  if (*a.sigma_min_opt) so.sigma_min = a.sigma_min;
  if (*a.sigma_max_opt) so.sigma_max = a.sigma_max;
  for (auto* o : a.ablation_opts) a.gen.ablation_options_given = a.gen.ablation_options_given || o->count() > 0;
  if (*a.class_opt) a.gen.class_idx = a.class_idx;
  check_generate_options(*net, a.gen);
  if (*a.guidance_opt) {
    if (std::isnan(a.guidance)) throw UsageError("--guidance is NaN");
    if (net->label_dim() == 0) throw UsageError("--guidance needs a conditional model");
    net = std::make_shared<GuidedDenoiser>(net, a.guidance);
  }
  return net;
}

}  // namespace edm::cli
