// Images from seeds, as the reference's generate.py makes them: per seed,
// latents then (for a conditional model) a class drawn from the seed's own
// generator, then the sampler with per-seed noise.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "edm/core/denoiser.h"
#include "edm/core/rng.h"
#include "edm/sampling/samplers.h"

namespace edm {

struct GenerateOptions {
  // "auto" picks like the reference: ablation_sampler when any of
  // solver/discretization/schedule/scaling was given, else edm_sampler.
  std::string sampler = "auto";
  bool ablation_options_given = false;
  SamplerOptions sampler_options;
  std::optional<int64_t> class_idx;  // every image of this class
};

// The row of --sampler; "auto" stands for ablation or edm. Throws
// edm::UsageError for an unknown name.
const SamplerInfo& resolve_sampler(const GenerateOptions& o);
// Throws edm::UsageError for options the model cannot honour (a class for an
// unconditional model, a class index out of range), impossible sampler
// options, or options the sampler does not take.
void check_generate_options(const Denoiser& net, const GenerateOptions& o);
// The class rule (generate and invert): a conditional model, an index in range.
void check_class_idx(const Denoiser& net, std::optional<int64_t> class_idx);
// The guidance rule: a weight that is a number, on a conditional model.
void check_guidance(const Denoiser& net, double w);

struct SeedDraws {
  torch::Tensor latents;       // [N,C,H,W] float32
  torch::Tensor class_labels;  // [N,label_dim] one-hot float32, undefined when unconditional
};
// Draws latents and class labels for the seeds of `rnd` as the reference does.
SeedDraws draw_seed_inputs(SeedBatch& rnd, const Denoiser& net, const GenerateOptions& o, torch::Device device);

// Images [N,C,H,W] float64 in [-1, 1] (roughly) for one batch of seeds.
// `latents`, when defined ([N,C,H,W]), replace the drawn ones; the generators
// still draw them so that classes and noise stay those of the seed.
torch::Tensor generate_batch(Denoiser& net, const std::vector<uint64_t>& seeds, const GenerateOptions& o,
                             const torch::Tensor& latents = {}, const StepFn& on_step = {});

// The shape [C,H,W] of one image of `net`: its sample shape, or for a latent
// model that of a decoded sample.
std::vector<int64_t> image_shape(Denoiser& net);

// Throws edm::Error naming the seeds (at most 10) whose images [N,...] hold
// a NaN or Inf: such an image would be written as a plausible-looking PNG.
// generate_batch checks its output with it.
void check_finite_images(const torch::Tensor& images, const std::vector<uint64_t>& seeds);

// The PNG path of a seed as the reference names it ({seed:06d}.png, inside
// {seed - seed % 1000:06d}/ with subdirs).
std::string seed_image_path(const std::string& outdir, uint64_t seed, bool subdirs);

}  // namespace edm
