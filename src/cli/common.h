// Helpers shared by the subcommands: uniform options and error handling.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "edm/core/denoiser.h"
#include "edm/nn/precond.h"

namespace edm::cli {

// --device cpu|cuda|cuda:N (default: cuda if available) and --threads N.
struct RuntimeOptions {
  std::string device = "auto";
  int threads = 0;
};
void add_runtime_options(CLI::App* app, RuntimeOptions& opts);

// --bf16 / --fp32: the network's arithmetic (default: as the model file says).
struct PrecisionOptions {
  bool bf16 = false, fp32 = false;
};
void add_precision_options(CLI::App* app, PrecisionOptions& opts);
// Throws edm::UsageError for both flags, or bfloat16 where `device` lacks it.
networks::Precision resolve_precision(const PrecisionOptions& opts, torch::Device device);

// "0.05,0.1" -> {0.05, 0.1}; edm::UsageError naming --<name> otherwise.
std::vector<double> parse_double_list(const std::string& text, const std::string& name);

// "8,16" -> {8, 16}, each a positive integer; edm::UsageError naming --<name> otherwise.
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& name);

// The command line edm was started with, without the program name (for
// relaunching itself as several processes).
const std::vector<std::string>& command_line();
void set_command_line(int argc, char** argv);

// --nproc N > 1: starts N local processes of this same command line (without
// --nproc), with the environment torchrun would give them, waits for all and
// returns true; false for N = 1 (run here). Throws if a process fails.
bool relaunch_local(int nproc);

// Throws edm::UsageError when an output file is one of the inputs (the same
// file under any name), which writing it would destroy. Empty names are skipped.
void check_outputs_are_not_inputs(const std::vector<std::string>& outputs, const std::vector<std::string>& inputs);

// Throws edm::UsageError when `net` (from `path`) is a latent model and the
// command works on pixels (its images would have to be encoded).
void require_pixel_model(const Denoiser& net, const std::string& path, const std::string& command);

// Each subcommand registers itself on the top-level app.
void register_info(CLI::App& app);
void register_generate(CLI::App& app);
void register_invert(CLI::App& app);
void register_likelihood(CLI::App& app);
void register_steps(CLI::App& app);
void register_train(CLI::App& app);
void register_fid(CLI::App& app);
void register_toy(CLI::App& app);
void register_phema(CLI::App& app);
void register_dataset(CLI::App& app);
void register_serve(CLI::App& app);
void register_denoise(CLI::App& app);
void register_study(CLI::App& app);

}  // namespace edm::cli
