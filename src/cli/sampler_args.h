// The sampling options of `edm generate` (the reference's generate.py names
// plus ours), shared with `edm fid calc --net`, which generates the same way.
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <vector>

#include "edm/core/denoiser.h"
#include "edm/sampling/generate.h"

namespace edm::cli {

struct SamplerArgs {
  GenerateOptions gen;
  int64_t class_idx = -1;
  double sigma_min = 0, sigma_max = 0, guidance = 1;
  CLI::Option *class_opt = nullptr, *sigma_min_opt = nullptr, *sigma_max_opt = nullptr, *guidance_opt = nullptr;
  std::vector<CLI::Option*> ablation_opts;
};

// --class --steps --sigma_min --sigma_max --rho --S_churn --S_min --S_max
// --S_noise --solver --disc --schedule --scaling --alpha --sampler --eta
// --ld_steps --ld_snr --guidance.
void add_sampler_options(CLI::App* sub, SamplerArgs& a);

// Moves the given options into a.gen, checks them against `net` and returns
// the denoiser to sample: `net`, or `net` under classifier-free guidance.
// Throws edm::UsageError for impossible combinations.
std::shared_ptr<Denoiser> apply_sampler_options(SamplerArgs& a, std::shared_ptr<Denoiser> net);

}  // namespace edm::cli
