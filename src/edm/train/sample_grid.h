// The picture a training run ends with: one row of samples per class, the
// class name at the left of each row (a square grid when unconditional).
#pragma once
#include <string>
#include <vector>

#include "edm/core/denoiser.h"

namespace edm {

void write_sample_grid(Denoiser& net, const std::vector<std::string>& class_names, int64_t per_row, int64_t steps,
                       const std::string& png_path);

}  // namespace edm
