#include <zip.h>

#include <filesystem>
#include <fstream>

#include "edm/core/error.h"
#include "edm/data/idx.h"
#include "edm/eval/detector.h"
#include "edm/eval/fid.h"
#include "edm/io/image.h"
#include "edm/sampling/ideal_denoiser.h"
#include "edm/viz/sample_grid.h"
#include "testing.h"

namespace {

using namespace edm;
namespace fs = std::filesystem;

// Writes n random RGB images [H,W,3] into dir; returns them as [n,3,H,W].
torch::Tensor write_images(const std::string& dir, int n, int size, int seed) {
  fs::create_directories(dir);
  torch::manual_seed(seed);
  auto imgs = torch::randint(0, 256, {n, size, size, 3}, torch::kUInt8);
  for (int i = 0; i < n; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "/img%04d.png", i);
    write_png(dir + name, imgs[i]);
  }
  return imgs.permute({0, 3, 1, 2}).contiguous();
}

std::string q(const std::string& s) { return "'" + s + "'"; }

TEST(FidTest, FolderStatisticsAndDistanceViaTheCli) {
  test::TempDir dir;
  const std::string tiny = test::reference("detector_tiny.pt");
  auto a = write_images(dir / "a", 40, 20, 1), b = write_images(dir / "b", 30, 20, 2);
  auto r = test::run_edm("fid ref --data " + q(dir / "a") + " --dest " + q(dir / "a.safetensors") + " --detector " +
                         q(tiny) + " --batch 16");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_edm("fid calc --images " + q(dir / "b") + " --ref " + q(dir / "a.safetensors") + " --detector " +
                    q(tiny));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  double printed = std::stod(r.output.substr(r.output.find_last_of('\n', r.output.size() - 2) + 1));
  // The same through the library.
  auto det = load_detector(tiny, torch::kCPU);
  auto sa = detector_stats(*det, load_fid_images(dir / "a")), sb = detector_stats(*det, b);
  EXPECT_TRUE(torch::equal(load_fid_images(dir / "a"), a));
  double fd = frechet_distance(sb, sa);
  EXPECT_GT(fd, 0);
  EXPECT_NEAR(printed, fd, 1e-5 * fd);
  // A folder against its own statistics: zero up to rounding.
  r = test::run_edm("fid calc --images " + q(dir / "a") + " --ref " + q(dir / "a.safetensors") + " --detector " +
                    q(tiny));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_LT(std::abs(std::stod(r.output.substr(r.output.find_last_of('\n', r.output.size() - 2) + 1))), 1e-6);
  // --num larger than the folder.
  r = test::run_edm("fid calc --images " + q(dir / "b") + " --num 100 --ref " + q(dir / "a.safetensors") +
                    " --detector " + q(tiny));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("expected at least 100"), std::string::npos) << r.output;
}

TEST(FidTest, BadInputsAreClearErrors) {
  test::TempDir dir;
  const std::string tiny = test::reference("detector_tiny.pt");
  write_images(dir / "mixed", 3, 20, 1);
  write_png(dir / "mixed/zz.png", torch::zeros({24, 20, 3}, torch::kUInt8));
  auto r = test::run_edm("fid ref --data " + q(dir / "mixed") + " --dest " + q(dir / "s.safetensors") + " --detector " +
                         q(tiny));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("mixed sizes"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "s.safetensors"));

  write_images(dir / "one", 1, 20, 1);
  r = test::run_edm("fid ref --data " + q(dir / "one") + " --dest " + q(dir / "s.safetensors") + " --detector " +
                    q(tiny));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("at least 2"), std::string::npos) << r.output;

  r = test::run_edm("fid ref --data " + q(dir / "nothing") + " --dest " + q(dir / "s.safetensors"));
  EXPECT_EQ(r.exit_code, 1) << r.output;

  // Statistics of the wrong shape.
  save_tensors(dir / "bad.safetensors", {{"mu", torch::zeros({12})}, {"sigma", torch::zeros({12})}});
  r = test::run_edm("fid calc --images " + q(dir / "one") + " --ref " + q(dir / "bad.safetensors") + " --detector " +
                    q(tiny));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("sigma"), std::string::npos) << r.output;
  // Statistics from another detector (feature sizes differ).
  write_images(dir / "two", 2, 20, 3);
  save_tensors(dir / "f5.safetensors",
               {{"mu", torch::zeros({5}, torch::kFloat64)}, {"sigma", torch::eye(5, torch::kFloat64)}});
  r = test::run_edm("fid calc --images " + q(dir / "two") + " --ref " + q(dir / "f5.safetensors") + " --detector " +
                    q(tiny));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("features"), std::string::npos) << r.output;

  // A detector that is not TorchScript.
  { std::ofstream(dir / "det.pt") << "not a model"; }
  r = test::run_edm("fid calc --images " + q(dir / "two") + " --ref " + q(dir / "f5.safetensors") + " --detector " +
                    q(dir / "det.pt"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("not a detector"), std::string::npos) << r.output;

  r = test::run_edm("fid calc --images a --net b --ref c");
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

double last_number(const std::string& output) {
  return std::stod(output.substr(output.find_last_of('\n', output.size() - 2) + 1));
}

TEST(FidTest, BuiltInDetectorOnFashionMnistAndGeneratedImages) {
  test::TempDir dir;
  auto r = test::run_edm("fid ref --data fashion-mnist:test --num 300 --dest " + q(dir / "t.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto stats = load_stats(dir / "t.safetensors");
  EXPECT_EQ(stats.mu.size(0), 128);
  EXPECT_EQ(stats.count, 300);
  // Images generated on the fly from a model file (here the ideal denoiser of
  // a few test images, which the sampler reproduces almost exactly).
  auto test = load_fashion_mnist("t10k");
  auto points = from_uint8(test.images.slice(0, 0, 16));
  save_ideal_denoiser(dir / "ideal.safetensors", points, {}, 0.0);
  r = test::run_edm("fid calc --net " + q(dir / "ideal.safetensors") + " --seeds 0-23 --steps 12 --ref " +
                    q(dir / "t.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  double fd = last_number(r.output);
  EXPECT_TRUE(std::isfinite(fd));
  EXPECT_GT(fd, 0);
  // Two processes share the seeds as `edm generate` deals them and join their
  // feature sums: the same distance up to the order of float64 sums.
  r = test::run_edm("fid calc --net " + q(dir / "ideal.safetensors") + " --seeds 0-23 --steps 12 --nproc 2 --ref " +
                    q(dir / "t.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NEAR(last_number(r.output), fd, 1e-9 * fd);
  // Any of edm generate's samplers: a different sampler, a different distance.
  r = test::run_edm("fid calc --net " + q(dir / "ideal.safetensors") +
                    " --seeds 0-23 --steps 3 --sampler dpmpp3m --ref " + q(dir / "t.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(last_number(r.output), fd);
  r = test::run_edm("fid calc --images fashion-mnist:test --nproc 2 --ref " + q(dir / "t.safetensors"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

TEST(FidTest, ZipOfImagesAsTheTrainingDataLaysItOut) {
  test::TempDir dir;
  auto test = load_fashion_mnist("t10k");
  int err = 0;
  zip_t* z = zip_open((dir / "d.zip").c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  ASSERT_NE(z, nullptr);
  std::vector<std::string> keep;  // libzip reads the buffers at zip_close
  for (int i = 0; i < 40; ++i) keep.push_back(encode_png(test.images[i].permute({1, 2, 0}).contiguous()));
  for (int i = 0; i < 40; ++i) {
    zip_source_t* src = zip_source_buffer(z, keep[i].data(), keep[i].size(), 0);
    ASSERT_GE(zip_file_add(z, ("img" + std::to_string(1000 + i) + ".png").c_str(), src, ZIP_FL_OVERWRITE), 0);
  }
  ASSERT_EQ(zip_close(z), 0);
  auto from_zip = load_fid_images(dir / "d.zip");
  ASSERT_EQ(from_zip.sizes(), (std::vector<int64_t>{40, 1, 28, 28}));
  EXPECT_TRUE(torch::equal(from_zip, test.images.slice(0, 0, 40)));
  auto r = test::run_edm("fid ref --data " + q(dir / "d.zip") + " --dest " + q(dir / "z.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(load_stats(dir / "z.safetensors").count, 40);
}

}  // namespace

namespace {

TEST(FidTest, SampleGridHasOneRowPerClass) {
  // Three constant images (-0.8, 0, 0.8), one per class: row c must show class c.
  auto points = torch::tensor({-0.8, 0.0, 0.8}, torch::kFloat32).view({3, 1, 1, 1}).expand({3, 1, 8, 8}).contiguous();
  edm::IdealDenoiser net(points, torch::arange(3, torch::kInt64), 0.0, 3);
  edm::GenerateOptions o;
  o.sampler_options.num_steps = 10;
  auto grid = edm::sample_grid(net, 4, 0, o);
  ASSERT_EQ(grid.sizes(), (std::vector<int64_t>{3 * 9 + 1, 4 * 9 + 1, 1}));
  for (int r = 0; r < 3; ++r) {
    auto row = grid.slice(0, 1 + r * 9, 1 + r * 9 + 8).slice(1, 1, 9).to(torch::kFloat64);
    double expected = std::min(255.0, std::max(0.0, std::floor((r - 1) * 0.8 * 127.5 + 128)));
    EXPECT_NEAR(row.mean().item<double>(), expected, 2.0) << "row " << r;
  }
}

}  // namespace
