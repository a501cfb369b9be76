// What a training run does (the reference's train.py options), apart from
// how the front end runs and shows it (TrainFrontEnd).
#pragma once
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace edm {

struct TrainOptions {
  std::string outdir = "training-runs";
  std::string data = "fashion-mnist";
  std::optional<bool> cond;          // default: conditional when the data has labels
  std::string arch = "fmnist-s";     // ddpmpp | ncsnpp | adm | small presets | EDM2 presets
  std::string precond = "edm";       // edm | vp | ve | ddpm
  std::optional<std::string> beta;   // ddpm: linear | cosine (default linear)
  std::optional<int64_t> T;          // ddpm: diffusion steps (default 1000)
  bool learn_sigma = false;          // ddpm: Improved DDPM's learned variance, L_hybrid
  std::optional<double> duration;    // Mimg
  std::optional<int64_t> batch;      // total over processes
  std::optional<int64_t> batch_gpu;  // per process and step
  std::optional<int64_t> cbase;
  std::vector<int64_t> cres;
  std::optional<double> lr;             // EDM2: alpha_ref, the rate before the decay
  std::optional<double> decay;          // EDM2: t_ref, batches (0: no decay)
  std::optional<double> P_mean, P_std;  // ln sigma ~ N(P_mean, P_std^2) (EDM and EDM2 losses)
  std::optional<double> sigma_data;     // EDM preconditioning and loss weight (default: sigma_data_for in run_setup)
  std::optional<double> ema;            // half-life, Mimg (0: none; EDM2 default)
  double ema_rampup = 0.05;
  std::optional<std::vector<double>> ema_std;  // power-function EMAs for post-hoc EMA (empty: none)
  std::optional<double> lr_rampup;             // kimg
  std::optional<double> dropout;
  double label_dropout = 0;  // for classifier-free guidance
  double augment = 0;        // augment probability
  bool xflip = false, fp16 = false, bf16 = false;
  bool classifier = false;  // train the noise-aware classifier of classifier guidance
  // --autoencoder: train a KL autoencoder (docs/scaling.md) instead of a denoiser.
  bool autoencoder = false;
  int64_t ae_factor = 4, latent_channels = 4;  // downsampling factor (a power of 2), latent channels
  double kl_weight = 1e-3;                     // weight of the KL term against the summed squared error
  std::string latent;                          // --latent AE_FILE: train on that autoencoder's latents
  // --cascade-from R: an upsampler of R x R images to the data's resolution
  // (cascaded diffusion), with conditioning augmentation sigma_aug ~ U(0, cond_aug_max).
  std::optional<int64_t> cascade_from;
  double cond_aug_max = 0.5;
  // --resolution R: train at R x R on the data averaged down as a cascade's
  // upsampler sees it (a cascade's base model).
  std::optional<int64_t> resolution;
  double ls = 1;                  // loss scaling
  std::optional<double> tick;     // kimg
  int64_t snap = 50, dump = 500;  // ticks
  uint64_t seed = 0;
  std::string transfer, resume;
  bool dry_run = false;
  std::optional<double> max_minutes;  // stop at the first tick past this wall time
  std::set<std::string> given;        // options set on the command line ("arch", "seed"; for --resume's checks)
};

// Where the run goes and what it shows: the device, the console, and the
// sample grid it ends with.
struct TrainFrontEnd {
  std::string device = "auto";
  bool quiet = false;  // no per-tick lines or progress
  int64_t grid_per_class = 10, grid_steps = 18;
};

// Fills what the user left open from the preset's training defaults
// (networks::preset_training: the EDM or EDM2 recipe); a resumed run gets no
// time limit by default.
void resolve_defaults(TrainOptions& o, bool cpu);
// One rule per option; edm::UsageError naming the option.
void check_options(const TrainOptions& o);
// Whether the arch trains with the EDM2 recipe.
bool uses_edm2_recipe(const TrainOptions& o);

}  // namespace edm
