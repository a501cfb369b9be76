// The training loop of the reference (training_loop.py): Adam with a
// learning-rate ramp-up, gradient accumulation, non-finite gradients zeroed,
// EMA of the weights, ticks of kimg with statistics, periodic snapshots and
// training states, all written atomically by the main process.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace edm {

struct TrainOptions {
  std::string outdir = "training-runs";
  std::string data = "fashion-mnist";
  std::optional<bool> cond;          // default: conditional when the data has labels
  std::string arch = "fmnist-s";     // ddpmpp | ncsnpp | adm | small presets
  std::string precond = "edm";       // edm | vp | ve
  std::optional<double> duration;    // Mimg
  std::optional<int64_t> batch;      // total over processes
  std::optional<int64_t> batch_gpu;  // per process and step
  std::optional<int64_t> cbase;
  std::vector<int64_t> cres;
  std::optional<double> lr;
  double ema = 0.5;  // half-life, Mimg
  double ema_rampup = 0.05;
  std::optional<double> lr_rampup;  // kimg
  std::optional<double> dropout;
  double label_dropout = 0;  // for classifier-free guidance
  double augment = 0;        // augment probability
  bool xflip = false, fp16 = false, bf16 = false;
  double ls = 1;                  // loss scaling
  std::optional<double> tick;     // kimg
  int64_t snap = 50, dump = 500;  // ticks
  uint64_t seed = 0;
  std::string transfer, resume;
  bool dry_run = false;
  std::optional<double> max_minutes;  // stop at the first tick past this wall time
  std::string device = "auto";
  int64_t grid_per_class = 10, grid_steps = 18;
  bool quiet = false;
};

// Runs a whole training (or prints its plan with dry_run). Returns the run
// directory. Throws edm::UsageError / edm::Error with a one-line reason.
std::string train(TrainOptions o);

}  // namespace edm
