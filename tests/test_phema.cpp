// Post-hoc EMA against NVlabs/edm2's phema.py and reconstruct_phema.py
// (tests/reference/edm2/phema.safetensors), and its rules.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "edm/core/error.h"
#include "edm/io/safetensors.h"
#include "edm/phema/power_function.h"
#include "edm/phema/power_function_ema.h"
#include "edm/phema/reconstruct.h"
#include "edm/phema/snapshots.h"
#include "testing.h"

using namespace edm;

namespace {

const TensorFile& fixture() {
  static const TensorFile f(test::reference("edm2/phema.safetensors"));
  return f;
}

std::vector<double> values(const std::string& name) {
  auto t = fixture().get(name).to(torch::kFloat64).contiguous();
  return {t.data_ptr<double>(), t.data_ptr<double>() + t.numel()};
}

torch::Tensor map_values(const std::vector<double>& in, double (*fn)(double)) {
  std::vector<double> out;
  for (double v : in) out.push_back(fn(v));
  return torch::tensor(out, torch::kFloat64);
}

const char* const kToyParams[] = {"weight", "bias", "gain"};

}  // namespace

TEST(PhemaReference, StdAndExponentConvertBothWays) {
  // std_to_exp: Newton against the reference's eigenvalue solver (np.roots).
  EXPECT_LT(test::rel_diff(map_values(values("conv.std"), std_to_exp), fixture().get("conv.std_to_exp")), 1e-13);
  EXPECT_LT(test::rel_diff(map_values(values("conv.exp"), exp_to_std), fixture().get("conv.exp_to_std")), 1e-15);
  auto roundtrip = map_values(values("conv.std"), [](double s) { return exp_to_std(std_to_exp(s)); });
  EXPECT_LT(test::rel_diff(roundtrip, fixture().get("conv.roundtrip")), 1e-14);
  EXPECT_LT(test::rel_diff(roundtrip, fixture().get("conv.std")), 1e-14);
}

TEST(PhemaReference, BetaCorrelationAndResponse) {
  const auto s = values("beta.std"), t = values("beta.t_next"), d = values("beta.t_delta");
  std::vector<double> beta;
  for (size_t i = 0; i < s.size(); ++i) beta.push_back(power_function_beta(s[i], t[i], d[i]));
  EXPECT_LT(test::rel_diff(torch::tensor(beta, torch::kFloat64), fixture().get("beta.value")), 1e-13);

  const auto ao = values("corr.a_ofs"), as = values("corr.a_std"), bo = values("corr.b_ofs"), bs = values("corr.b_std");
  std::vector<double> corr;
  for (size_t i = 0; i < ao.size(); ++i) corr.push_back(power_function_correlation(ao[i], as[i], bo[i], bs[i]));
  EXPECT_LT(test::rel_diff(torch::tensor(corr, torch::kFloat64), fixture().get("corr.value")), 1e-13);

  const auto len = std::stoll(fixture().metadata("resp_len", "0"));
  auto resp = power_function_response(values("resp.ofs"), values("resp.std"), len);
  EXPECT_LT(test::rel_diff(resp, fixture().get("resp.value")), 1e-13);
}

TEST(PhemaReference, KimgToNimgAsSnapshotNamesAreRead) {
  const auto in = values("kimg.nimg_in"), kimg = values("kimg.kimg"), out = values("kimg.nimg_out");
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(static_cast<int64_t>(in[i]) / 1000, static_cast<int64_t>(kimg[i]));
    EXPECT_EQ(kimg_to_nimg(static_cast<int64_t>(kimg[i])), static_cast<int64_t>(out[i]));
  }
}

TEST(PhemaReference, TrackingMatchesBitForBit) {
  const auto meta = nlohmann::json::parse(fixture().metadata("ema_track", "{}"));
  const auto stds = meta["stds"].get<std::vector<double>>();
  const int64_t batch = meta["batch_size"], steps = meta["steps"];
  auto net = [](int64_t k, const std::string& name) {
    char step[32];
    std::snprintf(step, sizeof step, "step%02lld", static_cast<long long>(k));
    return fixture().get(std::string("ema.net.") + step + "." + name).clone();
  };
  NamedTensors params, buffers{{"running", net(0, "running")}};
  for (auto name : kToyParams) params.emplace_back(name, net(0, name));
  PowerFunctionEMA ema(params, buffers, stds);
  auto ref_beta = fixture().get("ema.beta");
  for (int64_t k = 1; k <= steps; ++k) {
    for (auto& [name, t] : params) t.copy_(net(k, name));
    buffers[0].second.copy_(net(k, "running"));
    ema.update(k * batch, batch);
    for (size_t i = 0; i < stds.size(); ++i) {
      const double beta = power_function_beta(stds[i], static_cast<double>(k * batch), static_cast<double>(batch));
      EXPECT_NEAR(beta, ref_beta[static_cast<int64_t>(i)][k - 1].item<double>(), 1e-15);
      char key[64];
      std::snprintf(key, sizeof key, "ema.out.s%zu.step%02lld.", i, static_cast<long long>(k));
      for (const auto& [name, t] : ema.averaged(i))
        EXPECT_TRUE(torch::equal(t, fixture().get(key + name))) << key << name;
    }
  }
  for (size_t i = 0; i < stds.size(); ++i)
    for (const auto& [name, t] : ema.get(i))
      EXPECT_TRUE(torch::equal(t, fixture().get("ema.get.s" + std::to_string(i) + "." + name))) << i << name;
}

TEST(PhemaReference, SolvesCoefficientsOfBothSnapshotSets) {
  for (const std::string key : {"solve_small", "solve_edm2"}) {
    const auto in_nimg = values(key + ".in_nimg"), in_std = values(key + ".in_std");
    const auto out_nimg = values(key + ".out_nimg"), out_std = values(key + ".out_std");
    std::vector<double> out_ofs(out_std.size(), out_nimg[0]);
    EXPECT_LT(test::rel_diff(correlation_matrix(in_nimg, in_std, in_nimg, in_std), fixture().get(key + ".A")), 1e-13);
    EXPECT_LT(test::rel_diff(correlation_matrix(in_nimg, in_std, out_ofs, out_std), fixture().get(key + ".B")), 1e-13);
    // cond(A) is 250 and 5.9e3: agreement to ~cond(A) * 1e-16.
    auto coefs = solve_posthoc_coefficients(in_nimg, in_std, out_nimg, out_std);
    EXPECT_LT(test::max_abs_diff(coefs, fixture().get(key + ".coefs")), 1e-10) << key;
    EXPECT_LT(test::max_abs_diff(coefs.sum(0), torch::ones({coefs.size(1)}, torch::kFloat64)), 1e-13);
  }
}

namespace {

// The reconstruction run `r` of the fixture: inputs up to its time, the
// coefficients we solve, and the outputs from the reference's coefficients.
void check_reconstruction(const std::string& r) {
  const auto all_nimg = values("rec.in_nimg"), all_std = values("rec.in_std");
  const int64_t out_nimg = static_cast<int64_t>(values(r + ".out_nimg")[0]);
  const auto out_std = values(r + ".out_std");
  std::vector<PhemaInput> inputs;
  std::vector<double> in_nimg, in_std;
  for (size_t i = 0; i < all_nimg.size(); ++i) {
    if (all_nimg[i] > out_nimg) continue;
    PhemaInput in{"input " + std::to_string(i), {}};
    for (auto name : {"weight", "bias", "gain", "running"})
      in.tensors[name] = fixture().get("rec.in." + std::to_string(i) + "." + name);
    inputs.push_back(in), in_nimg.push_back(all_nimg[i]), in_std.push_back(all_std[i]);
  }
  ASSERT_EQ(static_cast<double>(inputs.size()), values(r + ".num_inputs")[0]);
  auto coefs = solve_posthoc_coefficients(in_nimg, in_std, {static_cast<double>(out_nimg)}, out_std);
  const auto ref_coefs = fixture().get(r + ".coefs");
  EXPECT_LT(test::max_abs_diff(coefs, ref_coefs), 1e-10) << r;
  // The reference's coefficients give its float32 sums bit for bit; ours
  // give them to float32 rounding.
  const auto exact = reconstruct_phema(inputs, ref_coefs, {"running"});
  const auto ours = reconstruct_phema(inputs, coefs, {"running"});
  for (size_t j = 0; j < out_std.size(); ++j)
    for (const auto& [name, t] : exact[j]) {
      const auto key = r + ".out." + std::to_string(j) + "." + name;
      EXPECT_TRUE(torch::equal(t, fixture().get(key))) << key;
      EXPECT_LT(test::rel_diff(ours[j].at(name), fixture().get(key)), 1e-6) << key;
      const auto fp16 = r + ".out_fp16." + std::to_string(j) + "." + name;
      EXPECT_TRUE(torch::equal(t.to(torch::kHalf).to(torch::kFloat32), fixture().get(fp16))) << fp16;
    }
}

}  // namespace

TEST(PhemaReference, ReconstructsAtTheLastSnapshot) { check_reconstruction("rec0"); }
TEST(PhemaReference, ReconstructsAtAnEarlierSnapshot) { check_reconstruction("rec1"); }

TEST(PhemaTest, ProfileOfTheTrackedAverageIsThePowerFunction) {
  // An EMA of a parameter that is 1 at step k and 0 otherwise holds the weight
  // of step k in the average: the profile sampled at k, normalised.
  const int64_t steps = 40, batch = 1;
  const double s = 0.1;
  std::vector<double> weight;
  for (int64_t k = 1; k <= steps; ++k) {
    auto p = torch::zeros({1});
    PowerFunctionEMA ema({{"p", p}}, {}, {s});
    for (int64_t t = 1; t <= steps; ++t) {
      p.fill_(t == k ? 1.0 : 0.0);
      ema.update(t * batch, batch);
    }
    weight.push_back(ema.averaged(0).at("p").item<double>());
  }
  // Step t averages the images of (t-1, t]: its weight is the profile's mass
  // there, (t^(g+1) - (t-1)^(g+1)) / T^(g+1).
  const double g = std_to_exp(s);
  for (int64_t t = 1; t <= steps; ++t) {
    const double expect = (std::pow(t, g + 1) - std::pow(t - 1, g + 1)) / std::pow(steps, g + 1);
    EXPECT_NEAR(weight[static_cast<size_t>(t - 1)], expect, 1e-6) << t;
  }
}

TEST(PhemaTest, MismatchedInputsAreOneLineErrors) {
  auto coefs = torch::full({2, 1}, 0.5, torch::kFloat64);
  std::vector<PhemaInput> in{{"a.safetensors", {{"w", torch::zeros({3})}}},
                             {"b.safetensors", {{"w", torch::zeros({4})}}}};
  try {
    reconstruct_phema(in, coefs, {});
    FAIL() << "a shape mismatch went through";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'w'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("a.safetensors"), std::string::npos) << e.what();
  }
  in[0].tensors = {{"v", torch::zeros({4})}};
  EXPECT_THROW(reconstruct_phema(in, coefs, {}), Error);
  EXPECT_THROW(reconstruct_phema({}, coefs, {}), Error);
}

TEST(PhemaTest, SelectsInputsUpToTheRequestedTime) {
  std::vector<PhemaSnapshot> all{{"a", 1000, 0.05}, {"b", 1000, 0.1}, {"c", 2000, 0.05}, {"d", 2000, 0.1}};
  std::optional<int64_t> nimg;
  EXPECT_EQ(select_phema_inputs(all, nimg).size(), 4u);
  EXPECT_EQ(*nimg, 2000);
  nimg = 1000;
  EXPECT_EQ(select_phema_inputs(all, nimg).size(), 2u);
  nimg = 500;
  EXPECT_THROW(select_phema_inputs(all, nimg), UsageError);  // before the first
  nimg = 1500;
  EXPECT_THROW(select_phema_inputs(all, nimg), UsageError);  // no snapshot then
  nimg.reset();
  EXPECT_THROW(select_phema_inputs({}, nimg), Error);
  EXPECT_EQ(phema_snapshot_path("run", "network-snapshot", 123456, 0.05),
            "run/network-snapshot-0000123-0.050.safetensors");
  EXPECT_FALSE(valid_std(0.0));
  EXPECT_FALSE(valid_std(0.3));
  EXPECT_TRUE(valid_std(0.28));
}
