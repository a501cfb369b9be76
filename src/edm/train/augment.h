// The reference's geometric augmentation pipeline (Karras et al. 2020, as
// configured by the EDM training recipe): x-flip, y-flip, optional integer
// translation, isotropic scaling, rotation, anisotropic scaling and fractional
// translation, each applied with probability p times its multiplier. Returns
// the augment labels that condition the network so that augmentations do not
// leak into generated images (labels are zero at sampling).
#pragma once
#include <torch/torch.h>

namespace edm {

struct AugmentConfig {
  double p = 0;  // overall probability
  // Multipliers (train.py: xflip 1e8, yflip, scale, rotate_frac, aniso, translate_frac 1).
  double xflip = 1e8, yflip = 1, translate_int = 0, scale = 1, rotate_frac = 1, aniso = 1, translate_frac = 1;
  double translate_int_max = 0.125, scale_std = 0.2, rotate_frac_max = 1, aniso_std = 0.2, aniso_rotate_prob = 0.5,
         translate_frac_std = 0.125;

  // Labels: xflip, yflip (1 each), translate_int (2, when enabled), scale (1),
  // rotate (2: cos - 1, sin), aniso (2), translate_frac (2): 9 by default.
  int64_t label_dim() const;
};

struct Augmented {
  torch::Tensor images;          // [N,C,H,W]
  torch::Tensor augment_labels;  // [N, label_dim] float32
};

// Random draws come from the default generator (so a training state restores them).
Augmented augment(const torch::Tensor& images, const AugmentConfig& c);

}  // namespace edm
