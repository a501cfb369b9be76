// Parameters inside generated PNGs: the text chunk, SHA-256, the sampler
// options as JSON, and --from-png remaking an image byte for byte for every
// sampler family.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "edm/core/error.h"
#include "edm/io/atomic_file.h"
#include "edm/io/image.h"
#include "edm/io/png_text.h"
#include "edm/io/safetensors.h"
#include "edm/io/sha256.h"
#include "edm/sampling/generation_record.h"
#include "edm/sampling/ideal_denoiser.h"
#include "edm/sampling/options_json.h"
#include "testing.h"

using namespace edm;
namespace fs = std::filesystem;

TEST(PngText, ChunkRoundTripKeepsPixels) {
  auto img = torch::arange(4 * 5 * 3, torch::kUInt8).reshape({4, 5, 3});
  const std::string text = "{\"caf\xc3\xa9\": [1, 2]}";
  auto png = png_with_text(encode_png(img), "edm.generate", text);
  EXPECT_TRUE(torch::equal(decode_image(png, "x").permute({1, 2, 0}), img));
  auto chunks = png_text_chunks(png, "x.png");
  ASSERT_EQ(chunks.count("edm.generate"), 1u);
  EXPECT_EQ(chunks["edm.generate"], text);
  EXPECT_TRUE(png_text_chunks(encode_png(img), "y.png").empty());
  auto corrupt = png;
  corrupt[40] ^= 1;  // inside the text chunk: its CRC no longer matches
  EXPECT_THROW(png_text_chunks(corrupt, "c.png"), Error);
  EXPECT_THROW(png_text_chunks("GIF89a", "g.gif"), Error);
  EXPECT_THROW(png_text_chunks(png.substr(0, png.size() - 20), "t.png"), Error);
  EXPECT_THROW(png_with_text(encode_png(img), "", "x"), Error);
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  test::TempDir dir;
  const std::string million(1000000, 'a');
  write_file_atomic(dir / "a", million);
  EXPECT_EQ(sha256_file_hex(dir / "a"), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_THROW(sha256_file_hex(dir / "missing"), Error);
}

TEST(SamplerOptionsJson, EveryOptionRoundTrips) {
  SamplerOptions o;
  o.num_steps = 7, o.sigma_min = 0.01, o.disc.rho = 3.5, o.S_churn = 1.25, o.S_min = 0.1, o.S_max = 40;
  o.S_noise = 1.007, o.solver = "euler", o.discretization = "vp", o.schedule = "vp", o.scaling = "vp";
  o.alpha = 0.5, o.eta = 0.3, o.ld_steps = 4, o.ld_snr = 0.2, o.disc.epsilon_s = 2e-3, o.disc.C_1 = 0.002;
  o.disc.C_2 = 0.009, o.disc.M = 900;
  o.order = 2, o.variant = "bh1", o.restart = "2,1,0.1,0.5", o.rtol = 0.02, o.predictor = "euler-maruyama",
  o.corrector_steps = 2, o.snr = 0.1, o.respace = 7, o.clip_denoised = true, o.afs = true;
  o.steps = {80, 10, 1, 0.1, 0.01, 0.005, 0.002};
  auto j = sampler_options_to_json(o);
  EXPECT_TRUE(j["sigma_max"].is_null());
  EXPECT_EQ(sampler_options_to_json(SamplerOptions())["S_max"], "inf");
  SamplerOptions back;
  sampler_options_from_json(nlohmann::json::parse(j.dump()), back);
  EXPECT_EQ(sampler_options_to_json(back), j);
  // Every field differs from its default, so none was skipped on the way.
  const auto defaults = sampler_options_to_json(SamplerOptions());
  for (const auto& name : sampler_option_names())
    if (name != "sigma_max") {
      EXPECT_NE(j[name], defaults[name]) << name;
    }
  // Every option the sampler table knows by flag is in the list.
  for (const auto& name : sampler_option_names()) EXPECT_EQ(j.count(name), 1u) << name;
  std::string flags = option_flags(~0u) + ", --steps, --sigma_min, --sigma_max, --rho";
  for (size_t at = 0; (at = flags.find("--", at)) != std::string::npos; at += 2) {
    const auto name = flags.substr(at + 2, flags.find(',', at) - at - 2);
    EXPECT_EQ(j.count(name), 1u) << name << " is an option but not in options_json.cpp";
  }
  EXPECT_THROW(sampler_options_from_json({{"stepz", 3}}, back), UsageError);
  EXPECT_THROW(sampler_options_from_json({{"steps", "3"}}, back), UsageError);
  EXPECT_THROW(sampler_options_from_json({{"steps", 2.5}}, back), UsageError);
  EXPECT_THROW(sampler_options_from_json({{"solver", 1}}, back), UsageError);
  EXPECT_THROW(sampler_options_from_json(nlohmann::json::array(), back), UsageError);
  EXPECT_EQ(format_seed_list({0, 1, 2, 3, 7, 9, 10}), "0-3,7,9-10");
}

namespace {

std::string bytes_of(const std::string& path) { return fs::exists(path) ? read_file(path) : "(missing)"; }

}  // namespace

TEST(GenerateCli, FromPngRemakesEverySamplerFamilyByteForByte) {
  test::TempDir dir;
  TensorFile ref(test::reference("samplers.safetensors"));
  const std::string model = dir / "ideal.safetensors";
  save_ideal_denoiser(model, ref.get("data.points"), {}, 0.2);
  for (std::string opts :
       {"--sampler edm --S_churn 20 --S_noise 1.003", "--solver euler --disc vp --schedule vp --scaling vp",
        "--sampler ddim --eta 0.5", "--sampler ddpm", "--sampler dpmpp3m --disc iddpm",
        "--sampler langevin --ld_steps 2", "--sampler euler_maruyama"}) {
    const std::string a = dir / "a", b = dir / "b";
    fs::remove_all(a), fs::remove_all(b);
    auto r = test::run_edm("generate --net " + model + " --seeds 3-8 --batch 4 --steps 6 --outdir " + a + " " + opts);
    ASSERT_EQ(r.exit_code, 0) << opts << ": " << r.output;
    r = test::run_edm("generate --from-png " + a + "/000008.png --net " + model + " --outdir " + b);
    ASSERT_EQ(r.exit_code, 0) << opts << ": " << r.output;
    EXPECT_EQ(bytes_of(b + "/000008.png"), bytes_of(a + "/000008.png")) << opts;
    EXPECT_FALSE(fs::exists(b + "/000007.png")) << "only the image asked for is written";
    // The pixels depend on the options: the record is what made them.
    auto chunks = png_text_chunks(read_file(a + "/000008.png"), "a");
    auto j = nlohmann::json::parse(chunks.at("edm.generate"));
    EXPECT_EQ(j["seed"], 8);
    EXPECT_EQ(j["batch_seeds"], "6-8");  // 6 seeds in batches of at most 4: two of 3
    EXPECT_EQ(j["model"]["name"], "ideal.safetensors");
    EXPECT_EQ(j["model"]["sha256"], sha256_file_hex(model));
    EXPECT_EQ(j["options"]["steps"], 6);
    EXPECT_EQ(j["edm_version"], EDM_VERSION);
    EXPECT_GT(j["nfe"].get<int>(), 0);
    EXPECT_FALSE(torch::equal(read_image(a + "/000008.png"), read_image(a + "/000007.png"))) << opts;
  }
}

TEST(GenerateCli, FromPngWithClassGuidanceAndItsRefusals) {
  test::TempDir dir;
  SeedBatch rnd({9});
  auto pts = (0.5 * rnd.randn({8, 1, 4, 4}, torch::kFloat64, torch::kCPU)[0]).to(torch::kFloat32);
  save_ideal_denoiser(dir / "cond.safetensors", pts, torch::tensor({0, 0, 0, 0, 1, 1, 1, 1}, torch::kInt64), 0.3);
  save_ideal_denoiser(dir / "other.safetensors", pts, torch::tensor({0, 0, 0, 0, 1, 1, 1, 1}, torch::kInt64), 0.31);
  auto r = test::run_edm("generate --net " + (dir / "cond.safetensors") + " --seeds 0-2 --steps 5 --class 1 " +
                         "--guidance 2.5 --S_churn 5 --outdir " + (dir / "a") + " --grid " + (dir / "grid.png"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Without --net the recorded model file is looked for beside the PNG.
  fs::copy_file(dir / "cond.safetensors", dir / "a/cond.safetensors");
  r = test::run_edm("generate --from-png " + (dir / "a/000001.png") + " --outdir " + (dir / "b"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(bytes_of(dir / "b/000001.png"), bytes_of(dir / "a/000001.png"));
  auto j = nlohmann::json::parse(png_text_chunks(read_file(dir / "a/000001.png"), "a").at("edm.generate"));
  EXPECT_EQ(j["class"], 1);
  EXPECT_EQ(j["guidance"], 2.5);
  EXPECT_EQ(j["sampler"], "edm");
  EXPECT_EQ(j["options"]["S_churn"], 5.0);
  // Another model, a PNG without parameters, a grid: refused with the reason.
  r = test::run_edm("generate --from-png " + (dir / "a/000001.png") + " --net " + (dir / "other.safetensors") +
                    " --outdir " + (dir / "c"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("is not the model that made"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "c/000001.png"));
  write_png(dir / "plain.png", torch::zeros({4, 4, 1}, torch::kUInt8));
  r = test::run_edm("generate --from-png " + (dir / "plain.png") + " --outdir " + (dir / "c"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("carries no edm generation parameters"), std::string::npos) << r.output;
  r = test::run_edm("generate --from-png " + (dir / "grid.png") + " --outdir " + (dir / "c"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("is a grid"), std::string::npos) << r.output;
  fs::remove(dir / "a/cond.safetensors");
  r = test::run_edm("generate --from-png " + (dir / "a/000001.png") + " --outdir " + (dir / "c"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("give --net"), std::string::npos) << r.output;
}
