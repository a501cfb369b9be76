// Data-parallel training over c10d/Gloo: two local processes with the same
// global batch train the same weights as one process.
#include <filesystem>

#include "edm/io/image.h"
#include "edm/io/safetensors.h"
#include "testing.h"

using namespace edm;
namespace fs = std::filesystem;

namespace {

std::string find_state(const std::string& outdir) {
  for (const auto& run : fs::directory_iterator(outdir))
    for (const auto& e : fs::directory_iterator(run.path()))
      if (e.path().filename().string().rfind("training-state-", 0) == 0) return e.path().string();
  return "";
}

// Largest difference between the network weights of two training states.
double weight_difference(const std::string& a_path, const std::string& b_path, int* compared) {
  TensorFile a(a_path), b(b_path);
  double worst = 0;
  *compared = 0;
  for (const auto& name : a.names()) {
    if (name.rfind("net.", 0) != 0) continue;
    if (!b.has(name)) throw std::runtime_error("missing " + name);
    worst = std::max(worst, test::max_abs_diff(a.get(name), b.get(name)));
    ++*compared;
  }
  return worst;
}

struct Fixture {
  test::TempDir dir;
  std::string common;
  Fixture() {
    fs::create_directories(dir / "data");
    auto gen = at::detail::createCPUGenerator(5);
    for (int i = 0; i < 32; ++i)
      write_png(dir / ("data/" + std::to_string(100 + i) + ".png"),
                at::randint(0, 255, {8, 8, 1}, gen, torch::TensorOptions().dtype(torch::kUInt8)));
    // A global batch of 8; no dropout, so that every random draw follows the
    // global batch.
    common = "train --data " + (dir / "data") +
             " --cbase 8 --batch 8 --dropout 0 --tick 0.016 --grid 1 --device cpu --threads 1 -q ";
  }
  // Trains to `kimg` into outdir `name` and returns its last training state.
  std::string run(const std::string& name, const std::string& kimg, const std::string& extra = "") {
    auto r = test::run_edm(common + "--duration " + kimg + " --outdir " + (dir / name) + " " + extra);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r.exit_code == 0 ? find_state(dir / name) : "";
  }
};

}  // namespace

TEST(DistTrain, TwoProcessesEqualOneWithTheSameGlobalBatch) {
  Fixture f;
  const std::string kimg = "0.000032";  // four steps
  auto one = f.run("one", kimg);
  auto two = f.run("two", kimg, "--nproc 2");
  // Two micro-batches of 2 per process: gradients accumulate locally, and are
  // reduced during the second backward only.
  auto accum = f.run("accum", kimg, "--nproc 2 --batch-gpu 2");
  ASSERT_FALSE(one.empty() || two.empty() || accum.empty());
  int n = 0;
  double worst = weight_difference(one, two, &n);
  EXPECT_GT(n, 10);
  // Weights are of order 0.1-1 here; the ranks sum gradients in another order.
  EXPECT_LT(worst, 1e-5);
  std::cout << "max |w_1proc - w_2proc| after 4 steps: " << worst << "\n";
  double worst_accum = weight_difference(one, accum, &n);
  EXPECT_LT(worst_accum, 1e-5);
  std::cout << "max |w_1proc - w_2proc,accumulated| after 4 steps: " << worst_accum << "\n";
  // Training happened (the optimizer saw gradients): the comparison is not
  // between two initialisations.
  TensorFile a(one);
  double moment = 0;
  for (const auto& name : a.names())
    if (name.rfind("adam.m.", 0) == 0) moment = std::max(moment, a.get(name).abs().max().item<double>());
  EXPECT_GT(moment, 0);
}

TEST(DistTrain, ResumesAtADifferentWorldSize) {
  Fixture f;
  auto one = f.run("one", "0.000032");
  // Three steps on two processes, then the same state resumed by one process
  // (and the other way round) for the last. Every run with --dump ends with
  // a training state, as the reference's.
  auto half2 = f.run("half2", "0.000024", "--nproc 2");
  auto half1 = f.run("half1", "0.000024");
  ASSERT_FALSE(one.empty() || half2.empty() || half1.empty());
  auto to1 = f.run("to1", "0.000032", "--resume " + half2);
  auto to2 = f.run("to2", "0.000032", "--resume " + half1 + " --nproc 2");
  ASSERT_FALSE(to1.empty() || to2.empty());
  int n = 0;
  EXPECT_LT(weight_difference(one, to1, &n), 1e-5);
  EXPECT_GT(n, 10);
  EXPECT_LT(weight_difference(one, to2, &n), 1e-5);
}
