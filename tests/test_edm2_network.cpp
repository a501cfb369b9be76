// The EDM2 network against golden values of the reference (NVlabs/edm2):
// every primitive and block case, both networks in eval and training mode,
// with and without labels, sigma as a scalar, and the weights after one
// training-mode call (forced weight normalisation).
#include <nlohmann/json.hpp>

#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"
#include "edm/nn/edm2_block.h"
#include "edm/nn/mp_layers.h"
#include "edm/nn/precond.h"
#include "testing.h"

namespace edm {
namespace {

using networks::Build;
using nlohmann::json;

const TensorFile& primitives() {
  static TensorFile file(test::reference("edm2/primitives.safetensors"));
  return file;
}

std::vector<json> cases(const std::string& fn) {
  std::vector<json> out;
  for (const auto& c : json::parse(primitives().metadata("cases", "[]")))
    if (c["fn"] == fn) out.push_back(c);
  return out;
}

torch::Tensor get(const json& c, const std::string& name) {
  return primitives().get(c["key"].get<std::string>() + "." + name);
}

// Scalar gains are 0-dim here as in the reference's modules; the fixture files store them as [1].
torch::Tensor shaped_as(const torch::Tensor& t, const torch::Tensor& ref) {
  return t.numel() == 1 && ref.numel() == 1 && t.dim() <= 1 && ref.dim() <= 1 ? t.reshape(ref.sizes()) : t;
}

void expect_close(const torch::Tensor& out_in, const torch::Tensor& ref, double tol, const std::string& what) {
  const auto out = shaped_as(out_in, ref);
  ASSERT_EQ(out.sizes(), ref.sizes()) << what;
  EXPECT_LT(test::rel_diff(out, ref), tol) << what;
}

TEST(EDM2Primitives, SiluSumCat) {
  ASSERT_EQ(cases("mp_silu").size() + cases("mp_sum").size() + cases("mp_cat").size(), 6u);
  for (const auto& c : cases("mp_silu"))
    expect_close(networks::mp_silu(get(c, "input.x")), get(c, "output"), 1e-6, c.dump());
  for (const auto& c : cases("mp_sum")) {
    auto out = networks::mp_sum(get(c, "input.a"), get(c, "input.b"), c["t"].get<double>());
    EXPECT_TRUE(torch::equal(out, get(c, "output"))) << c.dump();  // lerp: bit for bit
  }
  for (const auto& c : cases("mp_cat")) {
    auto out = networks::mp_cat(get(c, "input.a"), get(c, "input.b"), c["dim"], c["t"].get<double>());
    expect_close(out, get(c, "output"), 1e-6, c.dump());
  }
}

TEST(EDM2Primitives, NormalizeResampleFourier) {
  ASSERT_EQ(cases("normalize").size(), 5u);
  for (const auto& c : cases("normalize")) {
    std::vector<int64_t> dims;
    if (!c["dim"].is_null()) dims.push_back(c["dim"]);
    expect_close(networks::mp_normalize(get(c, "input.x"), dims), get(c, "output"), 1e-6, c.dump());
  }
  ASSERT_EQ(cases("resample").size(), 4u);
  for (const auto& c : cases("resample")) {
    auto out = networks::mp_resample(get(c, "input.x"), c["f"].get<std::vector<double>>(), c["mode"]);
    expect_close(out, get(c, "output"), 1e-6, c.dump());
  }
  for (const auto& c : cases("MPFourier")) {
    networks::MPFourier m(c["num_channels"].get<int64_t>(), 1.0, Build{});
    m->freqs.copy_(get(c, "param.freqs"));
    m->phases.copy_(get(c, "param.phases"));
    expect_close(m->forward(get(c, "input.x")), get(c, "output"), 1e-6, c.dump());
  }
}

// Gain i of a case: a number, or a 0-dim tensor stored as input.gain<i>.
torch::Tensor run_conv(networks::MPConvImpl& m, const json& c, size_t i) {
  const auto& g = c["gains"][i];
  if (g.is_string()) return m.forward(get(c, "input.x"), get(c, "input.gain" + std::to_string(i)));
  return m.forward(get(c, "input.x"), g.get<double>());
}

TEST(EDM2Primitives, MPConvEvalAndForcedWeightNormalisation) {
  ASSERT_EQ(cases("MPConv").size(), 3u);
  for (const auto& c : cases("MPConv")) {
    torch::NoGradGuard no_grad;
    auto make = [&] {
      networks::MPConv m(c["in_channels"].get<int64_t>(), c["out_channels"].get<int64_t>(),
                         c["kernel"].get<std::vector<int64_t>>(), Build{});
      m->weight.copy_(get(c, "param.weight"));
      return m;
    };
    auto eval = make();
    eval->eval();
    for (size_t i = 0; i < c["gains"].size(); ++i) {
      const auto gi = "gain" + std::to_string(i);
      expect_close(run_conv(*eval, c, i), get(c, "output.eval." + gi), 1e-6, c.dump() + " eval " + gi);
      auto train = make();  // a fresh copy per gain, as the reference
      train->train();
      expect_close(run_conv(*train, c, i), get(c, "output.train." + gi), 1e-6, c.dump() + " train " + gi);
      expect_close(train->weight, get(c, "output.train.weight"), 1e-6, c.dump() + " weight");
      expect_close(run_conv(*train, c, i), get(c, "output.train2." + gi), 1e-6, c.dump() + " train2 " + gi);
      expect_close(train->weight, get(c, "output.train2.weight"), 1e-6, c.dump() + " weight2");
    }
    EXPECT_TRUE(torch::equal(eval->weight, get(c, "param.weight")));  // eval never writes the weight
  }
}

networks::EDM2Block make_block(const json& c) {
  const auto& b = c["block"];
  networks::EDM2BlockOptions o;
  o.flavor = b["flavor"];
  o.resample_mode = b.value("resample_mode", o.resample_mode);
  o.attention = b.value("attention", false);
  o.channels_per_head = b.value("channels_per_head", o.channels_per_head);
  o.res_balance = b.value("res_balance", o.res_balance);
  o.attn_balance = b.value("attn_balance", o.attn_balance);
  o.clip_act = b.value("clip_act", o.clip_act);
  networks::EDM2Block block(b["in_channels"].get<int64_t>(), b["out_channels"].get<int64_t>(),
                            b["emb_channels"].get<int64_t>(), o, Build{});
  torch::NoGradGuard no_grad;
  const std::string prefix = c["key"].get<std::string>() + ".param.";
  size_t n = 0;
  for (const auto& name : primitives().names())
    if (name.rfind(prefix, 0) == 0) ++n;
  EXPECT_EQ(block->named_parameters().size(), n) << c.dump();
  for (auto& p : block->named_parameters()) p.value().copy_(get(c, "param." + p.key()));
  return block;
}

TEST(EDM2Primitives, Blocks) {
  ASSERT_EQ(cases("Block").size(), 4u);
  for (const auto& c : cases("Block")) {
    torch::NoGradGuard no_grad;
    auto eval = make_block(c);
    eval->eval();
    expect_close(eval->forward(get(c, "input.x"), get(c, "input.emb")), get(c, "output.eval"), 1e-5, c.dump());
    auto train = make_block(c);
    train->train();
    expect_close(train->forward(get(c, "input.x"), get(c, "input.emb")), get(c, "output.train"), 1e-5, c.dump());
    for (auto& p : train->named_parameters())
      expect_close(p.value(), get(c, "output.train_param." + p.key()), 1e-6, c.dump() + " " + p.key());
  }
}

std::shared_ptr<networks::PrecondImpl> load(const std::string& file) {
  TensorFile f(test::reference("edm2/" + file));
  return load_precond(f, read_model_config(f), torch::kCPU);
}

class EDM2Network : public ::testing::TestWithParam<std::string> {};

TEST_P(EDM2Network, EvalOutputsMatchReference) {
  TensorFile io(test::reference("edm2/" + GetParam() + ".io.safetensors"));
  auto net = load(GetParam() + ".model.safetensors");
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = io.get("input.x"), sigma = io.get("input.sigma");
  const auto labels = io.has("input.labels") ? io.get("input.labels") : torch::Tensor();
  ASSERT_TRUE(net->has_logvar());
  expect_close(net->forward(x, sigma, labels), io.get("output.D"), 1e-5, "D");
  expect_close(net->logvar(sigma), io.get("output.logvar"), 1e-5, "logvar");
  const auto s = io.get("input.sigma_scalar");
  expect_close(net->forward(x, s, labels), io.get("output.D_sigma_scalar"), 1e-5, "D sigma scalar");
  expect_close(net->logvar(s), io.get("output.logvar_sigma_scalar"), 1e-5, "logvar sigma scalar");
  if (io.has("output.D_nolabels"))
    expect_close(net->forward(x, sigma, torch::Tensor()), io.get("output.D_nolabels"), 1e-5, "D no labels");
  // Every sampler sees the same network through load_denoiser.
  auto denoiser = load_denoiser(test::reference("edm2/" + GetParam() + ".model.safetensors"), torch::kCPU);
  expect_close(denoiser->denoise(x, sigma, labels, {}), io.get("output.D"), 1e-5, "denoiser");
}

TEST_P(EDM2Network, TrainingModeNormalisesWeightsOnce) {
  TensorFile io(test::reference("edm2/" + GetParam() + ".io.safetensors"));
  auto net = load(GetParam() + ".model.safetensors");
  net->train();
  const auto x = io.get("input.x"), sigma = io.get("input.sigma");
  const auto labels = io.has("input.labels") ? io.get("input.labels") : torch::Tensor();
  auto D = net->forward(x, sigma, labels);
  auto logvar = net->logvar(sigma);
  expect_close(D, io.get("output.train.D"), 1e-5, "train D");
  expect_close(logvar, io.get("output.train.logvar"), 1e-5, "train logvar");
  EXPECT_GT(test::rel_diff(io.get("output.train.D"), io.get("output.D")), 1e-5);  // the case tells them apart
  TensorFile normed(test::reference("edm2/" + GetParam() + ".normed.model.safetensors"));
  auto after = state_dict(*net);
  ASSERT_EQ(after.size(), normed.names().size());
  for (const auto& [name, t] : after) expect_close(t, normed.get(name), 1e-6, name);
}

TEST_P(EDM2Network, SavedModelReloads) {
  test::TempDir dir;
  auto net = load(GetParam() + ".model.safetensors");
  save_precond(dir / "m.safetensors", *net);
  TensorFile a(dir / "m.safetensors"), b(test::reference("edm2/" + GetParam() + ".model.safetensors"));
  ASSERT_EQ(a.names(), b.names());
  for (const auto& name : a.names())
    EXPECT_TRUE(torch::equal(shaped_as(a.get(name), b.get(name)), b.get(name))) << name;
  EXPECT_EQ(read_model_config(a), read_model_config(b));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, EDM2Network, ::testing::Values("edm2_cond", "edm2_uncond"));

}  // namespace
}  // namespace edm
