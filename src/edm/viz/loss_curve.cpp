#include "edm/viz/loss_curve.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "edm/core/error.h"
#include "edm/viz/plot.h"

namespace edm {

namespace {

// The value under `name` or `alt`: a number or {"mean": number}. A null
// stands for a tick without a finite value (JSON has no NaN): NaN.
std::optional<double> field(const nlohmann::json& j, const char* name, const char* alt) {
  for (const char* key : {name, alt}) {
    auto it = j.find(key);
    if (it == j.end()) continue;
    const auto& v = it->is_object() && it->contains("mean") ? (*it)["mean"] : *it;
    if (v.is_number()) return v.get<double>();
    if (v.is_null()) return std::nan("");
  }
  return std::nullopt;
}

}  // namespace

LossCurve read_loss_curve(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot read training log " + path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  LossCurve curve;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto j = nlohmann::json::parse(lines[i], nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      if (i + 1 == lines.size()) break;
      throw Error(path + ":" + std::to_string(i + 1) + ": not a JSON object");
    }
    auto kimg = field(j, "kimg", "Progress/kimg"), loss = field(j, "loss", "Loss/loss");
    if (!kimg || !loss) throw Error(path + ":" + std::to_string(i + 1) + ": needs numeric 'kimg' and 'loss'");
    if (!std::isfinite(*loss)) {
      ++curve.nonfinite;  // a tick in which no step had a finite loss
      continue;
    }
    curve.kimg.push_back(*kimg);
    curve.loss.push_back(*loss);
  }
  if (curve.kimg.empty())
    throw Error("training log " + path +
                (curve.nonfinite ? " has no finite loss (the run diverged: lower --lr)" : " has no entries"));
  return curve;
}

void plot_loss_curve(const std::string& stats_jsonl_path, const std::string& png_path) {
  auto c = read_loss_curve(stats_jsonl_path);
  bool positive = true;
  for (double l : c.loss) positive = positive && l > 0;
  plot::Plot p;
  p.title("training loss").xlabel("kimg").ylabel("loss").log_y(positive);
  p.add_series(c.loss.size() > 20 ? "loss" : "", c.kimg, c.loss, plot::palette(0).with_alpha(0.35f), 1.5);
  if (c.loss.size() > 20) {
    // Centered moving average over ~1/20 of the run: the trend under the noise.
    int64_t n = c.loss.size(), half = std::max<int64_t>(1, n / 40);
    std::vector<double> avg(n);
    for (int64_t i = 0; i < n; ++i) {
      int64_t a = std::max<int64_t>(0, i - half), b = std::min(n - 1, i + half);
      double s = 0;
      for (int64_t k = a; k <= b; ++k) s += c.loss[k];
      avg[i] = s / (b - a + 1);
    }
    p.add_series("moving average", c.kimg, avg, plot::palette(1), 2.5);
  }
  p.save(png_path);
}

}  // namespace edm
