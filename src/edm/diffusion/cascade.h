// Cascaded diffusion (Ho et al. 2022, "Cascaded Diffusion Models"): a
// super-resolution model denoises an image at resolution R given a
// low-resolution image at r, upsampled to R and concatenated to its input.
// Conditioning augmentation adds Gaussian noise of a random level sigma_aug
// to that input during training and tells the network the level, so that
// the model learns to mend the flaws of a base model's samples rather than
// trusting them; sampling picks one level.
#pragma once
#include <torch/torch.h>

namespace edm::cascade {

// Images [N,C,H,W] to [N,C,r,r] by the mean of each (H/r x H/r) block; H
// must be a multiple of r (throws edm::UsageError otherwise).
torch::Tensor downsample(const torch::Tensor& images, int64_t r);
// [N,C,r,r] to [N,C,R,R], bilinear (half-pixel centres).
torch::Tensor upsample(const torch::Tensor& low, int64_t R);
// The network's extra input: upsample(low, R) + sigma_aug n, with
// sigma_aug [N] and n standard normal like the upsampled image.
torch::Tensor condition(const torch::Tensor& low, int64_t R, const torch::Tensor& sigma_aug, const torch::Tensor& n);
// The level as the network's augment label, [N,1].
torch::Tensor augment_label(const torch::Tensor& sigma_aug);

}  // namespace edm::cascade
