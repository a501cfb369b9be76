// One training run as the reference's training_loop.py runs it, in phases:
// set up (constructor, start), one step, the end of a tick (report, snapshot,
// state), finish. train() in loop.h drives them.
#pragma once
#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "edm/core/progress.h"
#include "edm/data/dataset.h"
#include "edm/dist/grad_reducer.h"
#include "edm/dist/world.h"
#include "edm/model/latent_space.h"
#include "edm/nn/precond.h"
#include "edm/train/adam.h"
#include "edm/train/augment.h"
#include "edm/train/autoencoder_loss.h"
#include "edm/train/classifier_loss.h"
#include "edm/train/edm2_loss.h"
#include "edm/train/loader.h"
#include "edm/train/loss.h"
#include "edm/train/options.h"
#include "edm/train/phema_tracker.h"
#include "edm/train/state.h"
#include "edm/train/tick_stats.h"

namespace edm {

class TrainRun {
 public:
  // Resolves and checks the options, loads the data, builds (or resumes) the
  // network and optimizer and prints the plan. Throws edm::UsageError /
  // edm::Error with a one-line reason.
  TrainRun(TrainOptions o, torch::Device device, bool quiet);

  // Creates the run directory (main process) and starts loading data. Not
  // for a dry run.
  void start();
  // One optimizer step over the global batch.
  void step();
  // Whether this step ends a tick: the first step of a fresh run (tick 0),
  // then every --tick kimg, and the last step.
  bool tick_due() const;
  // Reports the tick, writes the snapshot and state that are due, starts the next.
  void end_tick();
  bool done() const { return done_; }
  // The final snapshot (if --snap did not write it), then the sample grid and
  // loss curve of the front end. Returns the run directory ("" off the main process).
  std::string finish(const TrainFrontEnd& fe);

  const TrainOptions& options() const { return o_; }
  bool is_main() const { return main_; }

 private:
  using Clock = std::chrono::steady_clock;
  void load_data();
  // --latent (or a resumed latent state): the data becomes the autoencoder's normalised latents.
  void encode_latents();
  // batch = batch_gpu x rounds x processes; throws UsageError where it does not divide.
  void split_batch(int processes);
  int64_t augment_dim() const;  // of a fresh network
  void build_network();
  void print_plan() const;
  std::string describe() const;
  std::string loss_name() const;
  int64_t rank_offset(int64_t nimg, int64_t round) const;
  double accumulate_gradients(Moments& loss);
  void update_weights();
  void count_step(double step_loss, const Moments& loss);
  void show_progress();
  TickReport tick_report(Clock::time_point now);
  void write_due_files();
  // An upsampler's picture: n training images at low resolution, enlarged, and as they are.
  void write_upsampler_grid(const std::string& model, int64_t n, int64_t steps, const std::string& png);
  // Throws edm::Error when the tick had no finite loss or a weight of the
  // network or its EMA is NaN or Inf: such a run would only write NaN files.
  void check_finite(const TickReport& r) const;
  // The learning rate of the step that starts at nimg images (the recipe's schedule).
  double learning_rate(int64_t nimg) const;
  torch::Tensor batch_loss(const torch::Tensor& images, const torch::Tensor& labels,
                           const torch::Tensor& augment_labels, const torch::Tensor& sigma, const torch::Tensor& noise);

  // The options are settled and checked, and the data loaded, before the ranks join.
  dist::World check_then_join();

  TrainOptions o_;
  torch::Device device_;
  bool quiet_;
  // Before world_: check_then_join fills them.
  std::optional<TrainStateInfo> resumed_;
  Dataset data_;
  std::optional<LatentSpace> latent_;  // a latent diffusion run's space (edm.config "latent")
  bool cond_ = false;
  int64_t per_rank_ = 0, batch_gpu_ = 0, rounds_ = 0;  // batch = batch_gpu x rounds x processes
  dist::World world_;
  bool main_;
  AugmentConfig aug_;
  nlohmann::json config_;
  int64_t label_dim_ = 0;
  LossConfig loss_cfg_;
  bool classifier_ = false;   // a noise-aware classifier, trained with cross-entropy
  bool autoencoder_ = false;  // a KL autoencoder (edm.config precond AutoencoderKL)
  bool edm2_ = false;         // the EDM2 recipe (EDM2Precond): loss, schedule, Adam betas
  EDM2LossConfig edm2_loss_;
  uint64_t seed_ = 0;
  std::shared_ptr<networks::PrecondImpl> net_, ema_;
  std::unique_ptr<Adam> adam_;
  std::unique_ptr<PhemaTracker> phema_;  // --ema-std, on the main process
  TrainCounters counters_;
  int64_t total_nimg_ = 0, num_params_ = 0;

  std::string run_dir_;
  std::unique_ptr<Loader> loader_;
  std::ofstream stats_;
  std::optional<dist::GradReducer> reducer_;
  Clock::time_point start_, tick_start_;
  int64_t tick_start_nimg_ = 0, nonfinite_steps_ = 0;
  double maintenance_sec_ = 0, step_loss_ = 0, last_lr_ = 0;
  Moments tick_loss_, tick_lr_;
  bool done_ = false;
  std::unique_ptr<Progress> progress_;
};

}  // namespace edm
