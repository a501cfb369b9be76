// edm generate end to end: the reference sampler cases through the command
// line with an ideal-denoiser model file, naming, and bad input.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "edm/core/rng.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"
#include "edm/sampling/generate.h"
#include "edm/sampling/guidance.h"
#include "edm/sampling/ideal_denoiser.h"
#include "edm/sampling/steps_file.h"
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
    // Float64 throughout; the bound covers the float32 latents file.
    EXPECT_LT(test::rel_diff(images, f.ref.get("output." + c["key"].get<std::string>())), 1e-6) << c["key"];
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

TEST(GenerateCli, OptionsTheSamplerDoesNotTakeAreErrors) {
  Fixture f;
  const std::string base =
      "generate --net " + f.model + " --seeds 0 --steps 3 --raw " + (f.dir / "r.safetensors") + " ";
  for (std::string bad : {"--eta 0.5", "--sampler edm --eta 0.5", "--sampler ddpm --eta 0.5",
                          "--sampler ddim --S_churn 5", "--sampler edm --disc vp", "--sampler dpmpp2m --ld_steps 2"}) {
    auto r = test::run_edm(base + bad);
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.output;
    EXPECT_NE(r.output.find("does not apply to sampler"), std::string::npos) << bad << ": " << r.output;
  }
  for (std::string ok : {"--sampler ddim --eta 0.5", "--sampler ddim --disc vp", "--sampler langevin --ld_steps 2",
                         "--S_churn 5", "--sampler edm --eta 0"}) {
    auto r = test::run_edm(base + ok);
    EXPECT_EQ(r.exit_code, 0) << ok << ": " << r.output;
  }
  auto r = test::run_edm("generate --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const auto& s : sampler_table()) EXPECT_NE(r.output.find(s.name), std::string::npos) << s.name;
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

TEST(GenerateCli, InvertThenGenerateRoundTrip) {
  test::TempDir dir;
  TensorFile ref(test::reference("samplers.safetensors"));
  auto pts = ref.get("data.points");
  save_ideal_denoiser(dir / "m.safetensors", pts, {}, 0.1);
  SeedBatch rnd({3, 4});
  auto images = pts.narrow(0, 0, 2).to(torch::kFloat64) + 0.1 * rnd.randn({1, 8, 8}, torch::kFloat64, torch::kCPU);
  save_tensors(dir / "img.safetensors", {{"images", images}});
  auto r = test::run_edm("invert --net " + (dir / "m.safetensors") + " --images " + (dir / "img.safetensors") +
                         " --steps 128 --out " + (dir / "lat.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_edm("generate --net " + (dir / "m.safetensors") + " --seeds 0-1 --steps 128 --latents " +
                    (dir / "lat.safetensors") + " --raw " + (dir / "back.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_LT(test::max_abs_diff(TensorFile(dir / "back.safetensors").get("images"), images), 1e-3);
}

namespace {

// Runs `edm generate` and returns its --raw images.
torch::Tensor raw_images(const std::string& dir, const std::string& args) {
  auto r = test::run_edm("generate " + args + " --raw " + dir + "/r.safetensors");
  EXPECT_EQ(r.exit_code, 0) << args << ": " << r.output;
  return r.exit_code == 0 ? TensorFile(dir + "/r.safetensors").get("images") : torch::zeros({1});
}

}  // namespace

TEST(GenerateCli, ClassifierFreeGuidance) {
  test::TempDir dir;
  // Two overlapping classes (Gaussians of std 0.3 around -0.5 and +0.5), so
  // that D_cond and D_uncond differ; the same points without labels make the
  // unconditional model.
  SeedBatch rnd({9});
  auto centre = torch::cat({torch::full({4, 1, 4, 4}, -0.5), torch::full({4, 1, 4, 4}, 0.5)});
  auto pts = (centre + 0.05 * rnd.randn({8, 1, 4, 4}, torch::kFloat64, torch::kCPU)[0]).to(torch::kFloat32);
  auto labels = torch::tensor({0, 0, 0, 0, 1, 1, 1, 1}, torch::kInt64);
  save_ideal_denoiser(dir / "cond.safetensors", pts, labels, 0.3);
  save_ideal_denoiser(dir / "uncond.safetensors", pts, {}, 0.3);

  // The formula, on the denoiser: D = D_uncond + w (D_cond - D_uncond).
  auto net = load_denoiser(dir / "cond.safetensors", torch::kCPU);
  auto x = torch::randn({3, 1, 4, 4}, torch::kFloat64);
  auto sigma = torch::full({3, 1, 1, 1}, 0.7, torch::kFloat64);
  auto onehot = torch::one_hot(torch::tensor({1, 1, 0}), 2).to(torch::kFloat32);
  auto d_c = net->denoise(x, sigma, onehot), d_u = net->denoise(x, sigma);
  EXPECT_GT((d_c - d_u).abs().max().item<double>(), 1e-3);
  GuidedDenoiser guided(net, 2.5);
  EXPECT_LT(test::max_abs_diff(guided.denoise(x, sigma, onehot), d_u + 2.5 * (d_c - d_u)), 1e-12);

  // Through edm generate: w = 1 is the conditional model, w = 0 the
  // unconditional one, and w > 1 pushes samples further towards the class.
  const std::string common = "--seeds 0-15 --steps 12 ";
  auto cond = raw_images(dir.path(), "--net " + (dir / "cond.safetensors") + " --class 1 " + common);
  auto w1 = raw_images(dir.path(), "--net " + (dir / "cond.safetensors") + " --class 1 --guidance 1 " + common);
  auto w0 = raw_images(dir.path(), "--net " + (dir / "cond.safetensors") + " --class 1 --guidance 0 " + common);
  auto uncond = raw_images(dir.path(), "--net " + (dir / "uncond.safetensors") + " " + common);
  auto w3 = raw_images(dir.path(), "--net " + (dir / "cond.safetensors") + " --class 1 --guidance 3 " + common);
  EXPECT_LT(test::max_abs_diff(w1, cond), 1e-9);
  EXPECT_LT(test::max_abs_diff(w0, uncond), 1e-9);
  EXPECT_GT(test::max_abs_diff(w3, cond), 1e-3);
  EXPECT_GT(w3.mean().item<double>(), cond.mean().item<double>() + 0.02);  // 0.052 measured
  EXPECT_GT(cond.mean().item<double>(), uncond.mean().item<double>() + 0.05);
  std::cout << "mean pixel: unconditional " << uncond.mean().item<double>() << ", class 1 "
            << cond.mean().item<double>() << ", class 1 with w = 3 " << w3.mean().item<double>() << "\n";
}

TEST(GenerateCli, TwoProcessesMakeTheSameImagesAsOne) {
  Fixture f;
  auto one = raw_images(f.dir.path(), "--net " + f.model + " --seeds 0-6 --batch 2 --steps 6 --S_churn 10");
  auto r = test::run_edm("generate --net " + f.model + " --seeds 0-6 --batch 2 --steps 6 --S_churn 10 --nproc 2 " +
                         "--outdir " + (f.dir / "png") + " --raw " + (f.dir / "two.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(torch::equal(TensorFile(f.dir / "two.safetensors").get("images"), one));
  for (int s = 0; s <= 6; ++s) EXPECT_TRUE(std::filesystem::exists(seed_image_path(f.dir / "png", s, false))) << s;
}

TEST(GenerateCli, NfePicksTheStepsAndEveryRunPrintsItsNfe) {
  Fixture f;
  const std::string base = "generate --net " + f.model + " --seeds 0-2 --raw " + (f.dir / "r.safetensors") + " ";
  for (auto [args, printed] : std::vector<std::pair<std::string, std::string>>{
           {"--nfe 9", "edm sampler, 9 NFE"},
           {"--sampler heun_afs --nfe 10", "heun_afs sampler, 10 NFE"},
           {"--sampler unipc --order 2 --nfe 7", "unipc sampler, 7 NFE"},
           {"--sampler restart --restart 2,1,0.1,1 --nfe 13", "restart sampler, 13 NFE"},
           {"--sampler ipndm --steps 6", "ipndm sampler, 6 NFE"},
           {"--sampler deis --afs --nfe 5", "deis sampler, 5 NFE"},  // 6 levels
           {"--sampler dpmpp3m_sde --steps 6", "dpmpp3m_sde sampler, 6 NFE"}}) {
    auto r = test::run_edm(base + args);
    EXPECT_EQ(r.exit_code, 0) << args << ": " << r.output;
    EXPECT_NE(r.output.find(printed), std::string::npos) << args << ": " << r.output;
  }
  auto r = test::run_edm(base + "--sampler adaptive --rtol 0.1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("adaptive sampler, "), std::string::npos) << r.output;
  for (std::string bad : {"--nfe 10", "--sampler heun_afs --nfe 9", "--sampler adaptive --nfe 10", "--order 2",
                          "--sampler ipndm --order 5", "--sampler unipc --variant bh3",
                          "--sampler restart --restart 1,1", "--sampler ipndm --rtol 0.1",
                          "--sampler dpmpp2m --restart 1,1,0.1,1", "--afs", "--sampler ipndm --afs --steps 1"}) {
    r = test::run_edm(base + bad);
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.output;
    EXPECT_NE(r.output.find("error"), std::string::npos) << bad << ": " << r.output;
  }
}

TEST(GenerateCli, StepsCommandWritesAFileGenerateReads) {
  Fixture f;
  const std::string steps = f.dir / "steps.txt";
  auto r = test::run_edm("steps --net " + f.model + " --nfe 6 --sampler unipc --seeds 0-7 --grid 64 --out " + steps);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_steps_file(steps).size(), 6u);
  const std::string base = "generate --net " + f.model + " --seeds 0-2 --raw " + (f.dir / "r.safetensors") + " ";
  r = test::run_edm(base + "--sampler unipc --steps-file " + steps);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("unipc sampler, 6 NFE"), std::string::npos) << r.output;
  for (std::string bad :
       std::vector<std::string>{"--steps-file " + steps + " --nfe 6", "--sampler ablation --steps-file " + steps,
                                "--steps-file " + (f.dir / "missing.txt"), "--disc cosine"}) {
    r = test::run_edm(base + bad);
    EXPECT_NE(r.exit_code, 0) << bad << ": " << r.output;
    EXPECT_NE(r.output.find("error"), std::string::npos) << bad << ": " << r.output;
  }
  r = test::run_edm("steps --net " + f.model + " --nfe 1 --out " + steps);  // no steps to search
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

TEST(GenerateCli, StepsWindowWritesSigmaMaxThenTheBestWindow) {
  Fixture f;
  const std::string steps = f.dir / "window.txt";
  const std::string base = "steps --net " + f.model + " --nfe 6 --sampler unipc --seeds 0-7 --method window ";
  auto r = test::run_edm(base + "--ref-steps 64 --window-hi 20,10 --window-lo 0.05 --window-rho 7 --out " + steps);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto t = read_steps_file(steps);
  ASSERT_EQ(t.size(), 6u);
  EXPECT_EQ(t[0], 80);
  EXPECT_TRUE(std::abs(t[1] - 20) < 1e-9 || std::abs(t[1] - 10) < 1e-9) << t[1];
  EXPECT_NEAR(t[5], 0.05, 1e-12);
  EXPECT_NE(r.output.find("sigma_hi 20"), std::string::npos) << r.output;  // every window is reported
  EXPECT_NE(r.output.find("sigma_hi 10"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("on the default levels"), std::string::npos) << r.output;
  for (std::string bad : {"--window-hi 80,100", "--window-lo x", "--window-rho 0", "--method best", "--grid 64"}) {
    r = test::run_edm(base + bad + " --out " + steps);
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.output;
    EXPECT_NE(r.output.find("error"), std::string::npos) << bad << ": " << r.output;
  }
  r = test::run_edm("steps --net " + f.model + " --nfe 6 --window-hi 20 --out " + steps);  // --method search
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--window-hi does not apply to --method search"), std::string::npos) << r.output;
  EXPECT_EQ(read_steps_file(steps), t);  // a refused run leaves the earlier file
}

TEST(GenerateCli, StepsFitMovesTheWindowsInteriorLevels) {
  Fixture f;
  const std::string steps = f.dir / "fit.txt";
  const std::string base = "steps --net " + f.model + " --nfe 6 --sampler unipc --seeds 0-7 --ref-steps 64 ";
  auto r =
      test::run_edm(base + "--method fit --window-hi 20 --window-lo 0.05 --window-rho 7 --sweeps 1 --out " + steps);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto t = read_steps_file(steps);
  ASSERT_EQ(t.size(), 6u);
  EXPECT_EQ(t[0], 80);  // the ends stay where the window put them
  EXPECT_NEAR(t[5], 0.05, 1e-12);
  for (size_t i = 1; i < t.size(); ++i) EXPECT_LT(t[i], t[i - 1]) << i;
  EXPECT_NE(r.output.find("pass 1 error"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("pass 2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("fitted from the window: sigma_hi 20"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("note: fitting on 8 seeds"), std::string::npos) << r.output;
  for (std::string bad : {"--method fit --sweeps 0", "--method window --sweeps 2", "--method fit --grid 64"}) {
    r = test::run_edm(base + bad + " --out " + steps);
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.output;
    EXPECT_NE(r.output.find("error"), std::string::npos) << bad << ": " << r.output;
  }
  EXPECT_NE(r.output.find("--grid does not apply to --method fit"), std::string::npos) << r.output;
  r = test::run_edm("steps --net " + f.model + " --nfe 6 --sweeps 2 --out " + steps);  // --method search
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--sweeps does not apply to --method search"), std::string::npos) << r.output;
  EXPECT_EQ(read_steps_file(steps), t);  // a refused run leaves the earlier file
}
