#include "edm/train/options.h"

#include <cmath>

#include "edm/core/error.h"
#include "edm/diffusion/ddpm.h"
#include "edm/nn/presets.h"
#include "edm/phema/power_function.h"
#include "edm/train/loss.h"

namespace edm {

namespace {
constexpr double kMaxMimg = 1e9;
}  // namespace

void resolve_defaults(TrainOptions& o, bool cpu) {
  const auto d = networks::preset_training(o.arch, cpu);
  if (!o.batch) o.batch = d.batch;
  if (!o.lr) o.lr = d.lr;
  if (!o.lr_rampup) o.lr_rampup = d.lr_rampup;
  if (!o.duration) o.duration = d.duration;
  if (!o.tick) o.tick = d.tick;
  if (!o.max_minutes && o.resume.empty()) o.max_minutes = d.max_minutes;
  if (!o.ema) o.ema = d.ema;
  if (!o.ema_std) o.ema_std = d.ema_std;
  if (d.edm2 && !o.decay) o.decay = d.decay;
  if (o.precond != "edm") return;  // vp and ve draw sigma otherwise
  if (!o.P_mean) o.P_mean = d.P_mean;
  if (!o.P_std) o.P_std = d.P_std;
}

bool uses_edm2_recipe(const TrainOptions& o) { return networks::preset_training(o.arch, true).edm2; }

void check_options(const TrainOptions& o) {
  auto positive = [](double v, const char* name) {
    if (!(v > 0) || !std::isfinite(v)) throw UsageError(std::string("--") + name + " must be a positive number");
  };
  positive(*o.duration, "duration");
  positive(*o.lr, "lr");
  positive(*o.tick, "tick");
  // Image counts are int64: a bound far beyond any run keeps them exact.
  if (*o.duration > kMaxMimg) throw UsageError("--duration must be at most 1e9 Mimg");
  if (*o.tick > kMaxMimg * 1000) throw UsageError("--tick must be at most 1e12 kimg");
  positive(o.ls, "ls");
  if (!(*o.ema >= 0) || !std::isfinite(*o.ema)) throw UsageError("--ema must be non-negative");
  if (o.decay && !uses_edm2_recipe(o)) throw UsageError("--decay is for the EDM2 presets (--arch edm2...)");
  if (o.decay && (!(*o.decay >= 0) || !std::isfinite(*o.decay))) throw UsageError("--decay must be non-negative");
  if (o.precond != "edm" && (o.P_mean || o.P_std)) throw UsageError("--P-mean and --P-std are for --precond edm");
  if (o.P_std) positive(*o.P_std, "P-std");
  if (o.P_mean && !std::isfinite(*o.P_mean)) throw UsageError("--P-mean must be a finite number");
  if (o.sigma_data) {
    positive(*o.sigma_data, "sigma-data");
    if (o.precond != "edm" || o.autoencoder || o.classifier)
      throw UsageError("--sigma-data is for the denoisers of --precond edm");
  }
  for (double s : *o.ema_std)
    if (!valid_std(s)) throw UsageError("--ema-std " + std::to_string(s) + " is out of range (0, 0.289)");
  if (*o.batch < 1) throw UsageError("--batch must be at least 1");
  if (o.batch_gpu && *o.batch_gpu < 1) throw UsageError("--batch-gpu must be at least 1");
  if (!(o.augment >= 0 && o.augment <= 1)) throw UsageError("--augment must be in [0, 1]");
  networks::check_dropout(o.label_dropout, "label-dropout");
  if (o.dropout) networks::check_dropout(*o.dropout, "dropout");
  if (o.snap < 0 || o.dump < 0) throw UsageError("--snap and --dump must be non-negative");
  if (o.fp16 && o.bf16) throw UsageError("--fp16 and --bf16 exclude each other");
  if (o.max_minutes && !(*o.max_minutes > 0)) throw UsageError("--max-minutes must be positive");
  if (!o.latent.empty() && (o.autoencoder || o.classifier || o.augment > 0))
    throw UsageError("--latent trains a denoiser on unaugmented latents: no --autoencoder, --classifier or --augment");
  if (o.cascade_from) {
    if (o.autoencoder || o.classifier || o.augment > 0 || !o.latent.empty() || o.cond.value_or(false))
      throw UsageError(
          "--cascade-from trains an unconditional upsampler of pixels: no --autoencoder, --classifier, "
          "--augment, --latent or --cond");
    if (uses_edm2_recipe(o)) throw UsageError("--cascade-from builds on the EDM presets, not " + o.arch);
    if (*o.cascade_from < 1) throw UsageError("--cascade-from must be a positive resolution");
  }
  if (o.resolution) {
    if (*o.resolution < 1) throw UsageError("--resolution must be a positive resolution");
    if (!o.latent.empty()) throw UsageError("--resolution acts on pixels: no --latent");
  }
  if (!(o.cond_aug_max >= 0 && o.cond_aug_max <= 100)) throw UsageError("--cond-aug-max must be in [0, 100]");
  LossConfig::for_precond(o.precond);  // iddpm and unknown names fail here, before any work
  if (o.precond != "ddpm" && (o.beta || o.T || o.learn_sigma))
    throw UsageError("--beta, --T and --learn-sigma are for --precond ddpm");
  if (o.beta) ddpm::parse_beta_schedule(*o.beta);
  if (o.T && (*o.T < 2 || *o.T > 1000000)) throw UsageError("--T must be in 2..1000000, got " + std::to_string(*o.T));
}

}  // namespace edm
