// Training: formulas against hand-computed values, augmentation, exact
// resume, atomic files under SIGKILL, and bad input.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "edm/core/error.h"
#include "edm/data/dataset.h"
#include "edm/io/atomic_file.h"
#include "edm/io/image.h"
#include "edm/io/safetensors.h"
#include "edm/nn/presets.h"
#include "edm/train/augment.h"
#include "edm/train/ema.h"
#include "edm/train/loop.h"
#include "edm/train/loss.h"
#include "testing.h"
#include "train_testing.h"

using namespace edm;
namespace fs = std::filesystem;

namespace {

// A small labelled folder data set: n images of res x res, two classes.
void write_dataset(const std::string& dir, int n, int res, bool labels = true, int channels = 1) {
  fs::create_directories(dir);
  nlohmann::json list = nlohmann::json::array();
  auto gen = at::detail::createCPUGenerator(1);
  for (int i = 0; i < n; ++i) {
    auto img = at::randint(0, 255, {res, res, channels}, gen, torch::TensorOptions().dtype(torch::kUInt8));
    char name[32];
    std::snprintf(name, sizeof name, "img%03d.png", i);
    write_png(dir + "/" + name, img);
    list.push_back({name, i % 2});
  }
  if (labels) write_file_atomic(dir + "/dataset.json", nlohmann::json({{"labels", list}}).dump());
}

TrainOptions tiny(const std::string& data, const std::string& outdir) {
  TrainOptions o;
  o.data = data;
  o.outdir = outdir;
  o.arch = "fmnist-s";
  o.cbase = 8;
  o.batch = 8;
  o.tick = 0.016;  // two steps
  o.lr_rampup = 0.016;
  o.snap = 1;
  o.dump = 1;
  return o;
}

std::string only_file(const std::string& run, const std::string& prefix) {
  std::string found;
  for (const auto& e : fs::directory_iterator(run))
    if (e.path().filename().string().rfind(prefix, 0) == 0) found = e.path().string();
  return found;
}

}  // namespace

TEST(Train, EmaAndLearningRateFormulas) {
  // Half-life 500k images, batch 512: beta = 0.5^(512/500000).
  EXPECT_DOUBLE_EQ(ema_beta(512, 500000, 1e9, 0.05), std::pow(0.5, 512.0 / 500000));
  // Ramp-up: early on the half-life is cur_nimg * ratio = 10000 * 0.05 = 500.
  EXPECT_DOUBLE_EQ(ema_beta(512, 500000, 10000, 0.05), std::pow(0.5, 512.0 / 500));
  EXPECT_DOUBLE_EQ(ema_beta(512, 500000, 10000, std::nullopt), std::pow(0.5, 512.0 / 500000));
  EXPECT_DOUBLE_EQ(ema_beta(512, 500000, 0, 0.05), std::pow(0.5, 512.0 / 1e-8));  // first step copies
  EXPECT_DOUBLE_EQ(ramped_lr(1e-3, 5000, 10000), 0.5e-3);
  EXPECT_DOUBLE_EQ(ramped_lr(1e-3, 20000, 10000), 1e-3);
  EXPECT_DOUBLE_EQ(ramped_lr(1e-3, 0, 10000), 0);
  // EMA update is p_net + beta (p_ema - p_net).
  torch::nn::Linear a(2, 1), b(2, 1);
  {
    torch::NoGradGuard g;
    a->weight.fill_(1), a->bias.fill_(1), b->weight.fill_(3), b->bias.fill_(3);
  }
  ema_update(*a, *b, 0.25);
  EXPECT_FLOAT_EQ(a->weight[0][0].item<float>(), 3 + 0.25f * (1 - 3));
}

TEST(Train, LossWeightsAndNoiseLevels) {
  auto c = LossConfig::for_precond("edm");
  auto s = torch::tensor({0.5f, 2.0f});
  auto w = loss_weight(c, s);
  EXPECT_FLOAT_EQ(w[0].item<float>(), (0.25f + 0.25f) / (0.25f * 0.25f));
  EXPECT_FLOAT_EQ(w[1].item<float>(), (4.0f + 0.25f) / (1.0f * 1.0f));
  torch::manual_seed(0);
  auto ln = sample_sigma(c, 200000, torch::kCPU).log();
  EXPECT_NEAR(ln.mean().item<double>(), -1.2, 0.01);
  EXPECT_NEAR(ln.std().item<double>(), 1.2, 0.01);
  auto ve = sample_sigma(LossConfig::for_precond("ve"), 10000, torch::kCPU);
  EXPECT_GE(ve.min().item<double>(), 0.02 * (1 - 1e-6));
  EXPECT_LE(ve.max().item<double>(), 100 * (1 + 1e-6));
  EXPECT_THROW(LossConfig::for_precond("cosine"), UsageError);
}

// With the preconditioning's and the loss's sigma_data equal to the data's
// std, a network whose raw output F is 0 (D = c_skip x) has an expected loss
// of exactly 1 at every sigma: lambda (c_skip^2 sigma^2 + (1 - c_skip)^2
// sigma_data^2) = 1. A loss that kept 0.5 beside a 0.7 network would not.
TEST(Train, SigmaDataSetsPreconditioningAndLossTogether) {
  const double sd = 0.7;
  auto config = networks::preset_config("fmnist-s", "edm", 8, 1, 0, 0, {});
  config["model"]["model_channels"] = 8;
  config["sigma_data"] = sd;
  auto net = networks::make_precond(config);
  {
    torch::NoGradGuard g;
    for (auto& p : net->parameters()) p.zero_();
  }
  LossConfig c = LossConfig::for_precond("edm");
  c.sigma_data = sd;
  torch::manual_seed(5);
  const int64_t n = 4096;
  auto y = torch::randn({n, 1, 8, 8}) * sd, noise = torch::randn({n, 1, 8, 8});
  for (double sigma : {0.05, 0.5, 3.0, 40.0}) {
    auto s = torch::full({n, 1, 1, 1}, sigma);
    auto loss = diffusion_loss(*net, y, {}, {}, c, s, noise).mean().item<double>();
    EXPECT_NEAR(loss, 1.0, 4 * std::sqrt(2.0 / (n * 64))) << "sigma " << sigma;  // chi^2: sd of the mean
  }
  // The command line: the plan names it, bad values are refused by name.
  test::TempDir dir;
  write_dataset(dir / "good", 8, 8);
  const std::string run = "train --data " + (dir / "good") + " --outdir " + (dir / "runs") + " --device cpu --dry-run ";
  auto ok = test::run_edm(run + "--sigma-data 0.7");
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("sigma_data 0.7"), std::string::npos) << ok.output;
  // Unless given, a small preset takes the data's own std (to 3 decimals), a
  // reference preset the reference's 0.5.
  const double measured = std::round(data_std(load_dataset(dir / "good")) * 1000) / 1000;
  EXPECT_GT(measured, 0.55);  // uniform 0..254 pixels: std 73.6 / 127.5 = 0.577
  EXPECT_LT(measured, 0.60);
  std::ostringstream want;
  want << "sigma_data " << measured << "\n";
  auto small = test::run_edm(run);
  ASSERT_EQ(small.exit_code, 0) << small.output;
  EXPECT_NE(small.output.find(want.str()), std::string::npos) << want.str() << small.output;
  auto reference = test::run_edm(run + "--arch ddpmpp --cbase 8");
  ASSERT_EQ(reference.exit_code, 0) << reference.output;
  EXPECT_NE(reference.output.find("sigma_data 0.5\n"), std::string::npos) << reference.output;
  for (const char* bad : {"--sigma-data 0", "--sigma-data -1", "--precond vp --sigma-data 0.7"}) {
    auto r = test::run_edm(run + bad);
    EXPECT_EQ(r.exit_code, 2) << bad << "\n" << r.output;
    EXPECT_NE(r.output.find("--sigma-data"), std::string::npos) << bad << "\n" << r.output;
  }
}

TEST(Train, DataStdIsTheStdOfAllValues) {
  Dataset d;
  d.name = "two";
  d.images = torch::tensor({0, 255, 255, 255}, torch::kUInt8).reshape({2, 1, 1, 2});
  // [-1, 1, 1, 1]: mean 0.5, variance (2.25 + 3 x 0.25) / 4 = 0.75.
  EXPECT_NEAR(data_std(d), std::sqrt(0.75), 1e-12);
  d.images = torch::full({3, 2, 4, 4}, 0.25f);  // latents: float values as they are
  EXPECT_NEAR(data_std(d), 0.0, 1e-12);
}

TEST(Train, AugmentIsIdentityAtZeroAndConsistentAbove) {
  torch::manual_seed(3);
  auto x = torch::rand({64, 1, 16, 16}) * 2 - 1;
  AugmentConfig c;
  EXPECT_EQ(c.label_dim(), 9);
  c.p = 0;
  auto a = augment(x, c);
  EXPECT_TRUE(torch::equal(a.images, x));
  EXPECT_EQ(a.augment_labels.abs().max().item<float>(), 0);
  // Only x-flips at p = 1: label 1 <=> the image is mirrored.
  AugmentConfig flip;
  flip.p = 1, flip.yflip = flip.scale = flip.rotate_frac = flip.aniso = flip.translate_frac = 0;
  auto f = augment(x, flip);
  ASSERT_EQ(f.augment_labels.size(1), 1);
  for (int i = 0; i < 64; ++i)
    EXPECT_TRUE(torch::equal(f.images[i], f.augment_labels[i][0].item<float>() == 1 ? x[i].flip({2}) : x[i]));
  // Everything at p = 0.5: labels vary, statistics are kept roughly.
  c.p = 0.5;
  // Smooth images, so that resampling keeps their statistics.
  auto big = torch::nn::functional::interpolate(torch::rand({512, 1, 4, 4}) * 2 - 1,
                                                torch::nn::functional::InterpolateFuncOptions()
                                                    .size(std::vector<int64_t>{16, 16})
                                                    .mode(torch::kBilinear)
                                                    .align_corners(true));
  auto g = augment(big, c);
  EXPECT_EQ(g.augment_labels.size(1), 9);
  EXPECT_GT((g.augment_labels.abs().sum(1) > 0).sum().item<int64_t>(), 256);
  EXPECT_NEAR(g.images.mean().item<double>(), big.mean().item<double>(), 0.02);
  EXPECT_NEAR(g.images.std().item<double>(), big.std().item<double>(), 0.1);
  // Unaugmented images (all-zero labels) are untouched.
  auto untouched = g.augment_labels.abs().sum(1) == 0;
  for (int i = 0; i < 512; ++i)
    if (untouched[i].item<bool>()) EXPECT_TRUE(torch::equal(g.images[i], big[i]));
}

TEST(Train, ResumeIsExact) {
  test::TempDir dir;
  write_dataset(dir / "data", 24, 8);
  auto full = tiny(dir / "data", dir / "full");
  full.duration = 64e-6;  // 8 steps
  auto run_full = train(full, test::quiet_cpu(2));
  auto half = tiny(dir / "data", dir / "half");
  half.duration = 32e-6;
  auto run_half = train(half, test::quiet_cpu(2));
  auto state = only_file(run_half, "training-state-");
  ASSERT_FALSE(state.empty());
  auto resumed = tiny(dir / "data", dir / "resumed");
  resumed.duration = 64e-6;
  resumed.resume = state;
  auto run_resumed = train(resumed, test::quiet_cpu(2));
  TensorFile a(only_file(run_full, "training-state-")), b(only_file(run_resumed, "training-state-"));
  int compared = 0;
  for (const auto& name : a.names()) {
    ASSERT_TRUE(b.has(name)) << name;
    EXPECT_TRUE(torch::equal(a.get(name), b.get(name))) << name;
    ++compared;
  }
  EXPECT_GT(compared, 20);
  EXPECT_TRUE(fs::exists(run_resumed + "/samples.png"));
  EXPECT_TRUE(fs::exists(run_resumed + "/loss.png"));
  // The first run's files are untouched by the others.
  EXPECT_TRUE(fs::exists(only_file(run_half, "network-snapshot-")));
}

TEST(Train, SigkillNeverLeavesACorruptFile) {
  test::TempDir dir;
  write_dataset(dir / "data", 16, 8);
  auto args = [&](int k) {
    return "train --data " + (dir / "data") + " --outdir " + (dir / ("runs/" + std::to_string(k))) +
           " --cbase 8 --batch 8 --tick 0.008 --snap 1 --dump 1 --duration 1 --device cpu -q";
  };
  // Each run writes a snapshot and a state every tick; kill it at a different
  // moment after its first state, so that kills land while files are written.
  auto has_state = [&](int k) {
    std::error_code ec;
    for (const auto& run : fs::directory_iterator(dir / ("runs/" + std::to_string(k)), ec))
      for (const auto& e : fs::directory_iterator(run.path(), ec))
        if (e.path().filename().string().rfind("training-state-", 0) == 0 && e.path().extension() == ".safetensors")
          return true;
    return false;
  };
  const int extra_ms[] = {0, 170, 430};
  for (int k = 0; k < 3; ++k) {
    pid_t pid = fork();
    if (pid == 0) {
      execl("/bin/sh", "sh", "-c", ("exec " + test::edm_binary() + " " + args(k) + " >/dev/null 2>&1").c_str(),
            nullptr);
      _exit(127);
    }
    for (int i = 0; i < 1200 && !has_state(k); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::this_thread::sleep_for(std::chrono::milliseconds(extra_ms[k]));
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    EXPECT_TRUE(has_state(k)) << "run " << k << " wrote no state before it was killed";
  }
  std::string latest;
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir / "runs")) {
    const auto name = e.path().filename().string();
    // SIGKILL cannot be cleaned up after: a temporary file may stay, but never
    // under a final name, and every file under a final name is complete.
    if (name.find(".tmp.") != std::string::npos) continue;
    if (e.path().extension() != ".safetensors") continue;
    EXPECT_NO_THROW(TensorFile(e.path().string()).names()) << name;
    ++files;
    if (name.rfind("training-state-", 0) == 0) latest = e.path().string();
  }
  EXPECT_GE(files, 6);
  ASSERT_FALSE(latest.empty());
  auto r = test::run_edm("train --data " + (dir / "data") + " --outdir " + (dir / "resumed") + " --resume " + latest +
                         " --duration 0.000048 --tick 0.008 --grid 1 --device cpu -q");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(Train, SigintOrSigtermSavesAStateAndExits) {
  test::TempDir dir;
  write_dataset(dir / "data", 16, 8);
  const int signals[] = {SIGINT, SIGTERM};
  for (int k = 0; k < 2; ++k) {
    const std::string out = dir / ("runs" + std::to_string(k));
    pid_t pid = fork();
    if (pid == 0) {
      const std::string args = "train --data " + (dir / "data") + " --outdir " + out +
                               " --cbase 8 --batch 8 --tick 0.008 --snap 1000 --dump 1000 --duration 1 --device cpu -q";
      execl("/bin/sh", "sh", "-c", ("exec " + test::edm_binary() + " " + args + " >/dev/null 2>&1").c_str(), nullptr);
      _exit(127);
    }
    // Wait for a few ticks of the stats log, then ask the run to stop.
    auto ticks = [&] {
      int n = 0;
      std::error_code ec;
      for (const auto& run : fs::directory_iterator(out, ec)) {
        std::ifstream in(run.path() / "stats.jsonl");
        for (std::string line; std::getline(in, line);) ++n;
      }
      return n;
    };
    for (int i = 0; i < 1200 && ticks() < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    kill(pid, signals[k]);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status)) << "the run died of the signal instead of stopping";
    EXPECT_EQ(WEXITSTATUS(status), 128 + signals[k]);
    // --dump 1000 writes no state on its own: this one is the stop's.
    std::string state;
    for (const auto& e : fs::recursive_directory_iterator(out))
      if (e.path().filename().string().rfind("training-state-", 0) == 0) state = e.path().string();
    ASSERT_FALSE(state.empty()) << "no training state after the signal";
    auto r = test::run_edm("train --data " + (dir / "data") + " --outdir " + (dir / ("resumed" + std::to_string(k))) +
                           " --resume " + state + " --duration 0.000048 --tick 0.008 --grid 1 --device cpu -q");
    EXPECT_EQ(r.exit_code, 0) << r.output;
  }
}

TEST(Train, BadInputIsAOneLineError) {
  test::TempDir dir;
  write_dataset(dir / "good", 8, 8);
  write_dataset(dir / "unlabelled", 8, 8, false);
  fs::create_directories(dir / "empty");
  write_dataset(dir / "mixed", 4, 8);
  write_png(dir / "mixed/zzz.png", torch::zeros({12, 12, 1}, torch::kUInt8));
  write_dataset(dir / "corrupt", 4, 8);
  write_file_atomic(dir / "corrupt/img001.png", "not a png");
  write_file_atomic(dir / "state.safetensors", "garbage");
  const std::string quick = " --cbase 8 --batch 8 --duration 0.000016 --tick 0.008 --grid 1 --device cpu -q";
  struct Case {
    std::string args, needle;
  };
  std::vector<Case> cases = {
      {"--data " + (dir / "missing") + quick, "does not exist"},
      {"--data " + (dir / "empty") + quick, "no images"},
      {"--data " + (dir / "mixed") + quick, "different sizes"},
      {"--data " + (dir / "corrupt") + quick, "img001.png"},
      {"--data " + (dir / "unlabelled") + " --cond 1" + quick, "labels"},
      {"--data " + (dir / "good") + quick, "/proc/edm-cannot-write"},
      {"--data " + (dir / "good") + " --resume " + (dir / "state.safetensors") + quick, "state.safetensors"},
      {"--data " + (dir / "good") + " --batch 0" + quick, "batch"},
      {"--data " + (dir / "good") + " --lr -1" + quick, "lr"},
      {"--data " + (dir / "good") + " --arch nope" + quick, "nope"},
  };
  for (const auto& c : cases) {
    const bool unwritable = c.needle == "/proc/edm-cannot-write";
    auto r = test::run_edm("train --outdir " + (unwritable ? c.needle : dir / "runs") + " " + c.args);
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_NE(r.output.find("error"), std::string::npos) << c.args << ": " << r.output;
    EXPECT_NE(r.output.find(c.needle), std::string::npos) << c.args << ": " << r.output;
  }
  // A state of another network (other data resolution) is refused by name.
  write_dataset(dir / "big", 8, 16);
  auto o = tiny(dir / "good", dir / "runs2");
  o.duration = 32e-6;  // no state at tick 0, one at the end
  auto run = train(o, test::quiet_cpu(2));
  const auto state = only_file(run, "training-state-");
  ASSERT_FALSE(state.empty()) << run;
  auto r =
      test::run_edm("train --data " + (dir / "big") + " --outdir " + (dir / "runs") + " --resume " + state + quick);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("does not fit"), std::string::npos) << r.output;
}

namespace {

// The file of a run with the highest kimg (names end in -NNNNNN.safetensors).
std::string latest_file(const std::string& run, const std::string& prefix) {
  std::string found;
  for (const auto& e : fs::directory_iterator(run)) {
    const auto name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && e.path().extension() == ".safetensors" && e.path().string() > found)
      found = e.path().string();
  }
  return found;
}

// The one run directory under outdir.
std::string only_run(const std::string& outdir) {
  std::string found;
  for (const auto& e : fs::directory_iterator(outdir)) found = e.path().string();
  return found;
}

void expect_same_tensors(const std::string& a_path, const std::string& b_path) {
  TensorFile a(a_path), b(b_path);
  ASSERT_EQ(a.names().size(), b.names().size()) << a_path << " vs " << b_path;
  for (const auto& name : a.names()) {
    ASSERT_TRUE(b.has(name)) << name;
    EXPECT_TRUE(torch::equal(a.get(name), b.get(name))) << name << " differs: " << a_path << " vs " << b_path;
  }
}

}  // namespace

TEST(Train, TicksAsTheReferenceCountsThem) {
  // The run of the issue: tick 0 ends after the first step, so --dump 1
  // leaves a training state at the end (tick 1) that a later run resumes.
  test::TempDir dir;
  auto r = test::run_edm("train --data fashion-mnist --outdir " + (dir / "runs") +
                         " --batch 16 --duration 0.001 --tick 1 --snap 1 --dump 1 --cbase 8 --grid 1 --threads 1"
                         " --device cpu -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto run = only_run(dir / "runs");
  EXPECT_FALSE(latest_file(run, "training-state-").empty()) << r.output;
  EXPECT_TRUE(fs::exists(run + "/network-snapshot-000000.safetensors"));  // tick 0, after 16 images
  EXPECT_TRUE(fs::exists(run + "/network-snapshot-000001.safetensors"));  // the end, 1008 images
  // stats.jsonl as the reference writes it: {"num", "mean", "std"} per key.
  std::ifstream in(run + "/stats.jsonl");
  std::vector<nlohmann::json> ticks;
  for (std::string line; std::getline(in, line);) ticks.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(ticks.size(), 2u);
  EXPECT_EQ(ticks[0]["Progress/tick"]["mean"], 0);
  EXPECT_DOUBLE_EQ(ticks[0]["Progress/kimg"]["mean"].get<double>(), 0.016);
  EXPECT_DOUBLE_EQ(ticks[1]["Progress/kimg"]["mean"].get<double>(), 1.008);
  EXPECT_EQ(ticks[0]["Loss/loss"]["num"], 16 * 28 * 28);  // every pixel of the step
  for (const char* key :
       {"Timing/total_sec", "Timing/sec_per_tick", "Timing/sec_per_kimg", "Resources/cpu_mem_gb", "Loss/loss"})
    for (const char* part : {"num", "mean", "std"}) EXPECT_TRUE(ticks[1][key][part].is_number()) << key << part;
  EXPECT_TRUE(ticks[1]["timestamp"].is_number());
}

TEST(Train, ResumingForOneMoreKimgEqualsOneRun) {
  test::TempDir dir;
  write_dataset(dir / "data", 24, 8);
  const std::string common = " --data " + (dir / "data") +
                             " --batch 16 --cbase 8 --tick 0.5 --snap 1 --dump 1 --grid 1 --threads 1 --device cpu -q";
  auto r = test::run_edm("train --outdir " + (dir / "full") + " --duration 0.002" + common);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_edm("train --outdir " + (dir / "first") + " --duration 0.001" + common);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto state = latest_file(only_run(dir / "first"), "training-state-");
  ASSERT_FALSE(state.empty());
  r = test::run_edm("train --outdir " + (dir / "second") + " --duration 0.002 --resume " + state + common);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto full = only_run(dir / "full"), resumed = only_run(dir / "second");
  // Both end at 2000 images (63 + 62 steps of 16 against 125).
  expect_same_tensors(full + "/network-snapshot-000002.safetensors", resumed + "/network-snapshot-000002.safetensors");
  expect_same_tensors(full + "/training-state-000002.safetensors", resumed + "/training-state-000002.safetensors");
}

TEST(Train, IddpmTrainingIsAUsageError) {
  // iDDPM's L_hybrid is not implemented: refuse rather than train with the EDM loss.
  test::TempDir dir;
  write_dataset(dir / "data", 8, 8);
  auto r = test::run_edm("train --precond iddpm --data " + (dir / "data") + " --outdir " + (dir / "runs") +
                         " --cbase 8 --batch 8 --duration 0.000016 --device cpu -q");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  const auto at = r.output.find("error: ");
  ASSERT_NE(at, std::string::npos) << r.output;
  const auto line = r.output.substr(at, r.output.find('\n', at) - at);  // one line says it all
  EXPECT_NE(line.find("iddpm"), std::string::npos) << r.output;
  EXPECT_NE(line.find("not implemented"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "runs"));
  EXPECT_THROW(LossConfig::for_precond("iddpm"), UsageError);
  EXPECT_EQ(LossConfig::for_precond("VPPrecond").kind, "vp");
  // One rule for dropout everywhere: [0, 1).
  r = test::run_edm("train --dropout 1 --data " + (dir / "data") + " --outdir " + (dir / "runs") + " --device cpu -q");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--dropout must be in [0, 1)"), std::string::npos) << r.output;
}
