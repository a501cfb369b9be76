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

}  // namespace

TEST(DistTrain, TwoProcessesEqualOneWithTheSameGlobalBatch) {
  test::TempDir dir;
  fs::create_directories(dir / "data");
  auto gen = at::detail::createCPUGenerator(5);
  for (int i = 0; i < 32; ++i)
    write_png(dir / ("data/" + std::to_string(100 + i) + ".png"),
              at::randint(0, 255, {8, 8, 1}, gen, torch::TensorOptions().dtype(torch::kUInt8)));
  // Four steps of a global batch of 8; no dropout, so that every random draw
  // follows the global batch.
  const std::string common = "train --data " + (dir / "data") +
                             " --cbase 8 --batch 8 --dropout 0 --duration 0.000032 --tick 0.016 --grid 1 "
                             "--device cpu --threads 1 -q --outdir ";
  auto one = test::run_edm(common + (dir / "one"));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  auto two = test::run_edm(common + (dir / "two") + " --nproc 2");
  ASSERT_EQ(two.exit_code, 0) << two.output;
  TensorFile a(find_state(dir / "one")), b(find_state(dir / "two"));
  double worst = 0;
  int n = 0;
  for (const auto& name : a.names()) {
    if (name.rfind("net.", 0) != 0) continue;
    ASSERT_TRUE(b.has(name)) << name;
    worst = std::max(worst, test::max_abs_diff(a.get(name), b.get(name)));
    ++n;
  }
  EXPECT_GT(n, 10);
  EXPECT_LT(worst, 1e-5);
  std::cout << "max |w_1proc - w_2proc| after 4 steps: " << worst << "\n";
  // Training happened (the optimizer saw gradients): the comparison is not
  // between two initialisations.
  double moment = 0;
  for (const auto& name : a.names())
    if (name.rfind("adam.m.", 0) == 0) moment = std::max(moment, a.get(name).abs().max().item<double>());
  EXPECT_GT(moment, 0);
}
