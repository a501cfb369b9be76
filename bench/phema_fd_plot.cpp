// The Frechet distance of post-hoc EMA reconstructions against their EMA
// length (EDM2 paper, Figure 5), drawn from measured values:
//
//   build/bench/phema_fd_plot results.json out.png
//
// results.json: {"title": "...", "curves": [{"name": "...", "std": [...],
// "fd": [...]}, ...], "lines": [{"name": "...", "fd": v}, ...]}. Each curve
// is FD against the EMA length std; each line a horizontal reference (another
// model's FD at the same number of images).
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "edm/viz/plot.h"

using namespace edm;

namespace {

void draw(const nlohmann::json& r, const std::string& out) {
  plot::Plot p;
  p.title(r.value("title", "FD against EMA length")).xlabel("EMA length (std)").ylabel("Frechet distance");
  p.size(720, 480);
  double lo = 1e300, hi = -1e300;
  int color = 0;
  for (const auto& c : r.at("curves")) {
    const auto xs = c.at("std").get<std::vector<double>>(), ys = c.at("fd").get<std::vector<double>>();
    for (double x : xs) lo = std::min(lo, x), hi = std::max(hi, x);
    p.add_series(c.at("name"), xs, ys, plot::palette(color++), 2, 4);
  }
  for (const auto& l : r.value("lines", nlohmann::json::array())) {
    const double v = l.at("fd");
    p.add_series(l.at("name"), {lo, hi}, {v, v}, plot::palette(color++), 1.5);
  }
  p.save(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: phema_fd_plot results.json out.png\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "cannot read " << argv[1] << "\n";
    return 1;
  }
  try {
    draw(nlohmann::json::parse(in), argv[2]);
  } catch (const std::exception& e) {
    std::cerr << "error: " << argv[1] << ": " << e.what() << "\n";
    return 1;
  }
  std::cout << argv[2] << "\n";
  return 0;
}
