// A preconditioned network on the sampling side: eval mode, float32 in and
// out (the sampler widens to float64), autograd only for an x that requires
// it (the likelihood's divergence).
#include "edm/core/error.h"
#include "edm/core/forwarding_denoiser.h"
#include "edm/nn/precond.h"

namespace edm::networks {

namespace {

class PrecondDenoiser : public ForwardingDenoiser<PrecondImpl> {
 public:
  PrecondDenoiser(std::shared_ptr<PrecondImpl> net, torch::Device device)
      : ForwardingDenoiser(std::move(net)), device_(device) {
    inner_->eval();
  }

  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& class_labels,
                        const torch::Tensor& augment_labels) override {
    torch::AutoGradMode grad_mode(torch::GradMode::is_enabled() && x.requires_grad());
    auto on = [&](const torch::Tensor& t) { return t.defined() ? t.to(device_, torch::kFloat32) : t; };
    return inner_->forward(on(x), on(sigma), on(class_labels), on(augment_labels));
  }
  std::pair<torch::Tensor, torch::Tensor> denoise_with_variance(const torch::Tensor& x, const torch::Tensor& sigma,
                                                                const torch::Tensor& class_labels) override {
    torch::NoGradGuard no_grad;
    auto on = [&](const torch::Tensor& t) { return t.defined() ? t.to(device_, torch::kFloat32) : t; };
    return inner_->forward_with_variance(on(x), on(sigma), on(class_labels));
  }
  torch::Device device() const override { return device_; }
  torch::ScalarType compute_dtype() const override { return inner_->compute_dtype(device_); }

 private:
  torch::Device device_;
};

}  // namespace

std::shared_ptr<Denoiser> as_denoiser(std::shared_ptr<PrecondImpl> net, torch::Device device) {
  if (net->is_classifier())
    throw Error("the model is a noise-aware classifier, not a denoiser (it guides one with --classifier)");
  return std::make_shared<PrecondDenoiser>(std::move(net), device);
}

}  // namespace edm::networks
