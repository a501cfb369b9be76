// Presets equal the reference's training configurations (parameter counts of
// the published networks) and build identically-structured modules.
#include "edm/core/error.h"
#include "edm/nn/precond.h"
#include "edm/nn/presets.h"
#include "testing.h"

namespace edm {
namespace {

int64_t count_parameters(const nlohmann::json& config) {
  // Shapes only: the meta device allocates nothing, so the 300M-parameter ADM is instant.
  auto net = networks::make_precond(config, networks::Build{torch::kMeta, false});
  int64_t n = 0;
  for (const auto& p : net->parameters()) n += p.numel();
  return n;
}

TEST(NnPresets, ReferenceParameterCounts) {
  // CIFAR-10 DDPM++ conditional / unconditional with augment labels, NCSN++, ImageNet-64 ADM.
  EXPECT_EQ(count_parameters(networks::preset_config("ddpmpp", "edm", 32, 3, 10, 9)), 55735299);
  EXPECT_EQ(count_parameters(networks::preset_config("ddpmpp", "vp", 32, 3, 0, 9)), 55733891);
  EXPECT_EQ(count_parameters(networks::preset_config("ncsnpp", "ve", 32, 3, 0, 9)), 56397827);
  EXPECT_EQ(count_parameters(networks::preset_config("adm", "edm", 64, 3, 1000, 0)), 295899267);
}

TEST(NnPresets, ReferenceTrainingSettings) {
  auto c = networks::preset_config("ncsnpp", "ve", 32, 3, 0, 9);
  EXPECT_EQ(c["precond"], "VEPrecond");
  EXPECT_EQ(c["model"]["model_type"], "SongUNet");
  EXPECT_EQ(c["model"]["embedding_type"], "fourier");
  EXPECT_EQ(c["model"]["resample_filter"], nlohmann::json({1, 3, 3, 1}));
  EXPECT_DOUBLE_EQ(c["model"]["dropout"].get<double>(), 0.13);
  networks::PresetOverrides o;
  o.cbase = 64;
  o.cres = std::vector<int64_t>{1, 2};
  o.dropout = 0.2;
  o.use_fp16 = true;
  c = networks::preset_config("adm", "edm", 32, 3, 10, 0, o);
  EXPECT_EQ(c["model"]["model_channels"], 64);
  EXPECT_EQ(c["model"]["channel_mult"], nlohmann::json({1, 2}));
  EXPECT_DOUBLE_EQ(c["model"]["dropout"].get<double>(), 0.2);
  EXPECT_EQ(c["use_fp16"], true);
}

TEST(NnPresets, BadRequestsAreUsageErrors) {
  EXPECT_THROW(networks::preset_config("unet9000", "edm", 28, 1, 0, 0), UsageError);
  EXPECT_THROW(networks::preset_config("fmnist-s", "flow", 28, 1, 0, 0), UsageError);
  EXPECT_THROW(networks::preset_config("ddpmpp", "edm", 30, 3, 0, 0), UsageError);  // 30 -> 15 -> 7.5
  networks::PresetOverrides o;
  o.dropout = 1.5;
  EXPECT_THROW(networks::preset_config("fmnist-s", "edm", 28, 1, 0, 0, o), UsageError);
  o.dropout = 1.0;  // [0, 1), the rule edm train applies too
  EXPECT_THROW(networks::preset_config("fmnist-s", "edm", 28, 1, 0, 0, o), UsageError);
  EXPECT_THROW(networks::check_dropout(1.0, "label-dropout"), UsageError);
  EXPECT_NO_THROW(networks::check_dropout(0.0, "dropout"));
}

TEST(NnPresets, TrainingDefaultsLiveWithThePresets) {
  // train.py's values for the reference presets, a CPU-sized run for the small ones.
  EXPECT_FALSE(networks::preset_is_small("ddpmpp"));
  EXPECT_TRUE(networks::preset_is_small("fmnist-s"));
  const auto ref = networks::preset_training("adm", true);
  EXPECT_EQ(ref.batch, 512);
  EXPECT_DOUBLE_EQ(ref.duration, 200);
  EXPECT_DOUBLE_EQ(ref.lr_rampup, 10000);
  EXPECT_FALSE(ref.max_minutes.has_value());
  const auto cpu = networks::preset_training("fmnist-m", true), gpu = networks::preset_training("fmnist-m", false);
  EXPECT_EQ(cpu.batch, 64);
  EXPECT_EQ(gpu.batch, 256);
  EXPECT_DOUBLE_EQ(cpu.tick, 2);
  EXPECT_DOUBLE_EQ(gpu.tick, 10);
  EXPECT_EQ(cpu.max_minutes.value_or(0), 10.0);
  EXPECT_EQ(networks::preset_training("fmnist-s", true).batch, 32);  // measured best in 10 CPU minutes
  EXPECT_EQ(networks::preset_training("fmnist-s", false).batch, 256);
  // ln sigma ~ N(-0.4, 1.2^2) in 10 CPU minutes (measured), the reference's -1.2 elsewhere.
  EXPECT_DOUBLE_EQ(networks::preset_training("fmnist-s", true).P_mean, -0.4);
  EXPECT_DOUBLE_EQ(networks::preset_training("fmnist-s", false).P_mean, -1.2);
  EXPECT_DOUBLE_EQ(cpu.P_mean, -1.2);
  EXPECT_DOUBLE_EQ(networks::preset_training("fmnist-s", true).P_std, 1.2);
  EXPECT_THROW(networks::preset_training("nope", true), UsageError);
}

TEST(NnPresets, EveryPresetBuildsAndRuns) {
  for (const auto& arch : networks::preset_names()) {
    SCOPED_TRACE(arch);
    const bool small = arch.rfind("fmnist", 0) == 0;
    for (const auto& precond : networks::precond_names()) {
      auto config = networks::preset_config(arch, precond, small ? 28 : 32, small ? 1 : 3, 10, 9);
      if (!small) {
        EXPECT_GT(count_parameters(config), 1000000);
        continue;
      }
      auto net = networks::make_precond(config);
      net->eval();
      torch::NoGradGuard no_grad;
      auto x = torch::randn({2, 1, 28, 28});
      auto D = net->forward(x, torch::tensor({0.5f, 5.0f}), torch::eye(10).narrow(0, 0, 2));
      EXPECT_EQ(D.sizes(), x.sizes());
      EXPECT_TRUE(D.isfinite().all().item<bool>());
    }
  }
}

TEST(NnPresets, SecondBuildHasTheSameStructure) {
  // Training keeps an EMA copy made by a second make_precond: same keys, shapes, order.
  auto config = networks::preset_config("fmnist-m", "edm", 28, 1, 10, 9);
  auto a = networks::make_precond(config), b = networks::make_precond(config);
  auto pa = a->named_parameters(), pb = b->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].key(), pb[i].key());
    EXPECT_EQ(pa[i].value().sizes(), pb[i].value().sizes());
  }
  auto ba = a->named_buffers(), bb = b->named_buffers();
  ASSERT_EQ(ba.size(), bb.size());
  for (size_t i = 0; i < ba.size(); ++i) EXPECT_EQ(ba[i].key(), bb[i].key());
  // Fresh random draws differ between the two.
  EXPECT_FALSE(torch::equal(pa["model.map_layer0.weight"], pb["model.map_layer0.weight"]));
  EXPECT_TRUE(pa.contains("model.enc.28x28_conv.weight"));
  EXPECT_TRUE(pa.contains("model.dec.7x7_in0.qkv.weight"));
  EXPECT_TRUE(ba.contains("model.enc.14x14_down.conv0.resample_filter"));
}

}  // namespace
}  // namespace edm
