#include "edm/sampling/classifier_guidance.h"

#include <cmath>

#include "edm/core/error.h"

namespace edm {

ClassifierGuidedDenoiser::ClassifierGuidedDenoiser(std::shared_ptr<Denoiser> net,
                                                   std::shared_ptr<NoisyClassifier> classifier, double scale)
    : GuidingDenoiser(std::move(net)), classifier_(std::move(classifier)), scale_(scale) {
  if (!(std::isfinite(scale) && scale >= 0)) throw UsageError("--classifier-scale must be a finite number >= 0");
  if (classifier_->sample_shape() != inner_->sample_shape())
    throw UsageError("the classifier's input shape does not match the model's samples");
  const int64_t classes = inner_->label_dim();
  if (classes > 0 && classes != classifier_->num_classes())
    throw UsageError("the classifier has " + std::to_string(classifier_->num_classes()) + " classes, the model " +
                     std::to_string(classes));
}

torch::Tensor classifier_log_prob_grad(NoisyClassifier& classifier, const torch::Tensor& x, const torch::Tensor& sigma,
                                       const torch::Tensor& y) {
  torch::AutoGradMode enable_grad(true);  // samplers run under NoGradGuard
  const auto dtype = x.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  auto x_in = x.detach().to(classifier.device(), dtype).requires_grad_(true);
  auto log_p = classifier.log_prob(x_in, sigma, y).sum();  // rows are independent
  return torch::autograd::grad({log_p}, {x_in})[0].to(x.device());
}

torch::Tensor ClassifierGuidedDenoiser::guide(const torch::Tensor& x, const torch::Tensor& sigma,
                                              const torch::Tensor& class_labels, const torch::Tensor&,
                                              const torch::Tensor& D_inner) {
  auto D = D_inner.to(torch::kFloat64);
  if (!class_labels.defined() || scale_ == 0) return D;
  // The sampler's float64 state goes to the classifier in float32, as to the network.
  auto grad = classifier_log_prob_grad(*classifier_, x.to(torch::kFloat32), sigma, class_labels).to(torch::kFloat64);
  std::vector<int64_t> broadcast(x.dim(), 1);
  broadcast[0] = -1;
  auto s = sigma.to(x.device(), torch::kFloat64).reshape({-1});
  if (s.numel() == 1) s = s.expand({x.size(0)});
  return D + scale_ * (s * s).reshape(broadcast) * grad;
}

}  // namespace edm
