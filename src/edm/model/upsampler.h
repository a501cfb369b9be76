// The second stage of cascaded diffusion on the sampling side: an upsampler
// model file (edm train --cascade-from) as a denoiser of high-resolution
// images conditioned on low-resolution ones (diffusion/cascade.h).
#pragma once
#include <memory>
#include <string>

#include "edm/core/denoiser.h"
#include "edm/nn/precond.h"
#include "edm/sampling/generate.h"

namespace edm {

class Upsampler {
 public:
  Upsampler(std::shared_ptr<networks::PrecondImpl> net, torch::Device device);
  int64_t low_resolution() const { return net_->low_resolution(); }
  int64_t resolution() const { return net_->img_resolution(); }
  int64_t img_channels() const { return net_->img_channels(); }
  double cond_aug_max() const { return net_->cond_aug_max(); }
  // The denoiser of the images that enlarge `low` [N,C,r,r] (in [-1, 1]),
  // conditioned at augmentation level sigma_aug with noise `n` [N,C,R,R].
  std::shared_ptr<Denoiser> conditioned_on(const torch::Tensor& low, double sigma_aug, const torch::Tensor& n);

 private:
  std::shared_ptr<networks::PrecondImpl> net_;
  std::shared_ptr<Denoiser> denoiser_;
};

// The upsampler's images of one batch of seeds, conditioned on `low` (the
// base model's images of those seeds, [N,C,r,r] in [-1, 1]) at level
// sigma_aug: its initial noise and sampler noise come from the seeds as any
// model's do, the augmentation noise from seed + kCondAugSeedOffset (mod 2^32),
// so that it is not the noise the sampler starts from.
constexpr uint64_t kCondAugSeedOffset = 0x9E3779B9;
torch::Tensor upsample_batch(Upsampler& up, const torch::Tensor& low, const std::vector<uint64_t>& seeds,
                             const GenerateOptions& o, double sigma_aug, const StepFn& on_step = {});

// An upsampler model file on `device`, the network in `precision`. Throws
// edm::Error naming the file when it is not an upsampler.
std::shared_ptr<Upsampler> load_upsampler(const std::string& path, torch::Device device,
                                          networks::Precision precision = networks::Precision::FromModel);

// Throws edm::UsageError naming both files when the upsampler does not
// enlarge the base model's images (resolution or channels).
void check_upsampler_fits(const Upsampler& up, const std::vector<int64_t>& base_image_shape, const std::string& up_path,
                          const std::string& base_path);

}  // namespace edm
