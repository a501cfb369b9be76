#include "edm/core/progress.h"

#include <unistd.h>

#include <cstdio>

namespace edm {

Progress::Progress(std::string label, int64_t total, bool enabled)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

Progress::~Progress() {
  if (!finished_ && done_ > 0) finish();
}

void Progress::update(int64_t done, const std::string& extra) {
  done_ = done;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (done < total_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double eta = done > 0 ? elapsed * (total_ - done) / done : 0.0;
  const int width = 30;
  int filled = total_ > 0 ? static_cast<int>(width * done / total_) : width;
  std::string bar(filled, '#');
  bar.resize(width, '.');
  bool tty = ::isatty(STDERR_FILENO);
  std::fprintf(stderr, "%s%s [%s] %lld/%lld %.1fs eta %.1fs %s%s", tty ? "\r\033[K" : "", label_.c_str(), bar.c_str(),
               static_cast<long long>(done), static_cast<long long>(total_), elapsed, eta, extra.c_str(),
               tty ? "" : "\n");
  std::fflush(stderr);
}

void Progress::finish(const std::string& extra) {
  finished_ = true;
  if (!enabled_) return;
  last_ = std::chrono::steady_clock::time_point{};
  update(total_, extra);
  if (::isatty(STDERR_FILENO)) std::fputc('\n', stderr);
}

void Progress::clear() {
  if (finished_) return;
  finished_ = true;
  if (enabled_ && done_ > 0 && ::isatty(STDERR_FILENO)) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  }
}

}  // namespace edm
