// Shared test helpers: reference fixtures, temporary dirs, running the CLI.
#pragma once
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

#include "edm/core/error.h"

namespace edm::test {

// Defined in testing_paths.cpp, the one file compiled with the build's paths,
// so that every other test object is the same in any checkout.
std::string reference_dir();
std::string edm_binary();
std::string source_dir();
inline std::string reference(const std::string& file) { return reference_dir() + "/" + file; }

// A fresh, empty directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    auto base = std::filesystem::temp_directory_path();
    for (int i = 0;; ++i) {
      path_ = base / ("edm-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
      if (std::filesystem::create_directory(path_)) break;
    }
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string path() const { return path_.string(); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  static int& counter() {
    static int c = 0;
    return c;
  }
  std::filesystem::path path_;
};

// The message of the edm::Error that f throws; empty when it throws none.
// Any other exception fails the test by escaping.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// The last by name (kimg-numbered snapshots and states sort in order) of the
// files under `dir`, at any depth, whose names start with `prefix`; empty if
// there is none.
inline std::string last_file(const std::string& dir, const std::string& prefix) {
  std::string found;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) found = std::max(found, e.path().string());
  return found;
}

struct CommandResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};

// Runs the edm binary with the given arguments (a shell-quoted string).
inline CommandResult run_edm(const std::string& args) {
  std::string cmd = edm_binary() + " " + args + " 2>&1";
  CommandResult r{-1, ""};
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

// max |a - ref| over the magnitude of ref (max |ref|): an error bound that
// holds whatever the scale of the output and the SIMD width of the CPU.
inline double rel_diff(const torch::Tensor& a, const torch::Tensor& ref) {
  return max_abs_diff(a, ref) / std::max(ref.to(torch::kFloat64).abs().max().item<double>(), 1e-300);
}

}  // namespace edm::test
