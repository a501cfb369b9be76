// edm generate end to end: the reference sampler cases through the command
// line with an ideal-denoiser model file, naming, and bad input.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "edm/io/safetensors.h"
#include "edm/sampling/generate.h"
#include "edm/sampling/ideal_denoiser.h"
#include "testing.h"

using namespace edm;

namespace {

// An ideal model of the fixture's points and its latents as files.
struct Fixture {
  test::TempDir dir;
  std::string model = dir / "ideal.safetensors", latents = dir / "latents.safetensors";
  TensorFile ref{test::reference("samplers.safetensors")};
  Fixture() {
    save_ideal_denoiser(model, ref.get("data.points"), {}, 0.0);
    save_tensors(latents, {{"latents", ref.get("input.latents")}});
  }
};

void check_cases(int num_steps) {
  Fixture f;
  auto cases = nlohmann::json::parse(f.ref.metadata("cases", "[]"));
  int n = 0;
  for (const auto& c : cases) {
    if (c["num_steps"] != num_steps) continue;
    ++n;
    std::string args = "generate --net " + f.model + " --latents " + f.latents + " --seeds 0-5 --steps " +
                       std::to_string(num_steps) + " --raw " + (f.dir / "raw.safetensors");
    if (c["fn"] == "ablation_sampler")
      args += " --solver " + c["solver"].get<std::string>() + " --disc " + c["discretization"].get<std::string>() +
              " --schedule " + c["schedule"].get<std::string>() + " --scaling " + c["scaling"].get<std::string>();
    auto r = test::run_edm(args);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    TensorFile raw(f.dir / "raw.safetensors");
    auto images = raw.get("images");
    EXPECT_EQ(images.scalar_type(), torch::kFloat64);
    EXPECT_LT(test::max_abs_diff(images, f.ref.get("output." + c["key"].get<std::string>())), 1e-6) << c["key"];
  }
  EXPECT_EQ(n, 25);
}

}  // namespace

TEST(GenerateCli, ReproducesReferenceCases5Steps) { check_cases(5); }
TEST(GenerateCli, ReproducesReferenceCases18Steps) { check_cases(18); }

TEST(GenerateCli, WritesPngPerSeedAsTheReferenceNamesThem) {
  Fixture f;
  auto out = f.dir / "out";
  auto r = test::run_edm("generate --net " + f.model + " --seeds 998-1001 --batch 3 --steps 4 --subdirs --outdir " +
                         out + " --grid " + (f.dir / "grid.png"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (auto name : {"000000/000998.png", "000000/000999.png", "001000/001000.png", "001000/001001.png"})
    EXPECT_TRUE(std::filesystem::exists(out + "/" + name)) << name;
  EXPECT_TRUE(std::filesystem::exists(f.dir / "grid.png"));
  EXPECT_EQ(seed_image_path("o", 12345, false), "o/012345.png");
}

TEST(GenerateCli, RejectsBadInputWithExitCode2) {
  Fixture f;
  const std::string base = "generate --net " + f.model + " --raw " + (f.dir / "r.safetensors") + " ";
  for (std::string bad :
       {"--steps 0", "--sigma_min 5 --sigma_max 1", "--rho 0", "--rho -1", "--S_churn nan", "--sigma_min nan",
        "--S_noise -0.5", "--seeds 5-1", "--seeds 99999999999999999999", "--seeds x", "--class 0", "--guidance 2",
        "--solver rk4", "--disc cosine", "--sampler nope", "--batch 0", "--alpha 0"}) {
    auto r = test::run_edm(base + bad);
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.output;
    EXPECT_NE(r.output.find("error"), std::string::npos) << bad;
    EXPECT_FALSE(std::filesystem::exists(f.dir / "r.safetensors")) << bad;
  }
  // Missing or malformed files are errors too (exit 1), never a crash.
  auto r = test::run_edm("generate --net " + (f.dir / "missing.safetensors") + " --raw " + (f.dir / "r.safetensors"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  r = test::run_edm(base + "--seeds 0-2 --latents " + f.latents);  // 6 latents for 3 seeds
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("latents"), std::string::npos);
  r = test::run_edm("generate --net " + f.model);  // nothing to write
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

TEST(GenerateCli, ClassConditionalIdealModel) {
  test::TempDir dir;
  auto pts = torch::cat({torch::full({4, 1, 4, 4}, -0.5), torch::full({4, 1, 4, 4}, 0.5)});
  auto labels = torch::tensor({0, 0, 0, 0, 1, 1, 1, 1}, torch::kInt64);
  save_ideal_denoiser(dir / "m.safetensors", pts, labels, 0.0);
  for (int cls : {0, 1}) {
    auto r = test::run_edm("generate --net " + (dir / "m.safetensors") + " --seeds 0-3 --steps 8 --class " +
                           std::to_string(cls) + " --raw " + (dir / "r.safetensors"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto images = TensorFile(dir / "r.safetensors").get("images");
    EXPECT_LT((images - (cls ? 0.5 : -0.5)).abs().max().item<double>(), 1e-6);
  }
  auto r = test::run_edm("generate --net " + (dir / "m.safetensors") + " --seeds 0 --class 2 --raw " +
                         (dir / "r.safetensors"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
}
