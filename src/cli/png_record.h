// The parameters written into every PNG that `edm generate` makes, and
// --from-png, which reads them back to make the same image again.
#pragma once
#include <torch/torch.h>

#include <set>
#include <string>

#include "edm/sampling/generation_record.h"
#include "sampler_args.h"

namespace edm::cli {

// What every image of a run shares (generation_record.h), and --latents;
// `precision` is the network's arithmetic.
GenerationRecord run_record(const std::string& net_path, const SamplerArgs& s, torch::Device device,
                            torch::ScalarType precision, const std::string& latents_path);

// The options --from-png sets: the batch the image was made in, only its
// seed written, the model (checked by SHA-256), sampler, options, guidance,
// precision.
struct FromPng {
  std::string net, seeds, device;
  int64_t batch = 0;
  std::set<uint64_t> only;
};
// Throws edm::Error naming the PNG when it has no record or when the model
// file is not the one that made it; `net` may be empty (then the recorded
// model file name is looked for in the current folder and beside the PNG).
FromPng read_from_png(const std::string& png_path, const std::string& net, SamplerArgs& s);

}  // namespace edm::cli
