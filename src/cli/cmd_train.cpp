// edm train: the reference's train.py options; with no arguments it trains the
// small Fashion-MNIST preset on the built-in data set.
#include <cstdlib>
#include <iostream>

#include "common.h"
#include "edm/core/error.h"
#include "edm/core/interrupt.h"
#include "edm/core/runtime.h"
#include "edm/train/loop.h"

namespace edm::cli {

namespace {

struct TrainArgs {
  RuntimeOptions runtime;
  TrainOptions o;
  TrainFrontEnd fe;
  int nproc = 1;
  bool cond = false;
  double duration = 0, lr = 0, dropout = 0, tick = 0, lr_rampup = 0, max_minutes = 0, ema = 0, decay = 0, P_mean = 0,
         P_std = 0;
  int64_t batch = 0, batch_gpu = 0, cbase = 0, T = 0;
  std::string beta;
  std::string cres, ema_std;
  CLI::App* sub = nullptr;
  CLI::Option *cond_opt, *duration_opt, *lr_opt, *dropout_opt, *tick_opt, *batch_opt, *batch_gpu_opt, *cbase_opt,
      *lr_rampup_opt, *max_minutes_opt, *ema_opt, *decay_opt, *P_mean_opt, *P_std_opt, *beta_opt, *T_opt;
};

void run(TrainArgs& a) {
  if (relaunch_local(a.nproc)) return;
  init_threads(a.runtime.threads);
  warn_if_slow_blas();
  auto& o = a.o;
  a.fe.device = a.runtime.device;
  for (const auto* opt : a.sub->get_options())
    if (opt->count() > 0)
      for (const auto& name : opt->get_lnames()) o.given.insert(name);
  if (*a.cond_opt) o.cond = a.cond;
  if (*a.duration_opt) o.duration = a.duration;
  if (*a.lr_opt) o.lr = a.lr;
  if (*a.dropout_opt) o.dropout = a.dropout;
  if (*a.tick_opt) o.tick = a.tick;
  if (*a.batch_opt) o.batch = a.batch;
  if (*a.batch_gpu_opt) o.batch_gpu = a.batch_gpu;
  if (*a.cbase_opt) o.cbase = a.cbase;
  if (*a.lr_rampup_opt) o.lr_rampup = a.lr_rampup;
  if (*a.max_minutes_opt) o.max_minutes = a.max_minutes;
  if (!a.cres.empty()) o.cres = parse_int_list(a.cres, "cres");
  if (*a.ema_opt) o.ema = a.ema;
  if (*a.decay_opt) o.decay = a.decay;
  if (*a.P_mean_opt) o.P_mean = a.P_mean;
  if (*a.P_std_opt) o.P_std = a.P_std;
  if (*a.beta_opt) o.beta = a.beta;
  if (*a.T_opt) o.T = a.T;
  if (a.ema_std == "none")
    o.ema_std = std::vector<double>{};
  else if (!a.ema_std.empty())
    o.ema_std = parse_double_list(a.ema_std, "ema-std");
  train(o, a.fe);
  if (int sig = stop_signal()) {
    std::cerr << "edm: stopped by signal " << sig << " after saving; continue with --resume <latest training-state>\n";
    std::exit(128 + sig);  // as a shell reports a process the signal ended
  }
}

}  // namespace

void register_train(CLI::App& app) {
  auto* sub = app.add_subcommand("train", "Train a diffusion model (reference train.py options)");
  auto a = std::make_shared<TrainArgs>();
  a->sub = sub;
  auto& o = a->o;
  sub->add_option("--outdir", o.outdir, "Where to save the results")->capture_default_str();
  sub->add_option("--data", o.data, "fashion-mnist, a folder or a .zip of images (+ dataset.json)")
      ->capture_default_str();
  a->cond_opt = sub->add_option("--cond", a->cond, "Train class-conditional model (default: when labelled)");
  sub->add_option("--arch", o.arch,
                  "ddpmpp|ncsnpp|adm, a small preset (fmnist-s, fmnist-m) or EDM2 (edm2 = edm2-fmnist-s, "
                  "edm2-fmnist-xs, edm2-img512-xs..xxl, edm2-img64-s)")
      ->capture_default_str();
  sub->add_option("--precond", o.precond,
                  "Preconditioning & loss: vp|ve|edm|ddpm (discrete-time DDPM, L_simple; iddpm: not implemented)")
      ->capture_default_str();
  a->beta_opt = sub->add_option("--beta", a->beta, "ddpm: beta schedule linear|cosine (default linear)");
  a->T_opt = sub->add_option("--T", a->T, "ddpm: number of diffusion steps (default 1000)");
  sub->add_flag("--learn-sigma", o.learn_sigma,
                "ddpm: learned variance (2x output channels), trained with L_hybrid = L_simple + 0.001 L_vlb");
  a->duration_opt = sub->add_option("--duration", a->duration, "Training duration, Mimg");
  a->batch_opt = sub->add_option("--batch", a->batch, "Total batch size");
  a->batch_gpu_opt = sub->add_option("--batch-gpu", a->batch_gpu, "Limit batch size per process and step");
  a->cbase_opt = sub->add_option("--cbase", a->cbase, "Channel multiplier (default: per preset)");
  sub->add_option("--cres", a->cres, "Channels per resolution, e.g. 1,2,2 (default: per preset)");
  a->lr_opt = sub->add_option("--lr", a->lr, "Learning rate (EDM2: alpha_ref, before the decay)");
  a->decay_opt =
      sub->add_option("--decay", a->decay, "EDM2: learning rate / sqrt(t / decay) after this many batches (t_ref)");
  a->P_mean_opt = sub->add_option("--P-mean", a->P_mean, "Noise levels: ln sigma ~ N(P_mean, P_std^2) (edm)");
  a->P_std_opt = sub->add_option("--P-std", a->P_std, "Noise levels: see --P-mean (default: per preset)");
  sub->add_option("--sigma-data", o.sigma_data,
                  "edm: the data's standard deviation in c_skip, c_out, c_in and the loss weight (default: "
                  "measured from the data for fmnist-s/-m, 0.5 for the other presets)");
  a->ema_opt = sub->add_option("--ema", a->ema, "EMA half-life, Mimg (0: none; default 0.5, EDM2 0)");
  sub->add_option("--ema-std", a->ema_std,
                  "Also track power-function EMAs of these stds, snapshotted for edm phema (none: no; default "
                  "0.050,0.100 for EDM2)");
  a->lr_rampup_opt = sub->add_option("--lr-rampup", a->lr_rampup, "Learning-rate ramp-up, kimg");
  a->dropout_opt = sub->add_option("--dropout", a->dropout, "Dropout probability (default: per preset)");
  sub->add_option("--label-dropout", o.label_dropout, "Label dropout, for classifier-free guidance")
      ->capture_default_str();
  sub->add_flag("--classifier", o.classifier,
                "Train a noise-aware classifier p(y | x; sigma) for classifier guidance (the data's labels)");
  sub->add_flag("--autoencoder", o.autoencoder,
                "Train a KL autoencoder for latent diffusion (docs/scaling.md) instead of a denoiser");
  sub->add_option("--ae-factor", o.ae_factor, "--autoencoder: downsampling factor, a power of 2")
      ->capture_default_str();
  sub->add_option("--latent-channels", o.latent_channels, "--autoencoder: latent channels")->capture_default_str();
  sub->add_option("--kl-weight", o.kl_weight, "--autoencoder: weight of the KL term against the summed squared error")
      ->capture_default_str();
  sub->add_option("--latent", o.latent,
                  "Train on the latents of this autoencoder (edm train --autoencoder, or sd-vae-ft-mse); "
                  "samples are decoded through it")
      ->check(CLI::ExistingFile);
  sub->add_option("--cascade-from", o.cascade_from,
                  "Train an upsampler of RxR images to the data's resolution (cascaded diffusion, docs/scaling.md)");
  sub->add_option("--cond-aug-max", o.cond_aug_max, "--cascade-from: conditioning augmentation, sigma_aug ~ U(0, this)")
      ->capture_default_str();
  sub->add_option("--resolution", o.resolution,
                  "Train at RxR on the data averaged down by blocks as --cascade-from does (a cascade's base model)");
  sub->add_option("--augment", o.augment, "Augment probability")->capture_default_str();
  sub->add_option("--xflip", o.xflip, "Enable dataset x-flips (0 or 1)")
      ->check(CLI::IsMember({"0", "1", "true", "false"}))
      ->capture_default_str();
  sub->add_flag("--fp16", o.fp16, "Mixed-precision float16 on CUDA");
  sub->add_flag("--bf16", o.bf16, "Mixed-precision bfloat16 (CUDA, or a CPU with AVX512_BF16/AMX: see edm info)");
  sub->add_option("--ls", o.ls, "Loss scaling")->capture_default_str();
  a->tick_opt = sub->add_option("--tick", a->tick, "How often to print progress, kimg");
  sub->add_option("--snap", o.snap, "How often to save snapshots, ticks")->capture_default_str();
  sub->add_option("--dump", o.dump, "How often to dump training state, ticks")->capture_default_str();
  sub->add_option("--seed", o.seed, "Random seed")->capture_default_str();
  sub->add_option("--transfer", o.transfer, "Transfer learning from a model file");
  sub->add_option("--resume", o.resume, "Resume from a training-state-*.safetensors");
  sub->add_flag("-n,--dry-run", o.dry_run, "Print training options and exit");
  a->max_minutes_opt = sub->add_option("--max-minutes", a->max_minutes, "Stop at the first tick past this time");
  sub->add_option("--nproc", a->nproc, "Start this many local processes (data parallel)")->capture_default_str();
  sub->add_option("--grid", a->fe.grid_per_class, "Samples per class in the final grid")->capture_default_str();
  sub->add_flag("-q,--quiet", a->fe.quiet, "No per-tick output");
  add_runtime_options(sub, a->runtime);
  sub->callback([a] { run(*a); });
}

}  // namespace edm::cli
