#include "sampler_args.h"

#include "common.h"
#include "edm/core/error.h"
#include "edm/model/model_file.h"
#include "edm/sampling/autoguidance.h"
#include "edm/sampling/classifier_guidance.h"
#include "edm/sampling/guidance.h"
#include "edm/sampling/steps_file.h"

namespace edm::cli {

void add_noise_level_options(CLI::App* sub, SamplerOptions& o, const std::string& sigma_min_default,
                             const std::string& sigma_max_default) {
  sub->add_option("--steps", o.num_steps, "Number of sampling steps")->capture_default_str();
  sub->add_option("--sigma_min", o.sigma_min, "Lowest noise level (default: " + sigma_min_default + ")");
  sub->add_option("--sigma_max", o.sigma_max, "Highest noise level (default: " + sigma_max_default + ")");
  sub->add_option("--rho", o.disc.rho, "Time step exponent")->capture_default_str();
}

namespace {

// "auto: ...; edm: Algorithm 2 ...; ..." from the sampler table.
std::string sampler_help() {
  std::string help = "auto: the reference's choice, edm or (when ablating) ablation";
  for (const auto& s : sampler_table()) help += "; " + std::string(s.name) + ": " + s.description;
  return help;
}

std::optional<GuidanceInterval> parse_guidance_interval(const std::string& text) {
  if (text.empty()) return std::nullopt;
  const auto v = parse_double_list(text, "guidance-interval");
  if (v.size() != 2) throw UsageError("--guidance-interval takes two noise levels: sigma_lo,sigma_hi");
  GuidanceInterval g{v[0], v[1]};
  check_guidance_interval(g);
  return g;
}

// net under classifier-free guidance or autoguidance, or net itself.
std::shared_ptr<Denoiser> with_guidance(const SamplerArgs& a, std::shared_ptr<Denoiser> net) {
  const auto interval = parse_guidance_interval(a.guidance_interval);
  if (!a.guidance) {
    if (!a.guide_net.empty()) throw UsageError("--guide-net needs --guidance w, the autoguidance weight");
    if (interval) throw UsageError("--guidance-interval needs --guidance w");
    return net;
  }
  if (!a.guide_net.empty())
    return std::make_shared<AutoguidedDenoiser>(
        net, load_denoiser(a.guide_net, net->device(), resolve_precision(a.precision, net->device())), *a.guidance,
        interval);
  check_guidance(*net, *a.guidance);
  return std::make_shared<GuidedDenoiser>(net, *a.guidance, interval);
}

// Classifier guidance on top of whatever guidance there is.
std::shared_ptr<Denoiser> with_classifier(const SamplerArgs& a, std::shared_ptr<Denoiser> net) {
  if (a.classifier.empty()) {
    if (a.classifier_scale) throw UsageError("--classifier-scale needs --classifier FILE");
    return net;
  }
  if (!net->sample_space().empty())
    throw UsageError("--classifier guides pixel models; the net samples latents of an autoencoder");
  return std::make_shared<ClassifierGuidedDenoiser>(net, load_classifier(a.classifier, net->device()),
                                                    a.classifier_scale.value_or(1.0));
}

}  // namespace

void add_sampler_options(CLI::App* sub, SamplerArgs& a) {
  auto& so = a.gen.sampler_options;
  sub->add_option("--class", a.gen.class_idx, "Class label (default: random)");
  add_noise_level_options(sub, so, "per discretization", "per discretization");
  sub->add_option("--S_churn", so.S_churn, "Stochasticity strength")->capture_default_str();
  sub->add_option("--S_min", so.S_min, "Stoch. min noise level")->capture_default_str();
  sub->add_option("--S_max", so.S_max, "Stoch. max noise level")->capture_default_str();
  sub->add_option("--S_noise", so.S_noise, "Stoch. noise inflation")->capture_default_str();
  a.ablation_opts.push_back(sub->add_option("--solver", so.solver, "Ablate ODE solver: euler|heun"));
  a.ablation_opts.push_back(
      sub->add_option("--disc", so.discretization, "Time step discretization: vp|ve|iddpm|edm|polyexp"));
  a.ablation_opts.push_back(sub->add_option("--schedule", so.schedule, "Ablate noise schedule sigma(t): vp|ve|linear"));
  a.ablation_opts.push_back(sub->add_option("--scaling", so.scaling, "Ablate signal scaling s(t): vp|none"));
  sub->add_option("--alpha", so.alpha, "Heun's intermediate point (generalised sampler)")->capture_default_str();
  sub->add_option("--sampler", a.gen.sampler, sampler_help())->capture_default_str();
  sub->add_option("--eta", so.eta, "DDIM stochasticity (0 deterministic, 1 DDPM)")->capture_default_str();
  sub->add_option("--ld_steps", so.ld_steps, "Langevin updates per noise level")->capture_default_str();
  sub->add_option("--ld_snr", so.ld_snr, "Langevin signal-to-noise ratio")->capture_default_str();
  sub->add_option("--order", so.order, "Multistep order (ipndm 1-4, unipc 1-3, deis 1-3; default: the highest)");
  sub->add_option("--variant", so.variant, "UniPC's B(h): bh1|bh2")->capture_default_str();
  sub->add_option("--restart", so.restart, "Restart intervals n,K,t_min,t_max[:n,K,t_min,t_max...]")
      ->capture_default_str();
  sub->add_option("--rtol", so.rtol, "Adaptive sampler's relative error tolerance")->capture_default_str();
  sub->add_option("--predictor", so.predictor, "pc: reverse-diffusion|euler-maruyama")->capture_default_str();
  sub->add_option("--corrector-steps", so.corrector_steps, "pc: Langevin corrector steps per noise level")
      ->capture_default_str();
  sub->add_option("--snr", so.snr, "pc: the corrector's signal-to-noise ratio")->capture_default_str();
  sub->add_option("--steps-file", a.steps_file,
                  "Noise levels from a file (largest first), replacing --steps and --disc");
  sub->add_option("--respace", so.respace,
                  "ddpm: a DDPM model's own chain, K of its T steps kept (Improved DDPM's respacing; sets --steps)");
  sub->add_flag("--clip-denoised", so.clip_denoised,
                "Clamp D(x; sigma) to the data range [-1, 1] at every step (Improved DDPM's clip_denoised)");
  sub->add_flag("--afs", so.afs,
                "Multistep samplers (ipndm, ipndm_v, deis, unipc, dpmpp2m, dpmpp3m): analytical first step, one "
                "evaluation fewer");
  sub->add_option("--nfe", a.nfe, "Pick --steps so that the sampler makes exactly this many evaluations");
  sub->add_option("--guidance", a.guidance,
                  "Guidance weight w (1 = none): classifier-free, or autoguidance with --guide-net");
  sub->add_option("--guide-net", a.guide_net, "Autoguidance: the guiding (weaker) model file; needs --guidance");
  sub->add_option("--guidance-interval", a.guidance_interval,
                  "Guide only for sigma in (sigma_lo, sigma_hi], e.g. 0.28,5.42; needs --guidance");
  sub->add_option("--classifier", a.classifier,
                  "Classifier guidance: a noise-aware classifier's model file (edm train --classifier)");
  sub->add_option("--classifier-scale", a.classifier_scale,
                  "Classifier guidance scale s: D + s sigma^2 grad log p(y|x) (default 1; needs --classifier)");
  add_precision_options(sub, a.precision);
}

std::shared_ptr<Denoiser> apply_sampler_options(SamplerArgs& a, std::shared_ptr<Denoiser> net) {
  // The reference's rule for "auto": ablation as soon as one of these is given.
  for (auto* o : a.ablation_opts) a.gen.ablation_options_given = a.gen.ablation_options_given || o->count() > 0;
  if (!a.steps_file.empty()) {
    if (a.nfe) throw UsageError("--nfe and --steps-file both set the steps: give one");
    auto& so = a.gen.sampler_options;
    so.steps = read_steps_file(a.steps_file);
    so.num_steps = static_cast<int64_t>(so.steps.size());
  }
  if (a.gen.sampler_options.respace > 0) {
    if (a.nfe) throw UsageError("--nfe and --respace both set the steps: give one");
    a.gen.sampler_options.num_steps = a.gen.sampler_options.respace;
  }
  if (a.nfe) a.gen.sampler_options.num_steps = steps_for_nfe(resolve_sampler(a.gen), a.gen.sampler_options, *a.nfe);
  auto guided = with_classifier(a, with_guidance(a, net));
  check_generate_options(*guided, a.gen);
  return guided;
}

void add_upsampler_options(CLI::App* sub, SamplerArgs& a) {
  sub->add_option("--upsampler", a.upsampler,
                  "Enlarge every image with this upsampler (cascaded diffusion: edm train --cascade-from)");
  sub->add_option("--cond-aug", a.cond_aug, "--upsampler: conditioning augmentation level sigma_aug of the base images")
      ->capture_default_str();
}

std::shared_ptr<Upsampler> load_second_stage(const SamplerArgs& a, Denoiser& base, torch::Device device,
                                             const std::string& net_path) {
  if (a.upsampler.empty()) {
    if (a.cond_aug != 0) throw UsageError("--cond-aug needs --upsampler");
    return nullptr;
  }
  if (!(a.cond_aug >= 0 && a.cond_aug <= 100)) throw UsageError("--cond-aug must be in [0, 100]");
  auto up = load_upsampler(a.upsampler, device, resolve_precision(a.precision, device));
  check_upsampler_fits(*up, image_shape(base), a.upsampler, net_path);
  return up;
}

}  // namespace edm::cli
