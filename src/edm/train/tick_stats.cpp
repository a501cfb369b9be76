#include "edm/train/tick_stats.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

namespace edm {

namespace {

nlohmann::json scalar(double v) { return {{"num", 1}, {"mean", v}, {"std", 0.0}}; }

// JSON has no NaN: an empty or non-finite statistic is null.
nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

std::string duration_str(double s) {
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%dh%02dm", int(s / 3600), int(s / 60) % 60);
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%dm%02ds", int(s / 60), int(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%.0fs", s);
  return buf;
}

}  // namespace

void Moments::add(const torch::Tensor& values) {
  auto v = values.detach().to(torch::kFloat64);
  num += static_cast<double>(v.numel());
  sum += v.sum().item<double>();
  sum_sq += v.square().sum().item<double>();
}

double Moments::mean() const { return num > 0 ? sum / num : std::nan(""); }

double Moments::std() const {
  if (!(num > 0)) return std::nan("");
  const double m = mean();
  return std::sqrt(std::max(sum_sq / num - m * m, 0.0));
}

double cpu_mem_gb() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 30);
}

nlohmann::json tick_json(const TickReport& r) {
  const double kimg = r.tick_nimg / 1000.0;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return {{"Progress/tick", scalar(static_cast<double>(r.tick))},
          {"Progress/kimg", scalar(r.nimg / 1000.0)},
          {"Progress/lr", scalar(r.lr)},
          {"Timing/total_sec", scalar(r.total_sec)},
          {"Timing/sec_per_tick", scalar(r.tick_sec)},
          {"Timing/sec_per_kimg", scalar(r.tick_sec / std::max(kimg, 1e-9))},
          {"Timing/maintenance_sec", scalar(r.maintenance_sec)},
          {"Resources/cpu_mem_gb", scalar(cpu_mem_gb())},
          {"Loss/loss", {{"num", r.loss.num}, {"mean", number(r.loss.mean())}, {"std", number(r.loss.std())}}},
          {"Loss/learning_rate",
           {{"num", r.learning_rate.num},
            {"mean", number(r.learning_rate.mean())},
            {"std", number(r.learning_rate.std())}}},
          {"timestamp", std::chrono::duration<double>(now).count()}};
}

std::string tick_line(const TickReport& r, double eta_sec, bool done) {
  const double kimg = r.tick_nimg / 1000.0;
  char line[256];
  std::snprintf(line, sizeof line,
                "tick %-5lld kimg %-8.1f loss %-8.4f sec/kimg %-7.2f img/s %-7.1f mem %.2f GB  time %s  ETA %s",
                static_cast<long long>(r.tick), r.nimg / 1000.0, r.loss.mean(), r.tick_sec / std::max(kimg, 1e-9),
                r.tick_nimg / std::max(r.tick_sec, 1e-9), cpu_mem_gb(), duration_str(r.total_sec).c_str(),
                done ? "-" : duration_str(eta_sec).c_str());
  return line;
}

}  // namespace edm
