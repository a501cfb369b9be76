// edm phema and edm train --ema-std end to end, and autoguidance options of
// edm generate, through the command line.
#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"
#include "edm/phema/snapshots.h"
#include "edm/sampling/ideal_denoiser.h"
#include "testing.h"

using namespace edm;
namespace fs = std::filesystem;

namespace {

// A run directory of post-hoc EMA snapshots of an ideal denoiser, whose
// "points" play the averaged weights: times 1024, 2048 and stds 0.05, 0.1.
struct IdealRun {
  test::TempDir dir;
  std::string run = dir / "run", out = dir / "out";
  IdealRun() {
    fs::create_directories(run);
    const nlohmann::json config = {{"precond", "ideal"}, {"std", 0.0}};
    torch::manual_seed(0);
    for (int64_t nimg : {1024, 2048})
      for (double s : {0.05, 0.1})
        save_phema_snapshot(phema_snapshot_path(run, "network-snapshot", nimg, s),
                            {{"points", torch::randn({8, 1, 4, 4})}}, config, nimg, s);
  }
  std::string file(int64_t nimg, double s) const { return phema_snapshot_path(run, "network-snapshot", nimg, s); }
};

void expect_one_line_error(const test::CommandResult& r, int code, const std::string& needle, const std::string& what) {
  EXPECT_EQ(r.exit_code, code) << what << ": " << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << what << ": " << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << what << ": " << r.output;
}

}  // namespace

TEST(PhemaCli, ReconstructsAnInputsOwnProfileAsThatInput) {
  IdealRun f;
  auto r = test::run_edm("phema --indir " + f.run + " --std 0.1,0.05,0.07 --outdir " + f.out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // An input's own profile is in the span of the inputs: the fit returns it.
  for (double s : {0.05, 0.1}) {
    TensorFile got(phema_snapshot_path(f.out, "phema", 2048, s)), want(f.file(2048, s));
    EXPECT_LT(test::rel_diff(got.get("points"), want.get("points")), 1e-5) << s;
    EXPECT_EQ(got.metadata("edm.nimg", ""), "2048");
    EXPECT_DOUBLE_EQ(std::stod(got.metadata("edm.std", "")), s);
  }
  EXPECT_NO_THROW(load_denoiser(phema_snapshot_path(f.out, "phema", 2048, 0.07), torch::kCPU));
  r = test::run_edm("phema --indir " + f.run + " --std 0.05 --nimg 1024 --outdir " + f.out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  TensorFile early(phema_snapshot_path(f.out, "phema", 1024, 0.05));
  EXPECT_LT(test::rel_diff(early.get("points"), TensorFile(f.file(1024, 0.05)).get("points")), 1e-5);
}

TEST(PhemaCli, BadInputIsAOneLineError) {
  IdealRun f;
  const std::string base = "phema --indir " + f.run + " --outdir " + f.out + " ";
  expect_one_line_error(test::run_edm(base + "--std 0.3"), 2, "out of range", "std too large");
  expect_one_line_error(test::run_edm(base + "--std 0"), 2, "out of range", "std zero");
  expect_one_line_error(test::run_edm(base + "--std 0.1,x"), 2, "--std", "not a number");
  expect_one_line_error(test::run_edm(base + "--std 0.1 --nimg 512"), 2, "before the first", "too early");
  expect_one_line_error(test::run_edm(base + "--std 0.1 --nimg 1500"), 2, "no snapshot", "between snapshots");
  expect_one_line_error(test::run_edm("phema --indir " + (f.dir / "none") + " --std 0.1 --outdir " + f.out), 1,
                        "cannot read", "missing dir");
  fs::create_directories(f.dir / "empty");
  expect_one_line_error(test::run_edm("phema --indir " + (f.dir / "empty") + " --std 0.1 --outdir " + f.out), 1,
                        "no post-hoc EMA snapshots", "empty dir");
  // An input with other tensors than the rest.
  save_phema_snapshot(f.file(3072, 0.05), {{"points", torch::zeros({8, 1, 8, 8})}},
                      {{"precond", "ideal"}, {"std", 0.0}}, 3072, 0.05);
  expect_one_line_error(test::run_edm(base + "--std 0.1"), 1, "'points'", "shape mismatch");
  EXPECT_FALSE(fs::exists(f.out));
}

TEST(PhemaCli, TrainingWithEmaStdGivesSnapshotsThatReconstruct) {
  test::TempDir dir;
  auto r = test::run_edm("train --data fashion-mnist --outdir " + (dir / "runs") +
                         " --batch 16 --duration 0.001 --tick 0.5 --snap 1 --dump 0 --cbase 8 --grid 1 --threads 1"
                         " --device cpu -q --ema-std 0.05,0.100");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string run;
  for (const auto& e : fs::directory_iterator(dir / "runs")) run = e.path().string();
  const auto snaps = list_phema_snapshots(run);
  // Ticks at 16, 528 and 1008 images, two stds each; the first two are both
  // in kimg 0, so 528 replaced 16 (names in kimg, as the reference's).
  ASSERT_EQ(snaps.size(), 4u);
  EXPECT_EQ(snaps.front().nimg, 528);
  EXPECT_EQ(snaps.back().nimg, 1008);
  EXPECT_DOUBLE_EQ(snaps.back().std, 0.1);
  EXPECT_TRUE(fs::exists(run + "/network-snapshot-0000001-0.050.safetensors"));
  r = test::run_edm("phema --indir " + run + " --std 0.08 --outdir " + (dir / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto model = phema_snapshot_path(dir / "out", "phema", 1008, 0.08);
  r = test::run_edm("generate --net " + model + " --seeds 0-1 --steps 3 --raw " + (dir / "raw.safetensors") +
                    " --device cpu --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(torch::isfinite(TensorFile(dir / "raw.safetensors").get("images")).all().item<bool>());
  // An input's own profile reconstructs as that input.
  r = test::run_edm("phema --indir " + run + " --std 0.05 --outdir " + (dir / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  TensorFile want(run + "/network-snapshot-0000001-0.050.safetensors"),
      got(phema_snapshot_path(dir / "out", "phema", 1008, 0.05));
  for (const auto& name : want.names()) EXPECT_LT(test::rel_diff(got.get(name), want.get(name)), 1e-5) << name;
}

TEST(PhemaCli, BadEmaStdIsAUsageError) {
  test::TempDir dir;
  for (std::string bad : {"0.5", "x", "0.05,", "-0.1"}) {
    auto r = test::run_edm("train --outdir " + (dir / "runs") + " --ema-std=" + bad + " --device cpu -q");
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.output;
    EXPECT_NE(r.output.find("--ema-std"), std::string::npos) << bad << ": " << r.output;
  }
}

namespace {

struct GuideFiles {
  test::TempDir dir;
  std::string net = dir / "net.safetensors", guide = dir / "guide.safetensors", small = dir / "small.safetensors";
  GuideFiles() {
    torch::manual_seed(1);
    save_ideal_denoiser(net, torch::randn({16, 1, 4, 4}, torch::kFloat64), {}, 0.0);
    save_ideal_denoiser(guide, torch::randn({16, 1, 4, 4}, torch::kFloat64), {}, 0.0);
    save_ideal_denoiser(small, torch::randn({16, 1, 2, 2}, torch::kFloat64), {}, 0.0);
  }
  torch::Tensor generate(const std::string& extra) {
    auto r = test::run_edm("generate --net " + net + " --seeds 0-3 --steps 6 --raw " + (dir / "raw.safetensors") +
                           " --device cpu " + extra);
    EXPECT_EQ(r.exit_code, 0) << extra << ": " << r.output;
    return TensorFile(dir / "raw.safetensors").get("images").clone();
  }
};

}  // namespace

TEST(AutoguidanceCli, GuideNetChangesTheImagesOnlyWhenItGuides) {
  GuideFiles f;
  auto plain = f.generate("");
  EXPECT_TRUE(torch::equal(f.generate("--guide-net " + f.guide + " --guidance 1"), plain));
  auto guided = f.generate("--guide-net " + f.guide + " --guidance 2");
  EXPECT_GT(test::max_abs_diff(guided, plain), 1e-3);
  // An interval that holds no step of the sampler is no guidance at all.
  EXPECT_TRUE(torch::equal(f.generate("--guide-net " + f.guide + " --guidance 2 --guidance-interval 100,200"), plain));
  auto partial = f.generate("--guide-net " + f.guide + " --guidance 2 --guidance-interval 0.5,10");
  EXPECT_GT(test::max_abs_diff(partial, plain), 1e-6);
  EXPECT_GT(test::max_abs_diff(partial, guided), 1e-6);
}

TEST(AutoguidanceCli, ImpossibleGuidanceIsAOneLineError) {
  GuideFiles f;
  const std::string base = "generate --net " + f.net + " --seeds 0 --steps 3 --raw " + (f.dir / "r.safetensors") + " ";
  expect_one_line_error(test::run_edm(base + "--guide-net " + f.guide), 2, "needs --guidance", "no weight");
  expect_one_line_error(test::run_edm(base + "--guidance-interval 0.1,1"), 2, "needs --guidance", "no weight");
  expect_one_line_error(test::run_edm(base + "--guidance 2 --guide-net " + f.guide + " --guidance-interval 2,1"), 2,
                        "sigma_lo < sigma_hi", "reversed interval");
  expect_one_line_error(test::run_edm(base + "--guidance 2 --guide-net " + f.guide + " --guidance-interval 1"), 2,
                        "two noise levels", "one number");
  expect_one_line_error(test::run_edm(base + "--guidance 2 --guide-net " + f.small), 2, "shape", "other data");
  expect_one_line_error(test::run_edm(base + "--guidance 2 --guide-net " + (f.dir / "missing.safetensors")), 1,
                        "missing.safetensors", "missing file");
  // Without --guide-net, --guidance is classifier-free: it needs labels.
  expect_one_line_error(test::run_edm(base + "--guidance 2"), 2, "conditional", "cfg on an unconditional model");
  EXPECT_FALSE(fs::exists(f.dir / "r.safetensors"));
}

TEST(PhemaCli, ResumedRunTracksTheSameEmas) {
  // The EMAs travel with the training state: stopping at 512 images and
  // resuming gives the snapshots of a run that never stopped, bit for bit.
  test::TempDir dir;
  const std::string common =
      " --data fashion-mnist --batch 16 --tick 0.25 --snap 1 --dump 1 --cbase 8 --grid 1 --threads 1 --device cpu -q"
      " --ema-std 0.1";
  auto r = test::run_edm("train --outdir " + (dir / "full") + " --duration 0.001" + common);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_edm("train --outdir " + (dir / "first") + " --duration 0.0005" + common);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto run_of = [](const std::string& outdir) {
    std::string found;
    for (const auto& e : fs::directory_iterator(outdir)) found = e.path().string();
    return found;
  };
  const auto state = run_of(dir / "first") + "/training-state-000000.safetensors";
  ASSERT_TRUE(fs::exists(state));
  ASSERT_TRUE(fs::exists(run_of(dir / "first") + "/training-state-000000.phema.safetensors"));
  r = test::run_edm("train --outdir " + (dir / "second") + " --duration 0.001 --resume " + state + common);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string name = "/network-snapshot-0000001-0.100.safetensors";
  TensorFile full(run_of(dir / "full") + name), resumed(run_of(dir / "second") + name);
  ASSERT_EQ(full.names(), resumed.names());
  for (const auto& n : full.names()) EXPECT_TRUE(torch::equal(full.get(n), resumed.get(n))) << n;
  // Resuming with other stds than the state's is an error.
  r = test::run_edm("train --outdir " + (dir / "third") + " --duration 0.001 --resume " + state +
                    " --data fashion-mnist --batch 16 --cbase 8 --device cpu -q --ema-std 0.05");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--ema-std"), std::string::npos) << r.output;
}
