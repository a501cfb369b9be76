// Autoguidance and guidance intervals with ideal denoisers as net and guide:
// the formula, the interval, and how often the guide is evaluated.
#include <memory>

#include "edm/core/error.h"
#include "edm/core/rng.h"
#include "edm/sampling/autoguidance.h"
#include "edm/sampling/generate.h"
#include "edm/sampling/guidance.h"
#include "edm/sampling/ideal_denoiser.h"
#include "testing.h"

using namespace edm;

namespace {

// A denoiser that counts its evaluations and the noise levels it saw.
class Counting : public ForwardingDenoiser<Denoiser> {
 public:
  using ForwardingDenoiser::ForwardingDenoiser;
  torch::Tensor denoise(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& class_labels = {},
                        const torch::Tensor& augment_labels = {}) override {
    ++calls;
    sigmas.push_back(sigma.flatten()[0].item<double>());
    return inner_->denoise(x, sigma, class_labels, augment_labels);
  }
  int calls = 0;
  std::vector<double> sigmas;
};

std::shared_ptr<Denoiser> ideal(uint64_t seed, int64_t label_dim = 0) {
  torch::manual_seed(seed);
  auto points = torch::randn({16, 1, 4, 4}, torch::kFloat64);
  torch::Tensor labels;
  if (label_dim) labels = torch::arange(16, torch::kInt64) % label_dim;
  return std::make_shared<IdealDenoiser>(points, labels, 0.0, label_dim);
}

struct Pair {
  std::shared_ptr<Counting> net = std::make_shared<Counting>(ideal(1));
  std::shared_ptr<Counting> guide = std::make_shared<Counting>(ideal(2));
};

torch::Tensor input() { return torch::randn({3, 1, 4, 4}, torch::kFloat64) * 2; }

}  // namespace

TEST(Autoguidance, ExtrapolatesFromTheGuideTowardsTheNet) {
  Pair p;
  const double w = 2.5;
  AutoguidedDenoiser ag(p.net, p.guide, w);
  auto x = input();
  auto sigma = torch::tensor({0.3, 1.0, 4.0}, torch::kFloat64);
  auto out = ag.denoise(x, sigma);
  auto d = p.net->denoise(x, sigma), d_g = p.guide->denoise(x, sigma);
  EXPECT_LT(test::max_abs_diff(out, d_g + w * (d - d_g)), 1e-14);
  EXPECT_GT(test::max_abs_diff(out, d), 1e-2);  // the guide matters
  EXPECT_EQ(p.guide->calls, 2);
}

TEST(Autoguidance, WeightOneNeverEvaluatesTheGuide) {
  Pair p;
  AutoguidedDenoiser ag(p.net, p.guide, 1.0);
  auto x = input();
  auto sigma = torch::tensor(0.7, torch::kFloat64);
  EXPECT_TRUE(torch::equal(ag.denoise(x, sigma), p.net->denoise(x, sigma)));
  EXPECT_EQ(p.guide->calls, 0);
}

TEST(Autoguidance, GuidesOnlyInsideTheInterval) {
  Pair p;
  const double w = 3;
  AutoguidedDenoiser ag(p.net, p.guide, w, GuidanceInterval{0.5, 2.0});
  auto x = input();
  // A scalar sigma outside: D alone, no guide; at sigma_hi (included): guided.
  for (double s : {0.5, 0.2, 2.5}) {
    auto sigma = torch::tensor(s, torch::kFloat64);
    EXPECT_TRUE(torch::equal(ag.denoise(x, sigma), p.net->denoise(x, sigma))) << s;
  }
  EXPECT_EQ(p.guide->calls, 0);
  auto hi = torch::tensor(2.0, torch::kFloat64);
  auto d = p.net->denoise(x, hi), d_g = p.guide->denoise(x, hi);
  EXPECT_LT(test::max_abs_diff(ag.denoise(x, hi), d_g + w * (d - d_g)), 1e-14);
  // One sigma per row: each row on its own side.
  auto rows = torch::tensor({0.1, 1.0, 3.0}, torch::kFloat64);
  auto out = ag.denoise(x, rows);
  d = p.net->denoise(x, rows), d_g = p.guide->denoise(x, rows);
  auto guided = d_g + w * (d - d_g);
  EXPECT_TRUE(torch::equal(out[0], d[0]));
  EXPECT_LT(test::max_abs_diff(out[1], guided[1]), 1e-14);
  EXPECT_TRUE(torch::equal(out[2], d[2]));
}

TEST(Autoguidance, GuideIsEvaluatedAtTheNetsStepsInsideTheInterval) {
  // A whole Heun run: the guide sees exactly the evaluations of the net whose
  // sigma lies in (sigma_lo, sigma_hi], and all of them without an interval.
  for (bool with_interval : {false, true}) {
    Pair p;
    std::optional<GuidanceInterval> iv;
    if (with_interval) iv = GuidanceInterval{0.3, 5.0};
    auto ag = std::make_shared<AutoguidedDenoiser>(p.net, p.guide, 2.0, iv);
    GenerateOptions o;
    o.sampler_options.num_steps = 8;
    auto images = generate_batch(*ag, {0, 1}, o);
    EXPECT_TRUE(torch::isfinite(images).all().item<bool>());
    EXPECT_EQ(p.net->calls, 15);  // 8 Euler + 7 Heun corrections
    int inside = 0;
    for (double s : p.net->sigmas) inside += !iv || (s > iv->sigma_lo && s <= iv->sigma_hi);
    EXPECT_EQ(p.guide->calls, inside);
    EXPECT_EQ(p.guide->sigmas.size(), static_cast<size_t>(inside));
    if (with_interval) {
      EXPECT_GT(inside, 0);
      EXPECT_LT(inside, 15);
    }
  }
}

TEST(Autoguidance, GuideMustModelTheSameData) {
  Pair p;
  torch::manual_seed(3);
  auto other_shape = std::make_shared<IdealDenoiser>(torch::randn({4, 1, 8, 8}, torch::kFloat64), torch::Tensor(), 0.0);
  EXPECT_THROW(AutoguidedDenoiser(p.net, other_shape, 2.0), UsageError);
  EXPECT_THROW(AutoguidedDenoiser(p.net, ideal(4, 10), 2.0), UsageError);
  EXPECT_THROW(AutoguidedDenoiser(p.net, p.guide, 2.0, GuidanceInterval{2.0, 1.0}), UsageError);
  EXPECT_THROW(AutoguidedDenoiser(p.net, p.guide, std::nan("")), UsageError);
}

TEST(Autoguidance, ClassifierFreeGuidanceTakesTheIntervalToo) {
  auto net = std::make_shared<Counting>(ideal(5, 4));
  const double w = 2;
  GuidedDenoiser cfg(net, w, GuidanceInterval{0.5, 2.0});
  auto x = input();
  auto labels = torch::one_hot(torch::tensor({0, 1, 2}), 4).to(torch::kFloat64);
  auto outside = torch::tensor(3.0, torch::kFloat64), inside = torch::tensor(1.0, torch::kFloat64);
  EXPECT_TRUE(torch::equal(cfg.denoise(x, outside, labels), net->denoise(x, outside, labels)));
  auto cond = net->denoise(x, inside, labels), uncond = net->denoise(x, inside);
  EXPECT_LT(test::max_abs_diff(cfg.denoise(x, inside, labels), uncond + w * (cond - uncond)), 1e-14);
  EXPECT_GT(test::max_abs_diff(cond, uncond), 1e-3);
}
