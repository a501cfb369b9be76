// A classifier model (PrecondImpl with "num_classes") on the sampling side:
// eval mode, its own parameters frozen, gradients flowing to x only.
#include "edm/core/error.h"
#include "edm/nn/precond.h"

namespace edm::networks {

namespace {

class PrecondClassifier : public NoisyClassifier {
 public:
  PrecondClassifier(std::shared_ptr<PrecondImpl> net, torch::Device device) : net_(std::move(net)), device_(device) {
    net_->eval();
    for (auto& p : net_->parameters()) p.set_requires_grad(false);
  }

  torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& y) override {
    auto logits = net_->logits(x.to(device_), sigma.to(device_));
    return (torch::log_softmax(logits, 1) * y.to(device_, logits.scalar_type())).sum(1);
  }
  int64_t num_classes() const override { return net_->num_classes(); }
  std::vector<int64_t> sample_shape() const override { return net_->sample_shape(); }
  torch::Device device() const override { return device_; }

 private:
  std::shared_ptr<PrecondImpl> net_;
  torch::Device device_;
};

}  // namespace

std::shared_ptr<NoisyClassifier> as_classifier(std::shared_ptr<PrecondImpl> net, torch::Device device) {
  if (!net->is_classifier()) throw Error("the model is a denoiser, not a noise-aware classifier");
  return std::make_shared<PrecondClassifier>(std::move(net), device);
}

}  // namespace edm::networks
