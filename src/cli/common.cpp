#include "common.h"

#include <chrono>
#include <filesystem>

#include "edm/core/error.h"
#include "edm/dist/launch.h"

namespace edm::cli {

void add_runtime_options(CLI::App* app, RuntimeOptions& opts) {
  app->add_option("--device", opts.device, "cpu, cuda or cuda:N (default: cuda if available)")->capture_default_str();
  app->add_option("--threads", opts.threads, "CPU threads (default: all cores)")->check(CLI::Range(0, 4096));
}

void add_precision_options(CLI::App* app, PrecisionOptions& opts) {
  app->add_flag("--bf16", opts.bf16,
                "Run the network in bfloat16 (CUDA, or a CPU with AVX512_BF16/AMX; default: as the model file says)");
  app->add_flag("--fp32", opts.fp32, "Run the network in float32 whatever the model file says");
}

networks::Precision resolve_precision(const PrecisionOptions& opts, torch::Device device) {
  if (opts.bf16 && opts.fp32) throw UsageError("--bf16 and --fp32 exclude each other");
  if (opts.fp32) return networks::Precision::Float32;
  if (!opts.bf16) return networks::Precision::FromModel;
  networks::check_precision(networks::Precision::BFloat16, device);
  return networks::Precision::BFloat16;
}

std::vector<double> parse_double_list(const std::string& text, const std::string& name) {
  std::vector<double> out;
  for (size_t start = 0;;) {
    const auto comma = text.find(',', start);
    const auto part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t used = 0;
    try {
      out.push_back(std::stod(part, &used));
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != part.size())
      throw UsageError("--" + name + ": '" + text + "' is not a comma-separated list of numbers");
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

std::vector<int64_t> parse_int_list(const std::string& s, const std::string& name) {
  std::vector<int64_t> out;
  size_t start = 0;
  while (start <= s.size()) {
    auto comma = s.find(',', start);
    auto part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    try {
      size_t used = 0;
      out.push_back(std::stoll(part, &used));
      if (used != part.size() || out.back() < 1) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      throw UsageError("--" + name + ": '" + s + "' is not a list of positive integers");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

namespace {
std::vector<std::string>& args() {
  static std::vector<std::string> a;
  return a;
}
}  // namespace

const std::vector<std::string>& command_line() { return args(); }
void set_command_line(int argc, char** argv) { args().assign(argv + 1, argv + argc); }

bool relaunch_local(int nproc) {
  if (nproc < 1) throw UsageError("--nproc must be at least 1");
  if (nproc == 1) return false;
  std::vector<std::string> rest;
  const auto& argv = command_line();
  for (size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--nproc") {
      ++i;
      continue;
    }
    if (argv[i].rfind("--nproc=", 0) == 0) continue;
    rest.push_back(argv[i]);
  }
  dist::launch_local(nproc, dist::self_executable(), rest, std::chrono::seconds(30));
  return true;
}

void require_pixel_model(const Denoiser& net, const std::string& path, const std::string& command) {
  if (!net.sample_space().empty())
    throw UsageError("edm " + command + " works on pixel models; " + path + " samples latents of an autoencoder");
}

void check_outputs_are_not_inputs(const std::vector<std::string>& outputs, const std::vector<std::string>& inputs) {
  for (const auto& out : outputs)
    for (const auto& in : inputs) {
      std::error_code ec;
      if (!out.empty() && !in.empty() && std::filesystem::equivalent(out, in, ec))
        throw UsageError("output '" + out + "' is the input '" + in + "': writing it would destroy it");
    }
}

}  // namespace edm::cli
