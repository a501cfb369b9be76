// The probability-flow likelihood of a batch of images or raw tensors, with
// the random numbers it needs drawn per item, so that an item's value does
// not depend on the batch it is in: item i of a data set draws from its own
// generator seeded seed + i, first the dequantisation noise (8-bit images
// only), then the Hutchinson probes (unless exact).
#pragma once
#include "edm/likelihood/ode_likelihood.h"

namespace edm {

struct LikelihoodOptions {
  SamplerOptions levels;  // --steps --sigma_min --sigma_max --rho: the ODE's noise levels
  bool exact = false;     // exact divergence instead of Hutchinson's estimator
  int64_t probes = 1;     // Hutchinson probes per item, held fixed along its path
  ProbeKind probe = ProbeKind::Rademacher;
  uint64_t seed = 0;
};

// edm::UsageError for impossible options (the levels' rules, probes < 1).
void validate(const LikelihoodOptions& o);

// images [N, ...]: uint8 pixels (dequantised into [-1, 1)) or floating point
// values already in the model's [-1, 1] space; class_labels one-hot [N, L]
// or undefined; `first` the data set index of images[0]. Returns -log p per
// item in nats of the density in [-1, 1] space (see dequantize.h for bits).
torch::Tensor ode_nll_of_images(Denoiser& net, const torch::Tensor& images, const torch::Tensor& class_labels,
                                int64_t first, const LikelihoodOptions& o, const StepFn& on_step = {});

}  // namespace edm
