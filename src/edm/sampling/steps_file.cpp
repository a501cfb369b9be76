#include "edm/sampling/steps_file.h"

#include <cstdio>
#include <sstream>

#include "edm/core/error.h"
#include "edm/io/atomic_file.h"

namespace edm {

std::vector<double> read_steps_file(const std::string& path) {
  std::istringstream lines(read_file(path));
  std::vector<double> levels;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line.substr(0, line.find('#')));
    for (std::string w; words >> w;) {
      size_t used = 0;
      double v = 0;
      try {
        v = std::stod(w, &used);
      } catch (const std::exception&) {
      }
      if (used != w.size() || used == 0) throw Error(path + ": '" + w + "' is not a number");
      levels.push_back(v);
    }
  }
  if (!levels.empty() && levels.back() == 0) levels.pop_back();
  if (levels.empty()) throw Error(path + ": no noise level");
  for (size_t i = 0; i < levels.size(); ++i)
    if (!(levels[i] > 0) || (i > 0 && !(levels[i] < levels[i - 1])))
      throw Error(path + ": noise levels must be positive and decreasing (entry " + std::to_string(i + 1) + ")");
  return levels;
}

void write_steps_file(const std::string& path, const std::vector<double>& levels, const std::string& comment) {
  std::string text = "# " + comment + "\n";
  char buf[40];
  for (double v : levels) {
    std::snprintf(buf, sizeof buf, "%.17g\n", v);
    text += buf;
  }
  write_file_atomic(path, text + "0\n");
}

}  // namespace edm
