// --clip-denoised: D clamped to [-1, 1] at every evaluation of every sampler.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "edm/sampling/clipped_denoiser.h"
#include "edm/sampling/ideal_denoiser.h"
#include "edm/sampling/options_json.h"
#include "edm/sampling/samplers.h"

using namespace edm;

namespace {

// The ideal denoiser of one point: D = that point whatever x and sigma.
std::shared_ptr<IdealDenoiser> one_point(double value) {
  return std::make_shared<IdealDenoiser>(torch::full({1, 1, 2, 2}, value, torch::kFloat64), torch::Tensor(), 0.0);
}

torch::Tensor no_noise(const torch::Tensor& x) { return torch::zeros_like(x); }

}  // namespace

TEST(ClippedDenoiser, ClampsDToTheDataRangeAndKeepsTheRest) {
  ClippedDenoiser clipped(one_point(3.0));
  auto x = torch::randn({2, 1, 2, 2}, torch::kFloat64);
  auto sigma = torch::full({2}, 5.0, torch::kFloat64);
  EXPECT_TRUE(torch::equal(clipped.denoise(x, sigma), torch::ones_like(x)));
  ClippedDenoiser low(one_point(-7.0)), inside(one_point(0.25));
  EXPECT_TRUE(torch::equal(low.denoise(x, sigma), -torch::ones_like(x)));
  EXPECT_TRUE(torch::allclose(inside.denoise(x, sigma), torch::full_like(x, 0.25)));
  auto [D, v] = clipped.denoise_with_variance(x, sigma);
  EXPECT_TRUE(torch::equal(D, torch::ones_like(x)));
  EXPECT_FALSE(v.defined());  // the ideal denoiser has no learned variance, and none is made up
  EXPECT_EQ(clipped.sample_shape(), (std::vector<int64_t>{1, 2, 2}));
}

// Every sampler's last step returns D at its last level, so a denoiser whose D
// is 3 gives 3 unclipped and exactly 1 clipped.
TEST(ClippedDenoiser, EverySamplerUsesItUnderTheOption) {
  auto net = one_point(3.0);
  auto latents = torch::randn({3, 1, 2, 2}, torch::kFloat64);
  for (const char* name : {"edm", "dpmpp2m", "ipndm", "ddpm"}) {
    SamplerOptions o;
    o.num_steps = 6;
    auto plain = run_sampler(name, *net, latents, {}, no_noise, o);
    EXPECT_NEAR(plain.mean().item<double>(), 3.0, 1e-6) << name;
    o.clip_denoised = true;
    auto clipped = run_sampler(name, *net, latents, {}, no_noise, o);
    EXPECT_NEAR(clipped.min().item<double>(), 1.0, 1e-9) << name;
    EXPECT_NEAR(clipped.max().item<double>(), 1.0, 1e-9) << name;
  }
}

TEST(ClippedDenoiser, TheOptionIsRecordedAndReadBack) {
  SamplerOptions o;
  o.clip_denoised = true;
  auto j = sampler_options_to_json(o);
  EXPECT_EQ(j.at("clip-denoised"), true);
  SamplerOptions back;
  sampler_options_from_json(j, back);
  EXPECT_TRUE(back.clip_denoised);
  j.erase("clip-denoised");  // a record written before the option: off
  SamplerOptions old;
  sampler_options_from_json(j, old);
  EXPECT_FALSE(old.clip_denoised);
  j["clip-denoised"] = "yes";
  EXPECT_THROW(sampler_options_from_json(j, back), std::exception);
}
