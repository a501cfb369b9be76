// Helpers shared by the subcommands: uniform options and error handling.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace edm::cli {

// --device cpu|cuda|cuda:N (default: cuda if available) and --threads N.
struct RuntimeOptions {
  std::string device = "auto";
  int threads = 0;
};
void add_runtime_options(CLI::App* app, RuntimeOptions& opts);

// The command line edm was started with, without the program name (for
// relaunching itself as several processes).
const std::vector<std::string>& command_line();
void set_command_line(int argc, char** argv);

// --nproc N > 1: starts N local processes of this same command line (without
// --nproc), with the environment torchrun would give them, waits for all and
// returns true; false for N = 1 (run here). Throws if a process fails.
bool relaunch_local(int nproc);

// Each subcommand registers itself on the top-level app.
void register_info(CLI::App& app);
void register_generate(CLI::App& app);
void register_invert(CLI::App& app);
void register_train(CLI::App& app);
void register_fid(CLI::App& app);
void register_toy(CLI::App& app);
void register_denoise(CLI::App& app);

}  // namespace edm::cli
