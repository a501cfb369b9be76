// One generation for the server: the images of a request, and on the way,
// after every sampler step, the denoised estimate D(x; sigma) the sampler
// last asked for, with its noise level and the NFE so far.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>

#include "edm/serve/models.h"
#include "edm/serve/request.h"

namespace edm::serve {

// Receives each event; returns false when the client is gone (the run stops).
using Emit = std::function<bool(const nlohmann::json& event)>;

// Events: {"type": "step", "step", "steps", "sigma", "nfe", "images": [PNG
// base64 per seed]} when `r.stream`, then {"type": "done", "sampler", "nfe",
// "images": [{"seed", "png"}]}: the same PNG bytes, parameters included, as
// `edm generate` writes for these seeds and options. Throws edm::UsageError
// for options the model cannot honour (class, guidance).
void run_generation(Model& m, torch::Device device, const GenerateRequest& r, const Emit& emit);

std::string base64(const std::string& bytes);

}  // namespace edm::serve
