// The one rule of each sampler option, shared by every command that samples
// (generate, fid calc --net, invert) and by library callers.
#include <cmath>
#include <functional>

#include "edm/core/error.h"
#include "edm/diffusion/schedule.h"
#include "edm/sampling/restart.h"
#include "edm/sampling/sampler.h"

namespace edm {

namespace {

constexpr int64_t kMaxSteps = 1000000, kMaxInnerSteps = 10000;

void check_not_nan(double v, const char* flag) {
  if (std::isnan(v)) throw UsageError(std::string(flag) + " is NaN");
}

void check_ranges(const SamplerOptions& o) {
  if (o.num_steps < 1) throw UsageError("--steps must be at least 1, got " + std::to_string(o.num_steps));
  // Work grows with these: bounds far above any useful value, so that a typo
  // (1e9) fails at once instead of running for days.
  if (o.num_steps > kMaxSteps) throw UsageError("--steps must be at most 1000000, got " + std::to_string(o.num_steps));
  if (o.afs && o.num_steps < 2) throw UsageError("--afs needs --steps 2 or more (its first step is not evaluated)");
  if (o.ld_steps > kMaxInnerSteps) throw UsageError("--ld_steps must be at most 10000");
  if (o.corrector_steps > kMaxInnerSteps) throw UsageError("--corrector-steps must be at most 10000");
  if (o.sigma_min) check_not_nan(*o.sigma_min, "--sigma_min");
  if (o.sigma_max) check_not_nan(*o.sigma_max, "--sigma_max");
  for (auto [v, flag] : {std::pair{o.disc.rho, "--rho"},
                         {o.alpha, "--alpha"},
                         {o.S_churn, "--S_churn"},
                         {o.S_min, "--S_min"},
                         {o.S_max, "--S_max"},
                         {o.S_noise, "--S_noise"},
                         {o.eta, "--eta"},
                         {o.ld_snr, "--ld_snr"},
                         {o.rtol, "--rtol"},
                         {o.snr, "--snr"}})
    check_not_nan(v, flag);
  if (o.sigma_min && *o.sigma_min < 0) throw UsageError("--sigma_min must be non-negative");
  if (o.sigma_min && o.sigma_max && *o.sigma_min >= *o.sigma_max)
    throw UsageError("--sigma_min must be below --sigma_max");
  if (o.sigma_max && !(*o.sigma_max > 0)) throw UsageError("--sigma_max must be positive");
  if (o.disc.rho <= 0) throw UsageError("--rho must be positive");
  if (!(o.alpha > 0 && o.alpha <= 1)) throw UsageError("--alpha must be in (0, 1]");
  if (o.S_churn < 0) throw UsageError("--S_churn must be non-negative");
  if (o.S_noise < 0) throw UsageError("--S_noise must be non-negative");
  if (o.S_min > o.S_max) throw UsageError("--S_min must not exceed --S_max");
  if (o.eta < 0) throw UsageError("--eta must be non-negative");
  if (o.ld_steps < 1) throw UsageError("--ld_steps must be at least 1");
  if (!(o.ld_snr > 0)) throw UsageError("--ld_snr must be positive");
  if (o.order < 0) throw UsageError("--order must be positive");
  if (!o.steps.empty() && o.num_steps != static_cast<int64_t>(o.steps.size()))
    throw UsageError("--steps-file gives " + std::to_string(o.steps.size()) + " noise levels, not --steps " +
                     std::to_string(o.num_steps));
  for (size_t i = 0; i < o.steps.size(); ++i)
    if (!(o.steps[i] > 0) || (i > 0 && !(o.steps[i] < o.steps[i - 1])))
      throw UsageError("--steps-file: noise levels must be positive and decreasing");
  if (!(o.rtol > 0 && o.rtol < 1)) throw UsageError("--rtol must be in (0, 1)");
  if (o.corrector_steps < 0) throw UsageError("--corrector-steps must be non-negative");
  if (!(o.snr > 0)) throw UsageError("--snr must be positive");
  if (o.respace < 0) throw UsageError("--respace must be positive");
  if (o.respace > 0 && o.num_steps != o.respace)
    throw UsageError("--respace " + std::to_string(o.respace) + " takes one step per kept level, not --steps " +
                     std::to_string(o.num_steps));
  if (o.respace > 0 && (!o.steps.empty() || o.discretization != "edm"))
    throw UsageError("--respace sets the noise levels: it excludes --steps-file and --disc");
}

// The choices are kept as the names the user gave (discretization.h and
// schedule.h take names); this is where every name is checked, once.
void check_choices(const SamplerOptions& o) {
  if (o.solver != "euler" && o.solver != "heun") throw UsageError("unknown solver '" + o.solver + "' (euler or heun)");
  if (o.discretization != "edm" && o.discretization != "vp" && o.discretization != "ve" &&
      o.discretization != "iddpm" && o.discretization != "polyexp")
    throw UsageError("unknown discretization '" + o.discretization + "' (edm, vp, ve, iddpm or polyexp)");
  Schedule::parse(o.schedule);
  Scaling::parse(o.scaling);
  if (o.variant != "bh1" && o.variant != "bh2") throw UsageError("unknown --variant '" + o.variant + "' (bh1 or bh2)");
  parse_restart(o.restart);
  if (o.predictor != "reverse-diffusion" && o.predictor != "euler-maruyama")
    throw UsageError("unknown --predictor '" + o.predictor + "' (reverse-diffusion or euler-maruyama)");
}

struct OptionRow {
  unsigned bit;
  const char* flag;
  std::function<bool(const SamplerOptions& o, const SamplerOptions& defaults)> set;
};

// One row per option that only some samplers take, in SamplerOption's order.
const std::vector<OptionRow>& option_rows() {
  using O = const SamplerOptions&;
  static const std::vector<OptionRow> rows = {
      {kS_churn, "--S_churn", [](O o, O d) { return o.S_churn != d.S_churn; }},
      {kS_min, "--S_min", [](O o, O d) { return o.S_min != d.S_min; }},
      {kS_max, "--S_max", [](O o, O d) { return o.S_max != d.S_max; }},
      {kS_noise, "--S_noise", [](O o, O d) { return o.S_noise != d.S_noise; }},
      {kSolver, "--solver", [](O o, O d) { return o.solver != d.solver; }},
      {kDisc, "--disc", [](O o, O d) { return o.discretization != d.discretization; }},
      {kSchedule, "--schedule", [](O o, O d) { return o.schedule != d.schedule; }},
      {kScaling, "--scaling", [](O o, O d) { return o.scaling != d.scaling; }},
      {kAlpha, "--alpha", [](O o, O d) { return o.alpha != d.alpha; }},
      {kEta, "--eta", [](O o, O d) { return o.eta != d.eta; }},
      {kLd_steps, "--ld_steps", [](O o, O d) { return o.ld_steps != d.ld_steps; }},
      {kLd_snr, "--ld_snr", [](O o, O d) { return o.ld_snr != d.ld_snr; }},
      {kOrder, "--order", [](O o, O d) { return o.order != d.order; }},
      {kVariant, "--variant", [](O o, O d) { return o.variant != d.variant; }},
      {kRestart, "--restart", [](O o, O d) { return o.restart != d.restart; }},
      {kRtol, "--rtol", [](O o, O d) { return o.rtol != d.rtol; }},
      {kStepsFile, "--steps-file", [](O o, O d) { return !o.steps.empty(); }},
      {kPredictor, "--predictor", [](O o, O d) { return o.predictor != d.predictor; }},
      {kCorrectorSteps, "--corrector-steps", [](O o, O d) { return o.corrector_steps != d.corrector_steps; }},
      {kSnr, "--snr", [](O o, O d) { return o.snr != d.snr; }},
      {kRespace, "--respace", [](O o, O d) { return o.respace != d.respace; }},
      {kAfs, "--afs", [](O o, O d) { return o.afs != d.afs; }},
  };
  return rows;
}

}  // namespace

void validate(const SamplerOptions& o) {
  check_ranges(o);
  check_choices(o);
}

unsigned options_set(const SamplerOptions& o) {
  const SamplerOptions defaults;
  unsigned bits = 0;
  for (const auto& r : option_rows())
    if (r.set(o, defaults)) bits |= r.bit;
  return bits;
}

std::string option_flags(unsigned options) {
  std::string out;
  for (const auto& r : option_rows())
    if (options & r.bit) out += (out.empty() ? "" : ", ") + std::string(r.flag);
  return out;
}

}  // namespace edm
