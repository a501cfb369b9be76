// The loss curve of a training run, drawn from its JSON-lines log.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace edm {

struct LossCurve {
  std::vector<double> kimg, loss;  // the ticks with a finite loss
  int64_t nonfinite = 0;           // ticks whose loss is null (no finite step)
};

// Reads `kimg` and `loss` from each line of stats.jsonl (plain numbers, or
// objects with a "mean" as the reference's "Progress/kimg" / "Loss/loss").
// A truncated last line (a run still writing) and ticks whose loss is null
// (every step non-finite) are skipped; any other bad line throws edm::Error
// naming the file and line, as does a log without one finite loss.
LossCurve read_loss_curve(const std::string& stats_jsonl_path);

// Loss against kimg on a log-y axis, with a moving average when there are
// many points; written as PNG.
void plot_loss_curve(const std::string& stats_jsonl_path, const std::string& png_path);

}  // namespace edm
