#include "edm/study/report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "edm/io/atomic_file.h"
#include "edm/viz/plot.h"

namespace edm {

namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Series in the order they first appear; the x values of all, sorted.
std::vector<std::string> series_of(const std::vector<StudyResult>& results) {
  std::vector<std::string> names;
  for (const auto& r : results)
    if (std::find(names.begin(), names.end(), r.c.series) == names.end()) names.push_back(r.c.series);
  return names;
}

std::vector<double> xs_of(const std::vector<StudyResult>& results) {
  std::vector<double> xs;
  for (const auto& r : results) xs.push_back(r.c.x);
  std::sort(xs.begin(), xs.end());
  xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
  return xs;
}

}  // namespace

std::string study_table(const StudyReport& r, const std::vector<StudyResult>& results, bool show_nfe) {
  const auto xs = xs_of(results);
  std::ostringstream s;
  s << "| " << r.xlabel;
  for (double x : xs) s << " | " << fmt("%g", x);
  s << " |\n|---";
  for (size_t i = 0; i < xs.size(); ++i) s << "|---";
  s << "|\n";
  for (const auto& name : series_of(results)) {
    s << "| " << name;
    for (double x : xs) {
      auto it = std::find_if(results.begin(), results.end(),
                             [&](const StudyResult& q) { return q.c.series == name && q.c.x == x; });
      if (it == results.end()) {
        s << " | ";
        continue;
      }
      s << " | " << fmt("%.2f", it->fd);
      if (show_nfe) s << " (" << fmt("%.4g", it->nfe) << ")";
    }
    s << " |\n";
  }
  return s.str();
}

std::string study_csv(const std::vector<StudyResult>& results) {
  std::ostringstream s;
  s << "series,x,nfe,fd,seconds\n";
  for (const auto& r : results)
    s << '"' << r.c.series << "\"," << fmt("%.9g", r.c.x) << ',' << fmt("%.6g", r.nfe) << ',' << fmt("%.6g", r.fd)
      << ',' << fmt("%.3f", r.seconds) << '\n';
  return s.str();
}

void write_study(const std::string& dir, const StudyReport& r, const std::vector<StudyResult>& results, bool show_nfe) {
  std::filesystem::create_directories(dir);
  write_file_atomic(dir + "/study.md", "# " + r.title + "\n\n" + study_table(r, results, show_nfe));
  write_file_atomic(dir + "/study.csv", study_csv(results));
  plot::Plot p;
  p.title(r.title).xlabel(r.xlabel).ylabel(r.ylabel).log_x(r.log_x).log_y(r.log_y);
  for (const auto& name : series_of(results)) {
    std::map<double, double> curve;
    for (const auto& q : results)
      if (q.c.series == name) curve[q.c.x] = q.fd;
    std::vector<double> x, y;
    for (const auto& [k, v] : curve) x.push_back(k), y.push_back(v);
    p.add_series(name, x, y, {}, 2, 4);
  }
  p.save(dir + "/study.png");
}

}  // namespace edm
