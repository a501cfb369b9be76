// bfloat16 on the CPU: products in bfloat16, everything else float32
// (nn/product_dtype.h); the choice of precision, its refusal on CPUs without
// bfloat16 arithmetic, and its record in the PNGs.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "edm/core/error.h"
#include "edm/core/runtime.h"
#include "edm/io/atomic_file.h"
#include "edm/io/png_text.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"
#include "edm/nn/layers.h"
#include "edm/nn/precond.h"
#include "edm/nn/presets.h"
#include "edm/nn/product_dtype.h"
#include "testing.h"

namespace edm::networks {
namespace {

namespace fs = std::filesystem;

// bfloat16 keeps 8 significant bits: one rounding is at most 2^-9 relative.
constexpr double kBf16Epsilon = 1.0 / 256;

TEST(CpuBf16, ProductGuardRunsLinearAndConvInBfloat16AndRestores) {
  torch::manual_seed(3);
  Linear linear(64, 32, true, Init{}, Build{});
  Conv2d conv(8, 16, ConvOptions{}, Build{});
  auto x = torch::randn({4, 64}), img = torch::randn({2, 8, 6, 6});
  torch::NoGradGuard no_grad;
  const auto y32 = linear->forward(x), c32 = conv->forward(img);
  torch::Tensor y16, c16;
  {
    ProductDtypeGuard bf16(torch::kBFloat16);
    y16 = linear->forward(x), c16 = conv->forward(img);
    {
      ProductDtypeGuard back(torch::kFloat32);  // nests
      EXPECT_TRUE(torch::equal(linear->forward(x), y32));
    }
    EXPECT_EQ(product_dtype(x), torch::kBFloat16);
    EXPECT_EQ(product_dtype(x.to(torch::kFloat64)), torch::kFloat64);  // only float32 activations change
  }
  EXPECT_EQ(product_dtype(x), torch::kFloat32);
  EXPECT_TRUE(torch::equal(linear->forward(x), y32)) << "the guard is gone: float32 again, bit for bit";
  // Activations stay float32; the products carry bfloat16's rounding: more
  // than float32's, within a few bfloat16 steps of the sums' magnitude.
  for (auto [low, ref] : {std::pair{y16, y32}, std::pair{c16, c32}}) {
    EXPECT_EQ(low.scalar_type(), torch::kFloat32);
    EXPECT_GT(test::rel_diff(low, ref), 1e-5);
    EXPECT_LT(test::rel_diff(low, ref), 4 * kBf16Epsilon);
  }
}

std::shared_ptr<PrecondImpl> small_net(bool use_bf16) {
  PresetOverrides o;
  o.use_bf16 = use_bf16;
  torch::manual_seed(5);
  return make_precond(preset_config("fmnist-s", "edm", 28, 1, 10, 0, o));
}

TEST(CpuBf16, ModelFileChoiceFollowsTheCpuAndOverridesWin) {
  auto net = small_net(true);
  EXPECT_EQ(net->compute_dtype(torch::kCPU), cpu_has_bfloat16() ? torch::kBFloat16 : torch::kFloat32);
  EXPECT_FALSE(net->channels_last(torch::kCPU)) << "float32 activations: channels-last is slower on a CPU";
  net->set_precision(Precision::Float32);
  EXPECT_EQ(net->compute_dtype(torch::kCPU), torch::kFloat32);
  auto plain = small_net(false);
  EXPECT_EQ(plain->compute_dtype(torch::kCPU), torch::kFloat32) << "the reference's float32 by default";
  plain->set_precision(Precision::BFloat16);
  EXPECT_EQ(plain->compute_dtype(torch::kCPU), torch::kBFloat16);
}

// D and the gradients of a denoising loss in bfloat16 products against
// float32: D = c_skip x + c_out F, and F's error is bounded by bfloat16's few
// roundings per layer (the skip part is exact).
void expect_bf16_close_to_float32(PrecondImpl& net) {
  auto x = torch::randn({4, 1, 28, 28}) * 0.5;
  auto sigma = torch::tensor({0.02f, 0.5f, 5.0f, 80.0f});
  auto labels = torch::eye(10).narrow(0, 0, 4);
  auto run = [&](Precision p) {
    net.set_precision(p);
    net.zero_grad();
    auto D = net.forward(x, sigma, labels);
    ((D - x).square() / (sigma * sigma).reshape({-1, 1, 1, 1})).mean().backward();
    std::vector<torch::Tensor> grads;
    for (auto& p : net.parameters())
      if (p.grad().defined()) grads.push_back(p.grad().flatten().clone());
    return std::pair{D.detach(), torch::cat(grads)};
  };
  auto [D32, g32] = run(Precision::Float32);
  auto [D16, g16] = run(Precision::BFloat16);
  EXPECT_EQ(D16.scalar_type(), torch::kFloat32);
  EXPECT_GT(test::rel_diff(D16, D32), 0.0);
  EXPECT_LT(test::rel_diff(D16, D32), 8 * kBf16Epsilon);
  const double cosine = (g16 * g32).sum().item<double>() / (g16.norm() * g32.norm()).item<double>();
  EXPECT_GT(cosine, 0.999);
  EXPECT_LT(std::abs((g16.norm() / g32.norm()).item<double>() - 1), 0.01);
}

TEST(CpuBf16, NetworkOutputAndGradientsStayCloseToFloat32) { expect_bf16_close_to_float32(*small_net(false)); }

// EDM2's MPConv (weights normalised in float32, then cast) takes the same
// bfloat16 products; its preset records --bf16 as the EDM presets do.
TEST(CpuBf16, Edm2NetworkOutputAndGradientsStayCloseToFloat32) {
  PresetOverrides o;
  o.use_bf16 = true;
  torch::manual_seed(5);
  auto net = make_precond(preset_config("edm2-fmnist-xs", "edm", 28, 1, 10, 0, o));
  EXPECT_EQ(net->compute_dtype(torch::kCPU), cpu_has_bfloat16() ? torch::kBFloat16 : torch::kFloat32);
  net->eval();  // no dropout, no in-place weight normalisation between the two runs
  torch::NoGradGuard no_grad;
  for (auto& p : net->named_parameters())  // EDM2 starts with zero gains: F = 0, D exact
    if (p.key().size() >= 4 && p.key().substr(p.key().size() - 4) == "gain") p.value().fill_(1);
  {
    torch::AutoGradMode grad(true);
    expect_bf16_close_to_float32(*net);
  }
  o.use_bf16 = false;
  o.use_fp16 = true;
  EXPECT_THROW(preset_config("edm2-fmnist-xs", "edm", 28, 1, 10, 0, o), UsageError);
}

// Runs edm with EDM_CPU_BF16 set as given, as on a CPU without bfloat16.
test::CommandResult run_edm_with_cpu_bf16(const std::string& value, const std::string& args) {
  setenv("EDM_CPU_BF16", value.c_str(), 1);
  auto r = test::run_edm(args);
  unsetenv("EDM_CPU_BF16");
  return r;
}

TEST(CpuBf16Cli, RefusedWhereTheCpuHasNoBfloat16) {
  test::TempDir dir;
  const std::string model = dir / "net.safetensors";
  save_precond(model, *small_net(false));
  auto r = run_edm_with_cpu_bf16("0", "info --device cpu");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("bfloat16 no"), std::string::npos) << r.output;
  for (std::string cmd : {"generate --net " + model + " --seeds 0 --steps 2 --raw " + (dir / "x.safetensors"),
                          "train --outdir " + (dir / "runs") + " --cbase 8 --batch 8 --duration 0.000016 -q"}) {
    r = run_edm_with_cpu_bf16("0", cmd + " --bf16 --device cpu");
    EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.output;
    EXPECT_NE(r.output.find("bfloat16 needs a CPU with AVX512_BF16 or AMX"), std::string::npos) << r.output;
  }
  EXPECT_FALSE(fs::exists(dir / "x.safetensors"));
  r = test::run_edm("generate --net " + model + " --seeds 0 --raw " + (dir / "x.safetensors") + " --bf16 --fp32");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--bf16 and --fp32 exclude each other"), std::string::npos) << r.output;
}

std::string bytes_of(const std::string& path) { return read_file(path); }

TEST(CpuBf16Cli, GenerateRecordsBfloat16AndFromPngRemakesIt) {
  if (!cpu_has_bfloat16()) GTEST_SKIP() << "this CPU has no bfloat16 arithmetic";
  test::TempDir dir;
  const std::string model = dir / "net.safetensors";
  save_precond(model, *small_net(false));
  const std::string common = "generate --net " + model + " --seeds 0-3 --steps 4 --device cpu";
  auto r = test::run_edm(common + " --bf16 --outdir " + (dir / "a") + " --raw " + (dir / "a.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_edm(common + " --raw " + (dir / "b.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto a = TensorFile(dir / "a.safetensors").get("images"), b = TensorFile(dir / "b.safetensors").get("images");
  EXPECT_GT(test::max_abs_diff(a, b), 0.0) << "--bf16 changed nothing";
  auto j = nlohmann::json::parse(png_text_chunks(read_file(dir / "a/000002.png"), "a").at("edm.generate"));
  EXPECT_EQ(j["precision"], "bfloat16");
  r = test::run_edm("generate --from-png " + (dir / "a/000002.png") + " --net " + model + " --outdir " + (dir / "c"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(bytes_of(dir / "c/000002.png"), bytes_of(dir / "a/000002.png"));
}

}  // namespace
}  // namespace edm::networks
