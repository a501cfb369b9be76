#include "edm/sampling/autoguidance.h"

#include <cmath>

#include "edm/core/error.h"

namespace edm {

namespace {

std::string space_name(const std::string& space) { return space.empty() ? "pixels" : "latents of " + space; }

}  // namespace

AutoguidedDenoiser::AutoguidedDenoiser(std::shared_ptr<Denoiser> net, std::shared_ptr<Denoiser> guide, double w,
                                       std::optional<GuidanceInterval> interval)
    : GuidingDenoiser(std::move(net)), guide_(std::move(guide)), w_(w), interval_(interval) {
  if (std::isnan(w_)) throw UsageError("--guidance is NaN");
  if (guide_->sample_shape() != inner_->sample_shape())
    throw UsageError("--guide-net makes samples of shape " + c10::str(c10::IntArrayRef(guide_->sample_shape())) +
                     ", the net " + c10::str(c10::IntArrayRef(inner_->sample_shape())));
  if (guide_->sample_space() != inner_->sample_space())  // same shape, different latents
    throw UsageError("--guide-net samples in " + space_name(guide_->sample_space()) + ", the net in " +
                     space_name(inner_->sample_space()));
  if (guide_->label_dim() != inner_->label_dim())
    throw UsageError("--guide-net has " + std::to_string(guide_->label_dim()) + " classes, the net " +
                     std::to_string(inner_->label_dim()));
  if (interval_) check_guidance_interval(*interval_);
}

torch::Tensor AutoguidedDenoiser::guide(const torch::Tensor& x, const torch::Tensor& sigma,
                                        const torch::Tensor& class_labels, const torch::Tensor& augment_labels,
                                        const torch::Tensor& d) {
  if (w_ == 1) return d;  // D_g.lerp(D, 1) is D: the guide is never needed
  return guide_within(interval_, sigma, d, [&] {
    auto d_g = guide_->denoise(x, sigma, class_labels, augment_labels);
    const auto dtype = torch::promote_types(d.scalar_type(), d_g.scalar_type());
    return d_g.to(dtype).lerp(d.to(dtype), w_);
  });
}

}  // namespace edm
