// The end of a tick (report, network snapshot, training state) and of the run.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <numeric>

#include "edm/core/error.h"
#include "edm/core/interrupt.h"
#include "edm/diffusion/cascade.h"
#include "edm/io/image.h"
#include "edm/model/model_file.h"
#include "edm/model/upsampler.h"
#include "edm/train/ema.h"
#include "edm/train/run.h"
#include "edm/viz/loss_curve.h"
#include "edm/viz/sample_grid.h"

namespace edm {

namespace {

std::string kimg_name(const std::string& dir, const char* what, int64_t nimg) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "/%s-%06lld.safetensors", what, static_cast<long long>(nimg / 1000));
  return dir + buf;
}

}  // namespace

void TrainRun::show_progress() {
  if (!main_ || quiet_ || !::isatty(STDERR_FILENO)) return;
  const auto tick_nimg = static_cast<int64_t>(*o_.tick * 1000);
  if (!progress_) progress_ = std::make_unique<Progress>("tick " + std::to_string(counters_.cur_tick), tick_nimg);
  char extra[64];
  std::snprintf(extra, sizeof extra, " kimg %.1f  loss %.4f", counters_.cur_nimg / 1000.0, step_loss_);
  progress_->update(std::min(counters_.cur_nimg - tick_start_nimg_, tick_nimg), extra);
}

TickReport TrainRun::tick_report(Clock::time_point now) {
  TickReport r;
  r.tick = counters_.cur_tick;
  r.nimg = counters_.cur_nimg;
  r.tick_nimg = counters_.cur_nimg - tick_start_nimg_;
  r.total_sec = std::chrono::duration<double>(now - start_).count();
  r.tick_sec = std::chrono::duration<double>(now - tick_start_).count();
  r.maintenance_sec = maintenance_sec_;
  r.lr = last_lr_;
  r.learning_rate = tick_lr_;
  r.loss = tick_loss_;
  if (world_.distributed()) {  // the loss over every process, as training_stats sums it
    const double n = world_.size();
    r.loss.num = world_.all_reduce_mean(r.loss.num) * n;
    r.loss.sum = world_.all_reduce_mean(r.loss.sum) * n;
    r.loss.sum_sq = world_.all_reduce_mean(r.loss.sum_sq) * n;
  }
  return r;
}

void TrainRun::end_tick() {
  const auto now = Clock::now();
  const auto r = tick_report(now);
  if (main_) {
    if (progress_) progress_->clear();
    const double img_s = r.tick_nimg / std::max(r.tick_sec, 1e-9);
    double eta = static_cast<double>(total_nimg_ - counters_.cur_nimg) / std::max(img_s, 1e-9);
    if (o_.max_minutes) eta = std::min(eta, std::max(0.0, *o_.max_minutes * 60 - r.total_sec));
    if (!quiet_) std::cout << tick_line(r, eta, done_) << std::endl;
    stats_ << tick_json(r).dump() << std::endl;
  }
  check_finite(r);  // before anything of this tick is written
  if (main_) write_due_files();
  world_.barrier();
  progress_.reset();
  ++counters_.cur_tick;
  tick_start_ = Clock::now();
  maintenance_sec_ = std::chrono::duration<double>(tick_start_ - now).count();
  tick_start_nimg_ = counters_.cur_nimg;
  tick_loss_ = tick_lr_ = Moments{};
}

void TrainRun::check_finite(const TickReport& r) const {
  const std::string at = "tick " + std::to_string(r.tick) + " (" + std::to_string(r.nimg / 1000) + " kimg): ";
  const std::string kept = "; stopped before writing it, the last snapshot and state are kept (lower --lr or use --ls)";
  if (r.tick_nimg > 0 && r.loss.num == 0) throw Error(at + "no step of the tick had a finite loss" + kept);
  torch::NoGradGuard no_grad;
  for (const auto& [what, net] : {std::pair{"network", net_.get()}, {"EMA", ema_.get()}})
    for (const auto& p : net->named_parameters())
      if (!torch::isfinite(p.value()).all().item<bool>())
        throw Error(at + "the " + what + "'s weight '" + p.key() + "' is not finite (NaN or Inf)" + kept);
}

void TrainRun::write_due_files() {
  const int64_t tick = counters_.cur_tick;
  if (o_.snap > 0 && (done_ || tick % o_.snap == 0)) {
    save_precond(kimg_name(run_dir_, "network-snapshot", counters_.cur_nimg), *ema_);
    if (phema_) phema_->save_snapshots(run_dir_, counters_.cur_nimg, config_);
  }
  // As training_loop.py: no state at tick 0, so every state holds a full tick.
  if (o_.dump > 0 && (done_ || tick % o_.dump == 0) && tick != 0) {
    const auto state = kimg_name(run_dir_, "training-state", counters_.cur_nimg);
    if (phema_) phema_->save_state(state);  // first, so that a state never lacks it
    save_train_state(state, *net_, *ema_, *adam_, counters_, o_.arch);
  }
}

void TrainRun::write_upsampler_grid(const std::string& model, int64_t n, int64_t steps, const std::string& png) {
  torch::NoGradGuard no_grad;
  auto up = load_upsampler(model, device_);
  auto x = from_uint8(data_.images.slice(0, 0, std::min(n, data_.size())));
  auto low = cascade::downsample(x, up->low_resolution());
  std::vector<uint64_t> seeds(static_cast<size_t>(x.size(0)));
  std::iota(seeds.begin(), seeds.end(), 0);
  GenerateOptions o;
  o.sampler_options.num_steps = steps;
  auto out = upsample_batch(*up, low, seeds, o, 0.0).cpu().to(torch::kFloat32);
  auto rows = torch::cat({cascade::upsample(low, data_.resolution()), out, x});
  write_grid_picture(make_grid(rows, x.size(0), 1), 3, {"low resolution", "upsampled", "data"}, png);
}

std::string TrainRun::finish(const TrainFrontEnd& fe) {
  if (main_) {
    const auto final_net = kimg_name(run_dir_, "network-snapshot", counters_.cur_nimg);
    if (!std::filesystem::exists(final_net)) save_precond(final_net, *ema_);
    const auto grid = run_dir_ + "/samples.png", curve = run_dir_ + "/loss.png";
    const bool grid_due =
        !stop_signal() && !classifier_ && !autoencoder_;  // a signal: the user wants out, not pictures
    if (grid_due && net_->low_resolution()) {
      std::cout << "enlarging " << fe.grid_per_class << " training images with " << final_net << "\n";
      write_upsampler_grid(final_net, fe.grid_per_class, fe.grid_steps, grid);
    } else if (grid_due) {
      auto denoiser = load_denoiser(final_net, device_);
      std::cout << "sampling a " << (label_dim_ ? "labelled " : "") << "grid from " << final_net << "\n";
      SamplerOptions so;
      so.num_steps = fe.grid_steps;
      so.clip_denoised = o_.precond == "ddpm";  // an epsilon model's D strays at high noise (clipped_denoiser.h)
      write_sample_grid(*denoiser, cond_ ? data_.class_names : std::vector<std::string>{}, fe.grid_per_class, so, grid);
    }
    stats_.close();
    plot_loss_curve(run_dir_ + "/stats.jsonl", curve);
    std::cout << "model        " << final_net << "\n"
              << (grid_due ? "samples      " + grid + "\n" : "") << "loss curve   " << curve << "\n";
  }
  world_.barrier();
  return run_dir_;
}

}  // namespace edm
