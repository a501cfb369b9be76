// A picture of what a model generates: one row per class for a conditional
// model (so classes can be told apart at a glance), a square grid otherwise.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "edm/core/denoiser.h"
#include "edm/sampling/generate.h"

namespace edm {

// uint8 [rows*H, cols*W, C] grid. Conditional: label_dim rows of `per_row`
// images, row c of class c with seeds first_seed + c*per_row + j.
// Unconditional: per_row x per_row images from seeds first_seed.. .
torch::Tensor sample_grid(Denoiser& net, int64_t per_row, uint64_t first_seed, GenerateOptions options = {});

// The grid of seeds 0.. with EDM's sampler and options `o`, upscaled so that
// small images can be seen, each row labelled with its class name when given.
void write_sample_grid(Denoiser& net, const std::vector<std::string>& class_names, int64_t per_row,
                       const SamplerOptions& o, const std::string& png_path);

// A uint8 [H,W,C] grid of `rows` rows as a PNG, upscaled when small, each row
// labelled with its name when names are given.
void write_grid_picture(torch::Tensor grid, int64_t rows, const std::vector<std::string>& row_names,
                        const std::string& png_path);

}  // namespace edm
