// The KL autoencoder of latent diffusion: Stable Diffusion's AutoencoderKL
// names and shapes, loading published-style files, the loss, and
// edm train --autoencoder.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "edm/core/error.h"
#include "edm/io/safetensors.h"
#include "edm/model/autoencoder_file.h"
#include "edm/model/model_file.h"
#include "edm/nn/autoencoder_config.h"
#include "edm/nn/autoencoder_kl.h"
#include "edm/nn/precond.h"
#include "edm/train/autoencoder_loss.h"
#include "testing.h"

namespace edm {
namespace {

namespace fs = std::filesystem;
using networks::AutoencoderKLImpl;
using networks::AutoencoderKLOptions;
using Shapes = std::map<std::string, std::vector<int64_t>>;

// The diffusers AutoencoderKL state_dict, written out from its published
// structure: what a file of that architecture holds.
Shapes diffusers_shapes(const AutoencoderKLOptions& o, int64_t img) {
  Shapes s;
  auto conv = [&](const std::string& n, int64_t in, int64_t out, int64_t k) {
    s[n + ".weight"] = {out, in, k, k};
    s[n + ".bias"] = {out};
  };
  auto norm = [&](const std::string& n, int64_t c) { s[n + ".weight"] = s[n + ".bias"] = {c}; };
  auto resnet = [&](const std::string& n, int64_t in, int64_t out) {
    norm(n + ".norm1", in), conv(n + ".conv1", in, out, 3), norm(n + ".norm2", out), conv(n + ".conv2", out, out, 3);
    if (in != out) conv(n + ".conv_shortcut", in, out, 1);
  };
  auto mid = [&](const std::string& n, int64_t c) {
    resnet(n + ".resnets.0", c, c), resnet(n + ".resnets.1", c, c), norm(n + ".attentions.0.group_norm", c);
    for (auto p : {"to_q", "to_k", "to_v", "to_out.0"})
      s[n + ".attentions.0." + p + ".weight"] = {c, c}, s[n + ".attentions.0." + p + ".bias"] = {c};
  };
  const auto& ch = o.block_out_channels;
  const int64_t L = o.latent_channels, B = int64_t(ch.size());
  conv("encoder.conv_in", img, ch[0], 3);
  for (int64_t i = 0, prev = ch[0]; i < B; ++i) {
    const auto b = "encoder.down_blocks." + std::to_string(i);
    for (int64_t j = 0; j < o.layers_per_block; ++j, prev = ch[i])
      resnet(b + ".resnets." + std::to_string(j), prev, ch[i]);
    if (i + 1 < B) conv(b + ".downsamplers.0.conv", ch[i], ch[i], 3);
  }
  mid("encoder.mid_block", ch.back());
  norm("encoder.conv_norm_out", ch.back()), conv("encoder.conv_out", ch.back(), 2 * L, 3);
  conv("quant_conv", 2 * L, 2 * L, 1), conv("post_quant_conv", L, L, 1);
  conv("decoder.conv_in", L, ch.back(), 3);
  mid("decoder.mid_block", ch.back());
  for (int64_t i = 0, prev = ch.back(); i < B; ++i) {
    const int64_t out = ch[B - 1 - i];
    const auto b = "decoder.up_blocks." + std::to_string(i);
    for (int64_t j = 0; j <= o.layers_per_block; ++j, prev = out)
      resnet(b + ".resnets." + std::to_string(j), prev, out);
    if (i + 1 < B) conv(b + ".upsamplers.0.conv", out, out, 3);
  }
  norm("decoder.conv_norm_out", ch[0]), conv("decoder.conv_out", ch[0], img, 3);
  return s;
}

// sd-vae-ft-mse's structure at a width tests can afford.
AutoencoderKLOptions tiny() {
  AutoencoderKLOptions o = AutoencoderKLOptions::sd_vae_ft_mse();
  o.block_out_channels = {8, 16, 32, 32};
  o.norm_num_groups = 4;
  return o;
}

std::shared_ptr<AutoencoderKLImpl> make_ae(const AutoencoderKLOptions& o, int64_t img, torch::Device d = torch::kCPU) {
  networks::NetworkShape shape;
  shape.in_channels = shape.out_channels = img;
  return std::make_shared<AutoencoderKLImpl>(shape, o, networks::Build{d, true});
}

// The entries of `a` that `b` lacks or has with another shape, one a line.
std::string missing_from(const Shapes& a, const Shapes& b) {
  std::string out;
  for (const auto& [name, shape] : a)
    if (!b.count(name) || b.at(name) != shape) out += name + "\n";
  return out;
}

Shapes shapes_of(torch::nn::Module& m) {
  Shapes s;
  for (const auto& [name, t] : state_dict(m)) s[name] = t.sizes().vec();
  return s;
}

// A diffusers-style directory: diffusion_pytorch_model.safetensors + config.json.
std::string write_diffusers(const test::TempDir& dir, const std::map<std::string, torch::Tensor>& tensors,
                            const AutoencoderKLOptions& o) {
  std::ofstream(dir / "config.json") << nlohmann::json{
      {"_class_name", "AutoencoderKL"},
      {"in_channels", 3},
      {"out_channels", 3},
      {"block_out_channels", o.block_out_channels},
      {"layers_per_block", o.layers_per_block},
      {"latent_channels", o.latent_channels},
      {"norm_num_groups", o.norm_num_groups},
      {"scaling_factor", o.scaling_factor}}.dump();
  const auto path = dir / "diffusion_pytorch_model.safetensors";
  save_tensors(path, tensors);
  return path;
}

TEST(AutoencoderKL, EveryDiffusersNameIsPresentWithItsShape) {
  for (const auto& o : {tiny(), AutoencoderKLOptions()}) {
    auto ae = make_ae(o, 3);
    const auto have = shapes_of(*ae), want = diffusers_shapes(o, 3);
    EXPECT_EQ(missing_from(want, have), "");
    EXPECT_EQ(missing_from(have, want), "");
  }
}

TEST(AutoencoderKL, SdVaeFtMseHasThePublishedParameterCount) {
  // Built on the meta device: shapes only. diffusers' AutoencoderKL with
  // sd-vae-ft-mse's config has 83,653,863 parameters.
  networks::NetworkShape shape;
  shape.in_channels = shape.out_channels = 3;
  AutoencoderKLImpl ae(shape, AutoencoderKLOptions::sd_vae_ft_mse(), networks::Build{torch::kMeta, false});
  int64_t count = 0;
  for (const auto& p : ae.parameters()) count += p.numel();
  EXPECT_EQ(count, 83653863);
  const auto have = shapes_of(ae), want = diffusers_shapes(AutoencoderKLOptions::sd_vae_ft_mse(), 3);
  EXPECT_EQ(missing_from(want, have), "");
  EXPECT_EQ(missing_from(have, want), "");
}

TEST(AutoencoderKL, EncodesToLatentsOfTheFactorAndDecodesBack) {
  torch::manual_seed(0);
  auto ae = make_ae(tiny(), 3);
  auto x = torch::rand({2, 3, 32, 24}) * 2 - 1;
  auto q = ae->encode(x);
  EXPECT_EQ(q.mean.sizes().vec(), (std::vector<int64_t>{2, 4, 4, 3}));
  EXPECT_EQ(q.logvar.sizes(), q.mean.sizes());
  EXPECT_EQ(ae->decode(q.mean).sizes(), x.sizes());
  EXPECT_NE(test::error_of([&] {
              ae->encode(torch::zeros({1, 3, 28, 28}));
            }).find("multiples of 8"),
            std::string::npos);
}

TEST(AutoencoderKL, DiffusersFileLoadsAndRoundTripsDeterministically) {
  torch::manual_seed(1);
  auto ae = make_ae(tiny(), 3);
  test::TempDir dir;
  const auto path = write_diffusers(dir, state_dict(*ae), tiny());
  auto loaded = load_autoencoder(path, torch::kCPU);
  auto x = torch::rand({2, 3, 16, 16}) * 2 - 1;
  torch::NoGradGuard no_grad;
  auto z = loaded->encode(x).mean;
  EXPECT_TRUE(torch::equal(z, ae->encode(x).mean));
  EXPECT_TRUE(torch::equal(loaded->decode(z), ae->decode(z)));
  EXPECT_TRUE(torch::equal(loaded->decode(loaded->encode(x).mean), loaded->decode(z)));  // deterministic
}

TEST(AutoencoderKL, LegacyAttentionNamesLoadAsToday) {
  EXPECT_EQ(modern_attention_name("encoder.mid_block.attentions.0.query.weight"),
            "encoder.mid_block.attentions.0.to_q.weight");
  EXPECT_EQ(modern_attention_name("decoder.mid_block.attentions.0.proj_attn.bias"),
            "decoder.mid_block.attentions.0.to_out.0.bias");
  EXPECT_EQ(modern_attention_name("encoder.conv_in.weight"), "encoder.conv_in.weight");
  torch::manual_seed(2);
  auto ae = make_ae(tiny(), 3);
  std::map<std::string, torch::Tensor> legacy;
  const std::map<std::string, std::string> old{
      {"to_q", "query"}, {"to_k", "key"}, {"to_v", "value"}, {"to_out.0", "proj_attn"}};
  for (const auto& [stored, tensor] : state_dict(*ae)) {
    auto name = stored;
    auto t = tensor;
    for (const auto& [now, before] : old) {
      auto at = name.find("." + now + ".");
      if (at != std::string::npos) {
        name = name.substr(0, at + 1) + before + name.substr(at + 1 + now.size());
        if (t.dim() == 2) t = t.reshape({t.size(0), t.size(1), 1, 1});  // the 1x1-convolution form
      }
    }
    legacy[name] = t;
  }
  ASSERT_TRUE(legacy.count("decoder.mid_block.attentions.0.proj_attn.weight"));
  test::TempDir dir;
  auto loaded = load_autoencoder(write_diffusers(dir, legacy, tiny()), torch::kCPU);
  auto x = torch::rand({1, 3, 8, 8});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(loaded->forward(x, {}, {}, {}), ae->forward(x, {}, {}, {})));
}

TEST(AutoencoderKL, MissingOrMisshapenTensorIsRefusedByName) {
  auto tensors = state_dict(*make_ae(tiny(), 3));
  test::TempDir a, b;
  auto missing = tensors;
  missing.erase("decoder.up_blocks.1.upsamplers.0.conv.weight");
  auto msg = test::error_of([&] { load_autoencoder(write_diffusers(a, missing, tiny()), torch::kCPU); });
  EXPECT_NE(msg.find("missing tensor 'decoder.up_blocks.1.upsamplers.0.conv.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find(a / "diffusion_pytorch_model.safetensors"), std::string::npos) << msg;
  auto misshapen = tensors;
  misshapen["encoder.down_blocks.2.resnets.0.conv_shortcut.weight"] = torch::zeros({32, 16, 3, 3});
  msg = test::error_of([&] { load_autoencoder(write_diffusers(b, misshapen, tiny()), torch::kCPU); });
  EXPECT_NE(msg.find("'encoder.down_blocks.2.resnets.0.conv_shortcut.weight' has shape [32,16,3,3], expected "
                     "[32,16,1,1]"),
            std::string::npos)
      << msg;
}

TEST(AutoencoderKL, WithoutConfigJsonAFileIsReadAsSdVaeFtMse) {
  test::TempDir dir;
  save_tensors(dir / "vae.safetensors", state_dict(*make_ae(tiny(), 3)));
  auto msg = test::error_of([&] { load_autoencoder(dir / "vae.safetensors", torch::kCPU); });
  // The tiny file does not have sd-vae-ft-mse's 128-channel first block.
  EXPECT_NE(msg.find("'encoder.conv_in.weight' has shape [8,3,3,3], expected [128,3,3,3]"), std::string::npos) << msg;
}

TEST(AutoencoderKL, LossIsTheReconstructionErrorPlusTheWeightedKl) {
  torch::manual_seed(3);
  auto config = networks::autoencoder_config(8, 1, 4, 2, 8);
  auto net = networks::make_precond(config);
  auto& ae = dynamic_cast<AutoencoderKLImpl&>(net->model());
  auto x = torch::rand({3, 1, 8, 8}) * 2 - 1;
  torch::NoGradGuard no_grad;
  // With eps = 0 the latent is the mean; a zero KL weight leaves the squared error.
  auto zero = autoencoder_loss(*net, x, torch::zeros_like(x), 0);
  EXPECT_LT(test::max_abs_diff(zero, (ae.forward(x, {}, {}, {}) - x).square()), 1e-6);
  auto q = ae.encode(x);
  auto kl = 0.5 * (q.mean.square() + q.logvar.exp() - 1 - q.logvar).flatten(1).sum(1);
  auto with_kl = autoencoder_loss(*net, x, torch::zeros_like(x), 0.5);
  EXPECT_LT(test::max_abs_diff(with_kl.flatten(1).sum(1) - zero.flatten(1).sum(1), 0.5 * kl), 1e-4);
}

TEST(AutoencoderKL, ConfigRefusesAFactorThatDoesNotFit) {
  EXPECT_THROW(networks::autoencoder_config(28, 1, 3, 4, {}), UsageError);
  EXPECT_THROW(networks::autoencoder_config(28, 1, 8, 4, {}), UsageError);
  auto c = networks::autoencoder_config(28, 1, 4, 4, {});
  EXPECT_EQ(c["model"]["block_out_channels"], nlohmann::json({32, 64, 64}));
}

TEST(AutoencoderKL, DenoiserAndAutoencoderFilesRefuseEachOther) {
  test::TempDir dir;
  auto ae = networks::make_precond(networks::autoencoder_config(8, 1, 2, 2, 8));
  save_precond(dir / "ae.safetensors", *ae);
  auto msg = test::error_of([&] { load_denoiser(dir / "ae.safetensors", torch::kCPU); });
  EXPECT_NE(msg.find(dir / "ae.safetensors" + " is an autoencoder, not a denoiser"), std::string::npos) << msg;
  EXPECT_NO_THROW(load_autoencoder(dir / "ae.safetensors", torch::kCPU));
  nlohmann::json den = {{"precond", "EDMPrecond"}, {"sample_shape", {2}}, {"model", {{"model_type", "MLP"}}}};
  auto net = networks::make_precond(den);
  save_precond(dir / "den.safetensors", *net);
  msg = test::error_of([&] { load_autoencoder(dir / "den.safetensors", torch::kCPU); });
  EXPECT_NE(msg.find(dir / "den.safetensors" + " is a denoiser (EDMPrecond), not an autoencoder"), std::string::npos)
      << msg;
}

TEST(AutoencoderCli, TrainAutoencoderWritesAModelFileThatLoadsAsOne) {
  test::TempDir dir;
  auto r = test::run_edm(
      "train --autoencoder --cbase 8 --ae-factor 4 --latent-channels 2 --batch 8 --duration "
      "0.000032 --device cpu --seed 1 --outdir " +
      (dir / "ae"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("squared reconstruction error + 0.001 KL"), std::string::npos) << r.output;
  const auto model = test::last_file(dir / "ae", "network-snapshot");
  ASSERT_FALSE(model.empty()) << r.output;
  EXPECT_NE(model.find("autoencoder"), std::string::npos) << model;
  EXPECT_FALSE(fs::exists(fs::path(model).parent_path() / "samples.png")) << "an autoencoder makes no sample grid";
  auto ae = load_autoencoder(model, torch::kCPU);
  EXPECT_EQ(ae->options().latent_channels, 2);
  torch::NoGradGuard no_grad;
  EXPECT_EQ(ae->encode(torch::zeros({1, 1, 28, 28})).mean.sizes().vec(), (std::vector<int64_t>{1, 2, 7, 7}));
  r = test::run_edm("generate --net " + model + " --seeds 0 --steps 2 --device cpu --outdir " + (dir / "g"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("is an autoencoder, not a denoiser"), std::string::npos) << r.output;
  // The run goes on from its state.
  const auto state = test::last_file(dir / "ae", "training-state");
  r = test::run_edm("train --resume " + state + " --batch 8 --duration 0.000064 --device cpu --outdir " + (dir / "ae"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("AutoencoderKL"), std::string::npos) << r.output;
}

TEST(AutoencoderCli, OptionsThatDoNotFitAreUsageErrors) {
  test::TempDir dir;
  auto r = test::run_edm("train --autoencoder --ae-factor 3 --device cpu -n --outdir " + (dir / "a"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--ae-factor 3 is not a power of 2"), std::string::npos) << r.output;
  r = test::run_edm("train --autoencoder --ae-factor 8 --device cpu -n --outdir " + (dir / "a"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("does not divide the resolution 28"), std::string::npos) << r.output;
  r = test::run_edm("train --autoencoder --classifier --device cpu -n --outdir " + (dir / "a"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

}  // namespace
}  // namespace edm
