// Classifier guidance (Dhariwal & Nichol 2021) on the denoiser:
//   D'(x; sigma, y) = D(x; sigma) + s sigma^2 grad_x log p(y | x; sigma),
// since D = x + sigma^2 grad_x log p(x; sigma) and the class-conditional score
// adds grad_x log p(y | x; sigma). A wrapping denoiser, so every sampler runs
// guided; the inner denoiser may itself be classifier-free guided.
#pragma once
#include <memory>

#include "edm/core/noisy_classifier.h"
#include "edm/sampling/guiding_denoiser.h"

namespace edm {

class ClassifierGuidedDenoiser : public GuidingDenoiser {
 public:
  // Throws edm::UsageError when the classifier's classes or sample shape do
  // not fit the denoiser, or for a negative or non-finite scale.
  ClassifierGuidedDenoiser(std::shared_ptr<Denoiser> net, std::shared_ptr<NoisyClassifier> classifier, double scale);

  // The classes come from the classifier when the denoiser has none.
  int64_t label_dim() const override { return classifier_->num_classes(); }

 protected:
  // The inner denoiser sees the labels only if it is conditional.
  torch::Tensor inner_labels(const torch::Tensor& class_labels) const override {
    return inner_->label_dim() > 0 ? class_labels : torch::Tensor();
  }
  // Without class labels, or at scale 0, D itself.
  torch::Tensor guide(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& class_labels,
                      const torch::Tensor& augment_labels, const torch::Tensor& D) override;

 private:
  std::shared_ptr<NoisyClassifier> classifier_;
  double scale_;
};

// grad_x log p(y | x; sigma) in x's dtype, by autograd (x float32 or float64).
torch::Tensor classifier_log_prob_grad(NoisyClassifier& classifier, const torch::Tensor& x, const torch::Tensor& sigma,
                                       const torch::Tensor& y);

}  // namespace edm
