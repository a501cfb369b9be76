// Guidance moves D only: a guided DDPM model with a learned variance keeps
// the variance of its own (conditional) estimate, for classifier-free,
// classifier and autoguidance alike, and D is the guided one.
#include <memory>

#include "edm/sampling/autoguidance.h"
#include "edm/sampling/classifier_guidance.h"
#include "edm/sampling/guidance.h"
#include "testing.h"

using namespace edm;

namespace {

// D = c for labels, -c without; v = 0.25 with labels, 0.75 without.
class LearnedVariance : public Denoiser {
 public:
  explicit LearnedVariance(double c, int64_t label_dim = 2) : c_(c), label_dim_(label_dim) {}
  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor&, const torch::Tensor& class_labels = {},
                        const torch::Tensor& = {}) override {
    return torch::full_like(x, class_labels.defined() ? c_ : -c_);
  }
  std::pair<torch::Tensor, torch::Tensor> denoise_with_variance(const torch::Tensor& x, const torch::Tensor& sigma,
                                                                const torch::Tensor& class_labels = {}) override {
    return {denoise(x, sigma, class_labels), torch::full_like(x, class_labels.defined() ? 0.25 : 0.75)};
  }
  int64_t img_channels() const override { return 1; }
  int64_t img_resolution() const override { return 2; }
  int64_t label_dim() const override { return label_dim_; }

 private:
  double c_;
  int64_t label_dim_;
};

// log p(y | x) = y . (x summed, its negative): the gradient is +-1 everywhere.
class SignClassifier : public NoisyClassifier {
 public:
  torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor&, const torch::Tensor& y) override {
    auto s = x.flatten(1).sum(1);
    return y.select(1, 0).to(x.dtype()) * s - y.select(1, 1).to(x.dtype()) * s;
  }
  int64_t num_classes() const override { return 2; }
  std::vector<int64_t> sample_shape() const override { return {1, 2, 2}; }
};

const torch::Tensor x = torch::zeros({2, 1, 2, 2}, torch::kFloat64);
const torch::Tensor sigma = torch::full({2}, 0.5, torch::kFloat64);
const torch::Tensor first_class = torch::tensor({{1.0, 0.0}, {1.0, 0.0}}, torch::kFloat64);

void expect_guided(Denoiser& guided, double D, double v) {
  auto [D_v, v_v] = guided.denoise_with_variance(x, sigma, first_class);
  ASSERT_TRUE(v_v.defined());
  EXPECT_TRUE(torch::allclose(D_v, torch::full_like(x, D), 1e-12, 0)) << D_v;
  EXPECT_TRUE(torch::allclose(D_v, guided.denoise(x, sigma, first_class), 1e-12, 0));
  EXPECT_TRUE(torch::equal(v_v, torch::full_like(x, v)));
}

}  // namespace

TEST(GuidingDenoiser, ClassifierFreeGuidanceKeepsTheConditionalVariance) {
  GuidedDenoiser guided(std::make_shared<LearnedVariance>(1.0), 3.0);
  expect_guided(guided, -1 + 3.0 * (1 - -1), 0.25);
  // Without labels, the unconditional estimate and its variance.
  auto [D, v] = guided.denoise_with_variance(x, sigma);
  EXPECT_TRUE(torch::equal(v, torch::full_like(x, 0.75)));
  EXPECT_TRUE(torch::equal(D, torch::full_like(x, -1.0)));
}

TEST(GuidingDenoiser, ClassifierGuidanceKeepsTheVariance) {
  // An unconditional inner denoiser: the classifier brings the classes.
  ClassifierGuidedDenoiser guided(std::make_shared<LearnedVariance>(1.0, 0), std::make_shared<SignClassifier>(), 2.0);
  expect_guided(guided, -1 + 2.0 * 0.5 * 0.5, 0.75);
}

TEST(GuidingDenoiser, AutoguidanceKeepsTheMainModelsVariance) {
  AutoguidedDenoiser guided(std::make_shared<LearnedVariance>(1.0), std::make_shared<LearnedVariance>(0.5), 2.0);
  expect_guided(guided, 0.5 + 2.0 * (1 - 0.5), 0.25);
}
