// The ideal denoiser of a finite data set: the exact posterior mean.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>

#include "edm/core/denoiser.h"
#include "edm/io/safetensors.h"

namespace edm {

// {"precond": "ideal", "std": s} with tensors `points` [K,C,H,W] and optional `labels` [K].
std::shared_ptr<Denoiser> load_ideal_denoiser(const TensorFile& file, const nlohmann::json& config,
                                              torch::Device device);

}  // namespace edm
