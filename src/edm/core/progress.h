// A live progress line on stderr for long work (sampling, training, FID).
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace edm {

class Progress {
 public:
  Progress(std::string label, int64_t total, bool enabled = true);
  ~Progress();
  void update(int64_t done, const std::string& extra = "");  // redraws at most ~10x/s
  void finish(const std::string& extra = "");
  // Ends without a final line: erases the bar on a terminal (for a caller
  // that prints its own summary line in its place).
  void clear();

 private:
  std::string label_;
  int64_t total_, done_ = 0;
  bool enabled_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace edm
