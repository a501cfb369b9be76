// A preconditioned network on the sampling side: eval mode, no autograd,
// float32 in and out (the sampler widens to float64).
#include "edm/core/error.h"
#include "edm/nn/precond.h"

namespace edm::nn {

namespace {

class PrecondDenoiser : public Denoiser {
 public:
  PrecondDenoiser(std::shared_ptr<PrecondImpl> net, torch::Device device) : net_(std::move(net)), device_(device) {
    net_->eval();
  }

  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& class_labels,
                        const torch::Tensor& augment_labels) override {
    torch::NoGradGuard no_grad;
    auto on = [&](const torch::Tensor& t) { return t.defined() ? t.to(device_, torch::kFloat32) : t; };
    return net_->forward(on(x), on(sigma), on(class_labels), on(augment_labels));
  }
  double sigma_min() const override { return net_->sigma_min(); }
  double sigma_max() const override { return net_->sigma_max(); }
  torch::Tensor round_sigma(const torch::Tensor& sigma) const override { return net_->round_sigma(sigma); }
  int64_t img_channels() const override { return net_->img_channels(); }
  int64_t img_resolution() const override { return net_->img_resolution(); }
  std::vector<int64_t> sample_shape() const override { return net_->sample_shape(); }
  int64_t label_dim() const override { return net_->label_dim(); }
  torch::Device device() const override { return device_; }

 private:
  std::shared_ptr<PrecondImpl> net_;
  torch::Device device_;
};

}  // namespace

std::shared_ptr<Denoiser> as_denoiser(std::shared_ptr<PrecondImpl> net, torch::Device device) {
  return std::make_shared<PrecondDenoiser>(std::move(net), device);
}

std::shared_ptr<Denoiser> load_denoiser(const TensorFile& file, const nlohmann::json& config, torch::Device device) {
  return as_denoiser(load_precond(file, config, device), device);
}

}  // namespace edm::nn
