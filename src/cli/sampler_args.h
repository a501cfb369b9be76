// The sampling options of `edm generate` (the reference's generate.py names
// plus ours), shared with `edm fid calc --net`, which generates the same way,
// and (the noise levels) with `edm invert`. This layer only parses: every
// rule lives with the options (validate, check_generate_options).
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "common.h"
#include "edm/core/denoiser.h"
#include "edm/model/upsampler.h"
#include "edm/sampling/generate.h"

namespace edm::cli {

struct SamplerArgs {
  GenerateOptions gen;
  std::optional<double> guidance;
  std::string guide_net;          // autoguidance: the guiding model file
  std::string guidance_interval;  // "sigma_lo,sigma_hi"
  std::string classifier;         // classifier guidance: the noise-aware classifier's model file
  std::optional<double> classifier_scale;
  std::string upsampler;       // cascaded diffusion: the second stage's model file
  double cond_aug = 0;         // its conditioning augmentation level
  std::optional<int64_t> nfe;  // --nfe: sets the steps
  std::string steps_file;      // --steps-file: sets the noise levels
  PrecisionOptions precision;  // --bf16 / --fp32, for the model and the guiding model
  std::vector<CLI::Option*> ablation_opts;
};

// --steps --sigma_min --sigma_max --rho: the noise levels, which every sampler
// (and the inversion) takes.
// The defaults name what an unset sigma_min / sigma_max stands for.
void add_noise_level_options(CLI::App* sub, SamplerOptions& o, const std::string& sigma_min_default,
                             const std::string& sigma_max_default);

// --class, the noise levels, --S_churn --S_min --S_max --S_noise --solver
// --disc --schedule --scaling --alpha --sampler --eta --ld_steps --ld_snr
// --order --variant --restart --rtol --predictor --corrector-steps --snr
// --steps-file --nfe --guidance --guide-net --guidance-interval --classifier
// --classifier-scale --bf16 --fp32.
void add_sampler_options(CLI::App* sub, SamplerArgs& a);

// Sets the steps for --nfe or --steps-file, checks the options against `net`
// and returns the denoiser to sample: `net`, `net` under classifier-free
// guidance (--guidance alone) or autoguided by the model of --guide-net
// (loaded on net's device in the same precision), either one optionally within --guidance-interval,
// and on top of that guided by the classifier of --classifier.
// Throws edm::UsageError for impossible combinations.
std::shared_ptr<Denoiser> apply_sampler_options(SamplerArgs& a, std::shared_ptr<Denoiser> net);

// --upsampler --cond-aug: cascaded diffusion's second stage (edm generate,
// edm fid calc --net).
void add_upsampler_options(CLI::App* sub, SamplerArgs& a);

// The upsampler of --upsampler, checked against the images of `base` (the
// model file `net_path`); nullptr without --upsampler. Throws
// edm::UsageError for --cond-aug without it or out of range.
std::shared_ptr<Upsampler> load_second_stage(const SamplerArgs& a, Denoiser& base, torch::Device device,
                                             const std::string& net_path);

}  // namespace edm::cli
