// The statistics of one tick, as the reference's training_stats collects them:
// stats.jsonl holds one JSON object per tick whose values are
// {"num", "mean", "std"} (Progress/tick, Progress/kimg, Timing/total_sec,
// Timing/sec_per_tick, Timing/sec_per_kimg, Timing/maintenance_sec,
// Resources/cpu_mem_gb, Loss/loss, Loss/learning_rate (one report per step,
// as train_edm2.py reports it); edm adds Progress/lr), plus a plain
// `timestamp` in seconds since the epoch.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace edm {

// Count, sum and sum of squares of reported values (each element of a tensor
// is one report, as training_stats.report counts them).
struct Moments {
  double num = 0, sum = 0, sum_sq = 0;
  void add(const torch::Tensor& values);
  void add(const Moments& m) { num += m.num, sum += m.sum, sum_sq += m.sum_sq; }
  void add(double v) { num += 1, sum += v, sum_sq += v * v; }
  double mean() const;  // NaN when empty
  double std() const;   // population std, as the reference's collector
};

// What a tick reports; the loss over every pixel of every finite step on every process.
struct TickReport {
  int64_t tick = 0, nimg = 0, tick_nimg = 0;                        // images in this tick
  double total_sec = 0, tick_sec = 0, maintenance_sec = 0, lr = 0;  // lr of the last step
  Moments loss, learning_rate;                                      // learning_rate: one report per step
};

// One stats.jsonl line.
nlohmann::json tick_json(const TickReport& r);
// The console line: tick, kimg, loss, sec/kimg, img/s, memory, time, ETA.
std::string tick_line(const TickReport& r, double eta_sec, bool done);
// Resident memory of this process, GiB (the reference's Resources/cpu_mem_gb).
double cpu_mem_gb();

}  // namespace edm
