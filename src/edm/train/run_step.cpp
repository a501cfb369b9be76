// One optimizer step: gradients accumulated over the rounds of the global
// batch, averaged over processes, non-finite values replaced, Adam, EMA.
#include <cmath>

#include "edm/core/error.h"
#include "edm/core/interrupt.h"
#include "edm/diffusion/cascade.h"
#include "edm/train/ema.h"
#include "edm/train/run.h"

namespace edm {

void TrainRun::step() {
  Moments loss;
  const double step_loss = accumulate_gradients(loss);
  update_weights();
  count_step(step_loss, loss);
  show_progress();
}

double TrainRun::accumulate_gradients(Moments& loss_moments) {
  // Every random draw of this step follows from (seed, images so far): the
  // noise levels and noise of the whole global batch are drawn alike on
  // every rank, each taking its rows, so that N processes train exactly as
  // one; dropout and augmentation draw per rank.
  const int64_t nimg = counters_.cur_nimg, batch = *o_.batch;
  const uint64_t step_seed = seed_ * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(nimg);
  torch::manual_seed(step_seed);
  auto sigma_all = sample_sigma(loss_cfg_, batch, device_);
  auto noise_all = torch::randn({batch, data_.channels(), data_.resolution(), data_.resolution()},
                                torch::TensorOptions().device(device_));
  torch::Tensor aug_all, aug_noise_all;  // an upsampler's conditioning augmentation, drawn alike
  if (net_->low_resolution()) {
    aug_all = torch::rand({batch}, torch::TensorOptions().device(device_)) * net_->cond_aug_max();
    aug_noise_all = torch::randn_like(noise_all);
  }
  torch::manual_seed(step_seed + 1 + static_cast<uint64_t>(world_.rank()));
  for (auto& p : net_->parameters()) p.mutable_grad() = torch::Tensor();
  double step_loss = 0;
  for (int64_t r = 0; r < rounds_; ++r) {
    auto b = loader_->take(rank_offset(nimg, r), batch_gpu_);
    const bool last = r + 1 == rounds_;
    loader_->prefetch(last ? rank_offset(nimg + batch, 0) : rank_offset(nimg, r + 1), batch_gpu_);
    auto images = b.images.to(device_);
    torch::Tensor labels, augment_labels;
    if (label_dim_ > 0) labels = torch::one_hot(b.labels.to(device_), label_dim_).to(torch::kFloat32);
    if (o_.augment > 0) {
      auto a = augment(images, aug_);
      images = a.images;
      augment_labels = a.augment_labels;
    }
    if (last && reducer_) reducer_->arm();
    const int64_t row = world_.rank() * per_rank_ + r * batch_gpu_;
    if (net_->low_resolution()) {
      auto aug = aug_all.narrow(0, row, batch_gpu_);
      net_->set_condition(cascade::condition(cascade::downsample(images, net_->low_resolution()), data_.resolution(),
                                             aug, aug_noise_all.narrow(0, row, batch_gpu_)));
      augment_labels = cascade::augment_label(aug);
    }
    auto loss = batch_loss(images, labels, augment_labels, sigma_all.narrow(0, row, batch_gpu_),
                           noise_all.narrow(0, row, batch_gpu_));
    (loss.sum() * (o_.ls / static_cast<double>(per_rank_))).backward();
    step_loss += loss.mean().item<double>() / static_cast<double>(rounds_);
    loss_moments.add(loss);
  }
  net_->set_condition({});
  if (reducer_) reducer_->finish();
  return world_.all_reduce_mean(step_loss);
}

torch::Tensor TrainRun::batch_loss(const torch::Tensor& images, const torch::Tensor& labels,
                                   const torch::Tensor& augment_labels, const torch::Tensor& sigma,
                                   const torch::Tensor& noise) {
  if (autoencoder_) return autoencoder_loss(*net_, images, noise, o_.kl_weight);
  if (classifier_) return classifier_loss(*net_, images, labels, sigma, noise);
  if (edm2_) return edm2_loss(*net_, images, labels, edm2_loss_, sigma, noise);
  return diffusion_loss(*net_, images, labels, augment_labels, loss_cfg_, sigma, noise);
}

double TrainRun::learning_rate(int64_t nimg) const {
  const auto t = static_cast<double>(nimg);
  if (edm2_) return edm2_learning_rate(t, static_cast<double>(*o_.batch), *o_.lr, *o_.decay, *o_.lr_rampup / 1000);
  return ramped_lr(*o_.lr, t, *o_.lr_rampup * 1000);
}

void TrainRun::update_weights() {
  const auto nimg = static_cast<double>(counters_.cur_nimg);
  last_lr_ = learning_rate(counters_.cur_nimg);
  tick_lr_.add(last_lr_);
  // Non-finite gradients: clamped to +-1e5 by NVlabs/edm, zeroed by NVlabs/edm2.
  adam_->step(last_lr_, edm2_ ? 0.0 : 1e5);
  ema_update(*ema_, *net_,
             ema_beta(static_cast<double>(*o_.batch), *o_.ema * 1e6, nimg,
                      o_.ema_rampup > 0 ? std::optional<double>(o_.ema_rampup) : std::nullopt));
  counters_.cur_nimg += *o_.batch;
  if (phema_) phema_->update(counters_.cur_nimg, *o_.batch);
  counters_.adam_steps = adam_->steps();
}

void TrainRun::count_step(double step_loss, const Moments& loss) {
  step_loss_ = step_loss;
  if (std::isfinite(step_loss)) {
    tick_loss_.add(loss), nonfinite_steps_ = 0;
  } else if (++nonfinite_steps_ >= 20) {
    throw Error("the loss has not been finite for 20 steps (at " + std::to_string(counters_.cur_nimg / 1000) +
                " kimg): lower --lr or use --ls; the last good snapshot is kept");
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  bool done = counters_.cur_nimg >= total_nimg_;
  if (o_.max_minutes && elapsed > *o_.max_minutes * 60) done = true;
  if (stop_signal()) done = true;                        // the run ends as at its end: snapshot and state
  done_ = world_.all_reduce_mean(done ? 1.0 : 0.0) > 0;  // every rank stops together
}

bool TrainRun::tick_due() const {
  // training_loop.py: tick 0 ends after the first step, later ones every --tick kimg.
  return done_ || counters_.cur_tick == 0 ||
         counters_.cur_nimg >= tick_start_nimg_ + static_cast<int64_t>(*o_.tick * 1000);
}

}  // namespace edm
