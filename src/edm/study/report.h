// A study's results as people read them: a Markdown table (one row per
// series, one column per x), a CSV of every case, and a PNG plot of FD
// against x, one curve per series.
#pragma once
#include <string>
#include <vector>

#include "edm/study/study.h"

namespace edm {

struct StudyReport {
  std::string title, xlabel, ylabel = "FD";
  bool log_x = false, log_y = false;
};

// The Markdown table of FD (with the counted NFE where it is not x).
std::string study_table(const StudyReport& r, const std::vector<StudyResult>& results, bool show_nfe);
// series,x,nfe,fd,seconds — one line per case.
std::string study_csv(const std::vector<StudyResult>& results);
// Writes DIR/study.md, DIR/study.csv and DIR/study.png (each atomically).
void write_study(const std::string& dir, const StudyReport& r, const std::vector<StudyResult>& results, bool show_nfe);

}  // namespace edm
