// Classifier guidance: the noise-aware classifier, its gradient, the guided
// denoiser on a mixture where the guided answer is known, and the commands.
#include <gtest/gtest.h>

#include <filesystem>

#include "edm/core/error.h"
#include "edm/io/atomic_file.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"
#include "edm/nn/precond.h"
#include "edm/nn/presets.h"
#include "edm/sampling/classifier_guidance.h"
#include "edm/sampling/ideal_denoiser.h"
#include "edm/sampling/sampler.h"
#include "testing.h"

namespace edm {
namespace {

using networks::make_precond;

// A small classifier: fmnist-s's encoder at 8 channels, 3 classes, 8x8.
std::shared_ptr<networks::PrecondImpl> small_classifier() {
  networks::PresetOverrides o;
  o.cbase = 8;
  auto config = networks::classifier_config(networks::preset_config("fmnist-s", "edm", 8, 1, 0, 0, o), 3, "fmnist-s");
  torch::manual_seed(3);
  return make_precond(config);
}

TEST(ClassifierGuidance, ClassifierGivesLogitsAndRefusesToDenoise) {
  auto net = small_classifier();
  EXPECT_TRUE(net->is_classifier());
  EXPECT_EQ(net->num_classes(), 3);
  auto logits = net->logits(torch::randn({4, 1, 8, 8}), torch::full({4}, 1.5));
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{4, 3}));
  EXPECT_THROW(net->forward(torch::randn({4, 1, 8, 8}), torch::full({4}, 1.5)), Error);
  EXPECT_THROW(networks::as_denoiser(net, torch::kCPU), Error);
}

// log p(y | x; sigma) summed over rows, in float64.
double log_prob(NoisyClassifier& c, const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  return c.log_prob(x, sigma, y).sum().item<double>();
}

TEST(ClassifierGuidance, GradientMatchesFiniteDifferences) {
  auto net = small_classifier();
  net->to(torch::kFloat64);
  auto classifier = networks::as_classifier(net, torch::kCPU);
  torch::manual_seed(0);
  auto x = torch::randn({2, 1, 8, 8}, torch::kFloat64);
  auto sigma = torch::tensor({0.3, 2.0}, torch::kFloat64);
  auto y = torch::one_hot(torch::tensor({0, 2}), 3).to(torch::kFloat64);
  auto g = classifier_log_prob_grad(*classifier, x, sigma, y);
  ASSERT_EQ(g.scalar_type(), torch::kFloat64);
  EXPECT_GT(g.abs().max().item<double>(), 1e-4) << "a gradient of zero would pass trivially";
  const double h = 1e-5;
  for (int k = 0; k < 4; ++k) {
    auto v = torch::randn_like(x);
    const double fd =
        (log_prob(*classifier, x + h * v, sigma, y) - log_prob(*classifier, x - h * v, sigma, y)) / (2 * h);
    const double exact = (g * v).sum().item<double>();
    EXPECT_NEAR(fd, exact, 1e-6 * std::max(1.0, std::abs(exact))) << "direction " << k;
  }
}

// Two point masses at -m and +m (classes 0 and 1) in one pixel: the exact
// p(y | x; sigma) is a softmax of -|x - m_y|^2 / (2 sigma^2).
class TwoPointClassifier : public NoisyClassifier {
 public:
  explicit TwoPointClassifier(double m) : m_(m) {}
  torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& y) override {
    auto s2 = sigma.reshape({-1}).expand({x.size(0)}).to(x.scalar_type()).pow(2);
    auto d0 = (x + m_).pow(2).flatten(1).sum(1), d1 = (x - m_).pow(2).flatten(1).sum(1);
    auto logits = torch::stack({-d0 / (2 * s2), -d1 / (2 * s2)}, 1);
    return (torch::log_softmax(logits, 1) * y.to(x.scalar_type())).sum(1);
  }
  int64_t num_classes() const override { return 2; }
  std::vector<int64_t> sample_shape() const override { return {1, 1, 1}; }

 private:
  double m_;
};

std::shared_ptr<Denoiser> two_points(double m) {
  return std::make_shared<IdealDenoiser>(torch::tensor({-m, m}, torch::kFloat64).reshape({2, 1, 1, 1}), torch::Tensor(),
                                         0.0);
}

TEST(ClassifierGuidance, ScaleOneTurnsTheUnconditionalDenoiserIntoTheConditionalOne) {
  // D(x) + sigma^2 grad log p(y|x) = E[x0 | x, y], which is m_y for point masses.
  const double m = 1.5;
  ClassifierGuidedDenoiser guided(two_points(m), std::make_shared<TwoPointClassifier>(m), 1.0);
  EXPECT_EQ(guided.label_dim(), 2);
  auto x = torch::linspace(-4, 4, 9, torch::kFloat64).reshape({9, 1, 1, 1});
  for (double sigma : {0.2, 1.0, 5.0}) {
    auto s = torch::full({9}, sigma, torch::kFloat64);
    for (int64_t cls : {0, 1}) {
      auto y = torch::one_hot(torch::full({9}, cls, torch::kLong), 2).to(torch::kFloat32);
      auto D = guided.denoise(x, s, y);
      EXPECT_LT((D - (cls ? m : -m)).abs().max().item<double>(), 1e-4 * m) << "sigma " << sigma << " class " << cls;
    }
    auto plain = guided.denoise(x, s);  // no labels: the unconditional denoiser
    EXPECT_LT((plain - two_points(m)->denoise(x, s)).abs().max().item<double>(), 1e-12);
  }
}

// The fraction of samples that land at +m when class 1 is asked for.
double fraction_at_plus(double scale, int64_t n) {
  const double m = 1.0;
  ClassifierGuidedDenoiser guided(two_points(m), std::make_shared<TwoPointClassifier>(m), scale);
  SamplerOptions o;
  o.num_steps = 32;
  torch::manual_seed(11);
  auto latents = torch::randn({n, 1, 1, 1}, torch::kFloat64);
  auto y = torch::one_hot(torch::ones({n}, torch::kLong), 2).to(torch::kFloat32);
  auto x = edm_sampler(
      guided, latents, y, [](const torch::Tensor& t) { return torch::randn_like(t); }, o);
  return (x.flatten() > 0).to(torch::kFloat64).mean().item<double>();
}

TEST(ClassifierGuidance, SamplesSplitBetweenTheModesAsTheScaleSays) {
  // Scale 0: the unconditional split, 1/2 each. Scale s: p(x) p(y|x)^s, and at
  // s >= 1 the wrong point mass has weight zero, so every sample is class 1.
  const int64_t n = 2000;
  const double half = fraction_at_plus(0.0, n);
  EXPECT_NEAR(half, 0.5, 4 * std::sqrt(0.25 / n));  // 4 binomial standard errors
  EXPECT_GE(fraction_at_plus(1.0, n), 0.999);
  EXPECT_GE(fraction_at_plus(3.0, n), 0.999);
}

TEST(ClassifierGuidance, MismatchedClassifierOrScaleIsAUsageError) {
  auto classifier = std::make_shared<TwoPointClassifier>(1.0);
  EXPECT_THROW(ClassifierGuidedDenoiser(two_points(1.0), classifier, -1.0), UsageError);
  EXPECT_THROW(ClassifierGuidedDenoiser(two_points(1.0), classifier, std::nan("")), UsageError);
  auto wide = std::make_shared<IdealDenoiser>(torch::zeros({2, 1, 2, 2}, torch::kFloat64), torch::Tensor(), 0.0);
  EXPECT_THROW(ClassifierGuidedDenoiser(wide, classifier, 1.0), UsageError);
  auto three_classes =
      std::make_shared<IdealDenoiser>(torch::zeros({3, 1, 1, 1}, torch::kFloat64), torch::tensor({0, 1, 2}), 0.0, 3);
  EXPECT_THROW(ClassifierGuidedDenoiser(three_classes, classifier, 1.0), UsageError);
}

namespace fs = std::filesystem;

TEST(ClassifierGuidanceCli, TrainedClassifierGuidesGenerateAndFromPngRemakesIt) {
  test::TempDir dir;
  const std::string common = " --cbase 8 --batch 8 --duration 0.000032 --device cpu -q --seed 1";
  auto r = test::run_edm("train --classifier --outdir " + (dir / "clf") + common);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("classifier"), std::string::npos) << r.output;
  const auto trained = test::last_file(dir / "clf", "network-snapshot");
  ASSERT_FALSE(trained.empty());
  EXPECT_FALSE(fs::exists(fs::path(trained).parent_path() / "samples.png")) << "a classifier makes no grid";
  // Beside the images under their own names, where --from-png looks for them.
  fs::create_directories(dir / "a");
  const std::string classifier = dir / "a/clf.safetensors", net = dir / "a/net.safetensors";
  fs::copy_file(trained, classifier);
  r = test::run_edm("train --cond 0 --outdir " + (dir / "net") + common + " --grid 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  fs::copy_file(test::last_file(dir / "net", "network-snapshot"), net);

  const std::string gen =
      "generate --net " + net + " --seeds 0-1 --steps 4 --class 3 --device cpu --classifier " + classifier;
  r = test::run_edm(gen + " --classifier-scale 4 --outdir " + (dir / "a") + " --raw " + (dir / "a.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_edm(gen + " --classifier-scale 0 --raw " + (dir / "b.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto a = TensorFile(dir / "a.safetensors").get("images"), b = TensorFile(dir / "b.safetensors").get("images");
  EXPECT_GT((a - b).abs().max().item<double>(), 1e-3) << "the scale changes the samples";

  r = test::run_edm("generate --from-png " + (dir / "a/000001.png") + " --outdir " + (dir / "c"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_file(dir / "a/000001.png"), read_file(dir / "c/000001.png"));
}

TEST(ClassifierGuidanceCli, WrongFilesAndOptionsAreOneLineErrors) {
  test::TempDir dir;
  auto net = small_classifier();
  const std::string classifier = dir / "clf.safetensors";
  save_precond(classifier, *net);
  networks::PresetOverrides o;
  o.cbase = 8;
  const std::string denoiser = dir / "net.safetensors";
  save_precond(denoiser, *make_precond(networks::preset_config("fmnist-s", "edm", 8, 1, 0, 0, o)));
  struct Case {
    std::string args, message;
    int code;
  };
  const std::string gen = "generate --seeds 0 --steps 2 --raw " + (dir / "x.safetensors") + " --net ";
  for (const auto& c : {
           Case{gen + classifier, "is a noise-aware classifier, not a denoiser", 1},
           Case{gen + denoiser + " --classifier " + denoiser, "is a denoiser, not a noise-aware classifier", 1},
           Case{gen + denoiser + " --classifier-scale 2", "--classifier-scale needs --classifier", 2},
           Case{gen + denoiser + " --classifier " + classifier + " --classifier-scale -1", "must be a finite number",
                2},
           Case{gen + denoiser + " --classifier " + classifier + " --class 3", "3 classes", 2},
           Case{"train --classifier --cond 1 --dry-run --outdir " + (dir / "r"), "drop --cond", 2},
           Case{"train --classifier --arch ncsnpp --dry-run --outdir " + (dir / "r"), "DDPM++-family", 2},
       }) {
    auto r = test::run_edm(c.args);
    EXPECT_EQ(r.exit_code, c.code) << c.args << ": " << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << ": " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
  EXPECT_FALSE(fs::exists(dir / "x.safetensors"));
}

}  // namespace
}  // namespace edm
