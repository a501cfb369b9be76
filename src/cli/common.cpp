#include "common.h"

namespace edm::cli {

void add_runtime_options(CLI::App* app, RuntimeOptions& opts) {
  app->add_option("--device", opts.device, "cpu, cuda or cuda:N (default: cuda if available)")->capture_default_str();
  app->add_option("--threads", opts.threads, "CPU threads (default: all cores)")->check(CLI::NonNegativeNumber);
}

namespace {
std::vector<std::string>& args() {
  static std::vector<std::string> a;
  return a;
}
}  // namespace

const std::vector<std::string>& command_line() { return args(); }
void set_command_line(int argc, char** argv) { args().assign(argv + 1, argv + argc); }

}  // namespace edm::cli
