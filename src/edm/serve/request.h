// The JSON body of POST /api/generate: the fields of `edm generate` under
// its option names without "--" ("seeds", "class", "guidance", "sampler",
// "steps", "S_churn", ...), plus "net" (which model) and "stream".
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "edm/sampling/generate.h"

namespace edm::serve {

// What one request may ask for, so that no request can hold a model long.
struct Limits {
  int64_t max_images = 16;   // seeds per request
  int64_t max_steps = 1000;  // --steps
  int64_t max_nfe = 4000;    // denoiser evaluations per image (ld_steps x steps, Heun's 2x)
  size_t max_body = 64 * 1024;
};

struct GenerateRequest {
  std::string net;  // a model name; empty: the only model
  std::vector<uint64_t> seeds = {0};
  GenerateOptions gen;
  std::optional<double> guidance;
  bool stream = false;  // newline-delimited JSON events per step
};

// Throws edm::UsageError (-> status 400) naming the field that is unknown,
// of the wrong type, or out of the limits. The model-dependent checks
// (class, guidance) come later, with the model.
GenerateRequest parse_generate_request(const std::string& body, const Limits& limits);

}  // namespace edm::serve
