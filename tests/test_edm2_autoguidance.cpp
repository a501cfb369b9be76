// The autoguided EDM sampler against NVlabs/edm2's generate_images.py
// (tests/reference/edm2/autoguidance.safetensors): an EDM2 network guided by
// a smaller one, with and without stochastic churn.
#include <cmath>
#include <nlohmann/json.hpp>

#include "edm/core/rng.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"
#include "edm/sampling/autoguidance.h"
#include "edm/sampling/generate.h"
#include "edm/sampling/samplers.h"
#include "testing.h"

using namespace edm;

namespace {

struct Case {
  std::string key;
  nlohmann::json spec;
};

std::vector<Case> cases(const TensorFile& f) {
  std::vector<Case> out;
  for (const auto& c : nlohmann::json::parse(f.metadata("cases", "[]"))) out.push_back({c["key"], c});
  return out;
}

double number(const nlohmann::json& v) { return v.is_string() ? std::stod(v.get<std::string>()) : v.get<double>(); }

SamplerOptions sampler_options(const nlohmann::json& c) {
  SamplerOptions o;
  o.num_steps = c["num_steps"];
  o.sigma_min = number(c["sigma_min"]);
  o.sigma_max = number(c["sigma_max"]);
  o.disc.rho = number(c["rho"]);
  o.S_churn = number(c["S_churn"]);
  o.S_min = number(c["S_min"]);
  o.S_max = number(c["S_max"]);  // "inf" parses to infinity
  o.S_noise = number(c["S_noise"]);
  return o;
}

// The reference draws churn noise only at the steps where it churns; edm's
// sampler asks at every step and multiplies by 0 elsewhere. Steps without
// churn get NaN-free zeros, churn steps the recorded noise in call order.
NoiseFn recorded_noise(const TensorFile& f, const std::string& key, const SamplerOptions& o, int64_t& step) {
  std::vector<int64_t> churn_steps;
  torch::Tensor noise;
  if (f.has(key + ".churn_noise")) {
    noise = f.get(key + ".churn_noise");
    auto idx = f.get(key + ".churn_step_index").to(torch::kInt64);
    for (int64_t i = 0; i < idx.numel(); ++i) churn_steps.push_back(idx[i].item<int64_t>());
  }
  return [noise, churn_steps, &step](const torch::Tensor& like) {
    const int64_t i = step++;
    for (size_t k = 0; k < churn_steps.size(); ++k)
      if (churn_steps[k] == i) return noise[static_cast<int64_t>(k)].to(like.dtype());
    return torch::zeros_like(like);
  };
}

}  // namespace

TEST(EDM2Autoguidance, SamplerMatchesReference) {
  TensorFile f(test::reference("edm2/autoguidance.safetensors"));
  const auto all = cases(f);
  ASSERT_EQ(all.size(), 3u);
  for (const auto& [key, c] : all) {
    SCOPED_TRACE(key);
    auto net = load_denoiser(test::reference("edm2/" + c["net"].get<std::string>()), torch::kCPU);
    auto gnet = load_denoiser(test::reference("edm2/" + c["gnet"].get<std::string>()), torch::kCPU);
    // Latents and labels per seed as generate_images.py draws them, bit for bit.
    SeedBatch rnd(c["seeds"].get<std::vector<uint64_t>>());
    auto in = draw_seed_inputs(rnd, *net, GenerateOptions{}, torch::kCPU);
    EXPECT_TRUE(torch::equal(in.latents, f.get(key + ".latents")));
    EXPECT_TRUE(torch::equal(in.class_labels, f.get(key + ".labels")));

    const auto o = sampler_options(c);
    // The time steps: the reference computes them in float32, edm in
    // float64. The reference rounds the base sigma^(1/rho) + ... to float32
    // before raising it to rho, which multiplies that rounding by rho: they
    // agree to rho x 2 float32 roundings (t_N = 0 in both).
    auto t = torch::tensor(noise_levels(*net, o), torch::kFloat64);
    auto t_ref = f.get(key + ".t_steps").to(torch::kFloat64);
    const int64_t n = o.num_steps;
    EXPECT_EQ(t[n].item<double>(), 0.0);
    EXPECT_EQ(t_ref[n].item<double>(), 0.0);
    const double t_err =
        ((t.narrow(0, 0, n) - t_ref.narrow(0, 0, n)).abs() / t_ref.narrow(0, 0, n)).max().item<double>();
    EXPECT_LT(t_err, o.disc.rho * 2 * std::ldexp(1.0, -23));

    auto guided = std::make_shared<AutoguidedDenoiser>(net, gnet, number(c["guidance"]));
    int64_t step = 0;
    auto images = edm_sampler(*guided, in.latents, in.class_labels, recorded_noise(f, key, o, step), o);
    EXPECT_EQ(step, o.num_steps);
    const auto ref = f.get(key + ".images");
    const double err = test::rel_diff(images, ref);
    EXPECT_LT(err, 1e-5);
    std::cout << key << ": max |images - ref| / max |ref| = " << err << "\n";
  }
}

TEST(EDM2Autoguidance, GuidanceChangesTheImages) {
  // The fixture's guided and unguided runs differ, so the match above needs the guide.
  TensorFile f(test::reference("edm2/autoguidance.safetensors"));
  EXPECT_TRUE(torch::equal(f.get("g1.latents"), f.get("g2.latents")));
  EXPECT_GT(test::rel_diff(f.get("g2.images"), f.get("g1.images")), 1e-2);
}

TEST(EDM2Autoguidance, GenerateWithGuideNetMatchesReference) {
  // The same through the command line, without churn (edm generate draws
  // churn noise at every step, the reference only where it churns).
  TensorFile f(test::reference("edm2/autoguidance.safetensors"));
  test::TempDir dir;
  auto r = test::run_edm("generate --net " + test::reference("edm2/edm2_cond.model.safetensors") + " --guide-net " +
                         test::reference("edm2/ag_gnet.model.safetensors") +
                         " --guidance 2 --seeds 0-3 --steps 8 --device cpu --raw " + (dir / "raw.safetensors") +
                         " --outdir " + (dir / "png"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const double err = test::rel_diff(TensorFile(dir / "raw.safetensors").get("images"), f.get("g2.images"));
  EXPECT_LT(err, 1e-5);
}
