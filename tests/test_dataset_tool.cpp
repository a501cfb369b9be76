// edm dataset: the reference's dataset_tool.py layout from every kind of
// source, zips that `edm train --data` reads with their labels, the
// reference's resampling, and bad input named by file with nothing written.
#include <zlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "edm/core/error.h"
#include "edm/data/archive.h"
#include "edm/data/dataset.h"
#include "edm/data/dataset_tool.h"
#include "edm/data/idx.h"
#include "edm/io/atomic_file.h"
#include "edm/io/image.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"
#include "testing.h"

using namespace edm;
namespace fs = std::filesystem;

namespace {

const std::string kQuickTrain = " --cbase 8 --batch 8 --duration 0.000016 --tick 0.008 --grid 1 --device cpu -q";

// Trains a few steps on `data` and returns the snapshot's label_dim.
int64_t train_label_dim(const std::string& data, const std::string& outdir) {
  auto r = test::run_edm("train --data " + data + " --outdir " + outdir + kQuickTrain);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const auto& e : fs::recursive_directory_iterator(outdir))
    if (e.path().filename().string().rfind("network-snapshot-", 0) == 0)
      return read_model_config(TensorFile(e.path().string())).value("label_dim", int64_t(0));
  ADD_FAILURE() << "no snapshot in " << outdir << ": " << r.output;
  return -1;
}

// n random images of res x res x c, in two class folders a/ and b/.
torch::Tensor write_class_folders(const std::string& dir, int n, int res, int c) {
  auto gen = at::detail::createCPUGenerator(3);
  auto imgs = at::randint(0, 256, {n, res, res, c}, gen, torch::TensorOptions().dtype(torch::kUInt8));
  for (int i = 0; i < n; ++i) {
    const std::string sub = dir + (i < n / 2 ? "/a" : "/b");
    fs::create_directories(sub);
    write_png(sub + "/" + std::to_string(100 + i) + ".png", imgs[i]);
  }
  return imgs;
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

std::string idx_header(std::initializer_list<uint32_t> dims) {
  std::string h = {0, 0, 8, static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) h.push_back(static_cast<char>((d >> s) & 0xff));
  return h;
}

}  // namespace

TEST(DatasetCli, BuiltInFashionMnistMakesAZipThatTrainsWithLabels) {
  test::TempDir dir;
  auto r = test::run_edm("dataset --source fashion-mnist --dest " + (dir / "fm.zip") + " --max-images 300 -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("300 images of 32x32x1, labelled"), std::string::npos) << r.output;
  // The reference's layout: padded to 32x32 (as its MNIST reader), names and dataset.json.
  auto tree = open_file_tree(dir / "fm.zip");
  EXPECT_EQ(tree->names().front(), "00000/img00000000.png");
  EXPECT_EQ(tree->names()[299], "00000/img00000299.png");
  EXPECT_EQ(tree->read("dataset.json").rfind("{\"labels\": [[\"00000/img00000000.png\", 9], [", 0), 0u);
  auto fm = load_fashion_mnist("train");
  auto d = load_dataset(dir / "fm.zip");
  ASSERT_EQ(d.images.sizes(), (std::vector<int64_t>{300, 1, 32, 32}));
  EXPECT_TRUE(torch::equal(d.images.narrow(2, 2, 28).narrow(3, 2, 28), fm.images.narrow(0, 0, 300)));
  EXPECT_EQ(d.images.narrow(2, 0, 2).sum().item<int64_t>(), 0);
  EXPECT_TRUE(torch::equal(d.labels, fm.labels.narrow(0, 0, 300)));
  EXPECT_EQ(train_label_dim(dir / "fm.zip", dir / "runs"), 10);
}

TEST(DatasetCli, FolderOfPngsToZipAndFolderKeepsPixelsAndLabels) {
  test::TempDir dir;
  auto imgs = write_class_folders(dir / "src", 8, 8, 3);
  for (std::string dest : {dir / "out.zip", dir / "out"}) {
    auto r = test::run_edm("dataset --source " + (dir / "src") + " --dest " + dest + " -q");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto d = load_dataset(dest);
    EXPECT_TRUE(torch::equal(d.images, imgs.permute({0, 3, 1, 2}))) << dest;
    EXPECT_TRUE(torch::equal(d.labels, torch::tensor({0, 0, 0, 0, 1, 1, 1, 1}, torch::kInt64))) << dest;
    EXPECT_TRUE(fs::exists(dest == dir / "out" ? dir / "out/00000/img00000007.png" : dest));
  }
  // dataset.json labels win over folder names; the zip is a source too.
  nlohmann::json labels = nlohmann::json::array();
  for (int i = 0; i < 8; ++i)
    labels.push_back({std::string(i < 4 ? "a/" : "b/") + std::to_string(100 + i) + ".png", i % 3});
  write_file_atomic(dir / "src/dataset.json", nlohmann::json({{"labels", labels}}).dump());
  auto r = test::run_edm("dataset --source " + (dir / "src") + " --dest " + (dir / "json.zip") + " -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_edm("dataset --source " + (dir / "json.zip") + " --dest " + (dir / "again.zip") + " --max-images 5 -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto d = load_dataset(dir / "again.zip");
  EXPECT_TRUE(torch::equal(d.labels, torch::tensor({0, 1, 2, 0, 1}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(d.images, imgs.narrow(0, 0, 5).permute({0, 3, 1, 2})));
  EXPECT_EQ(train_label_dim(dir / "json.zip", dir / "runs"), 3);
}

TEST(DatasetCli, IdxFilesAndCifarBinaryArchive) {
  test::TempDir dir;
  auto gen = at::detail::createCPUGenerator(5);
  auto digits = at::randint(0, 256, {5, 28, 28}, gen, torch::TensorOptions().dtype(torch::kUInt8));
  write_gz(dir / "train-images-idx3-ubyte.gz",
           idx_header({5, 28, 28}) + std::string(static_cast<char*>(digits.data_ptr()), 5 * 28 * 28));
  write_gz(dir / "train-labels-idx1-ubyte.gz", idx_header({5}) + std::string("\3\1\4\1\5", 5));
  auto r = test::run_edm("dataset --source " + (dir / "train-images-idx3-ubyte.gz") + " --dest " + (dir / "m.zip"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto d = load_dataset(dir / "m.zip");
  EXPECT_TRUE(torch::equal(d.images.narrow(2, 2, 28).narrow(3, 2, 28).squeeze(1), digits));
  EXPECT_TRUE(torch::equal(d.labels, torch::tensor({3, 1, 4, 1, 5}, torch::kInt64)));
  // Labels that do not match the images are named.
  write_gz(dir / "train-labels-idx1-ubyte.gz", idx_header({4}) + std::string("\3\1\4\1", 4));
  r = test::run_edm("dataset --source " + (dir / "train-images-idx3-ubyte.gz") + " --dest " + (dir / "bad.zip"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("train-labels-idx1-ubyte.gz: 4 labels for 5 images"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "bad.zip"));

  // CIFAR-10's binary version: five batches of 10000 records (label, 3x32x32).
  fs::create_directories(dir / "c/cifar-10-batches-bin");
  std::string batch(10000 * 3073, '\0');
  for (int i = 0; i < 10000; ++i) {
    batch[i * 3073] = static_cast<char>(i % 10);
    for (int k = 1; k < 3073; ++k) batch[i * 3073 + k] = static_cast<char>((i * 7 + k) % 251);
  }
  for (int b = 1; b <= 5; ++b)
    write_file_atomic(dir / ("c/cifar-10-batches-bin/data_batch_" + std::to_string(b) + ".bin"), batch);
  ASSERT_EQ(
      std::system(
          ("tar czf " + (dir / "cifar-10-binary.tar.gz") + " -C " + (dir / "c") + " cifar-10-batches-bin").c_str()),
      0);
  r = test::run_edm("dataset --source " + (dir / "cifar-10-binary.tar.gz") + " --dest " + (dir / "c.zip") +
                    " --max-images 12 -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  d = load_dataset(dir / "c.zip");
  ASSERT_EQ(d.images.sizes(), (std::vector<int64_t>{12, 3, 32, 32}));
  EXPECT_EQ(d.labels[11].item<int64_t>(), 1);
  EXPECT_EQ(d.images[11][0][0][0].item<int>(), (11 * 7 + 1) % 251);  // first byte: red, top-left
  EXPECT_EQ(d.images[11][2][31][31].item<int>(), (11 * 7 + 3072) % 251);
}

TEST(DatasetCli, BadInputIsNamedAndNothingIsWritten) {
  test::TempDir dir;
  write_class_folders(dir / "corrupt", 4, 8, 1);
  write_file_atomic(dir / "corrupt/b/broken.png", "not a png");
  write_class_folders(dir / "mixed", 4, 8, 1);
  write_png(dir / "mixed/b/zz.png", torch::zeros({12, 12, 1}, torch::kUInt8));
  write_class_folders(dir / "odd", 2, 12, 1);
  write_class_folders(dir / "unlabelled", 4, 8, 1);
  write_file_atomic(dir / "unlabelled/dataset.json", R"({"labels": [["a/100.png", 0]]})");
  fs::create_directories(dir / "full");
  write_file_atomic(dir / "full/x", "x");
  struct Case {
    std::string args, needle;
    int code;
  };
  const std::vector<Case> cases = {
      {"--source " + (dir / "corrupt"), "broken.png", 1},
      {"--source " + (dir / "mixed"), "zz.png is 12x12x1", 1},
      {"--source " + (dir / "odd"), "power of two", 1},
      {"--source " + (dir / "unlabelled"), "no label for a/101.png", 1},
      {"--source " + (dir / "missing"), "missing does not exist", 1},
      {"--source " + (dir / "mixed") + " --transform center-crop", "needs --resolution", 2},
      {"--source " + (dir / "mixed") + " --resolution 8", "--resolution '8'", 2},
      {"--source " + (dir / "mixed") + " --transform zoom --resolution 8x8", "zoom", 2},
      {"--source " + (dir / "mixed") + " --max-images 0", "max-images", 2},
  };
  for (const auto& c : cases)
    for (std::string dest : {dir / "d.zip", dir / "d"}) {
      auto r = test::run_edm("dataset -q --dest " + dest + " " + c.args);
      EXPECT_EQ(r.exit_code, c.code) << c.args << ": " << r.output;
      EXPECT_NE(r.output.find(c.needle), std::string::npos) << c.args << ": " << r.output;
      EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
      EXPECT_FALSE(fs::exists(dest)) << c.args;
    }
  auto r = test::run_edm("dataset -q --source " + (dir / "odd") + " --dest " + (dir / "full") + " --resolution 8x8");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("not an empty folder"), std::string::npos) << r.output;
  // No temporary is left beside the destination either.
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  // --resolution resizes mixed sizes into one.
  r = test::run_edm("dataset -q --source " + (dir / "mixed") + " --dest " + (dir / "ok.zip") + " --resolution 16x16");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(load_dataset(dir / "ok.zip").images.sizes(), (std::vector<int64_t>{5, 1, 16, 16}));
}

TEST(DatasetTool, LanczosResizeAsPil) {
  // Same size: unchanged. A constant image stays constant at any size.
  auto gen = at::detail::createCPUGenerator(7);
  auto img = at::randint(0, 256, {10, 14, 3}, gen, torch::TensorOptions().dtype(torch::kUInt8));
  EXPECT_TRUE(torch::equal(resize_lanczos(img, 14, 10), img));
  auto flat = torch::full({9, 13, 1}, 77, torch::kUInt8);
  EXPECT_TRUE(torch::equal(resize_lanczos(flat, 5, 20), torch::full({20, 5, 1}, 77, torch::kUInt8)));
  // Against the filter evaluated directly in float64 (PIL's rule: Lanczos-3
  // widened by the scale when shrinking, weights normalised, rounded once per
  // pass): 12 -> 5 columns of one row.
  auto row = at::randint(0, 256, {1, 12, 1}, gen, torch::TensorOptions().dtype(torch::kUInt8));
  auto out = resize_lanczos(row, 5, 1);
  const double scale = 12.0 / 5, support = 3 * scale;
  for (int o = 0; o < 5; ++o) {
    double c = (o + 0.5) * scale, sum = 0, wsum = 0;
    for (int x = 0; x < 12; ++x) {
      double t = (x + 0.5 - c) / scale;
      if (std::abs(x + 0.5 - c) > support + 0.5) continue;
      double w = std::abs(t) < 1e-12 ? 1 : 3 * std::sin(M_PI * t) * std::sin(M_PI * t / 3) / (M_PI * M_PI * t * t);
      if (t < -3 || t >= 3) w = 0;
      sum += w * row[0][x][0].item<int>();
      wsum += w;
    }
    EXPECT_NEAR(out[0][o][0].item<int>(), std::clamp(sum / wsum, 0.0, 255.0), 0.501) << o;
  }
  // center-crop: the central square, grey made RGB; center-crop-wide pastes a
  // band into a square canvas and skips images narrower than the output.
  ImageTransform crop{"center-crop", 4, 4};
  auto grey = torch::arange(6 * 4, torch::kUInt8).reshape({6, 4, 1});
  auto c = apply_transform(crop, grey);
  EXPECT_TRUE(torch::equal(c, grey.narrow(0, 1, 4).expand({4, 4, 3})));
  ImageTransform wide{"center-crop-wide", 8, 4};
  auto band = torch::full({4, 8, 3}, 200, torch::kUInt8);
  auto w = apply_transform(wide, band);
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{8, 8, 3}));
  EXPECT_EQ(w.narrow(0, 2, 4).min().item<int>(), 200);
  EXPECT_EQ(w.narrow(0, 0, 2).max().item<int>(), 0);
  EXPECT_FALSE(apply_transform(wide, torch::zeros({4, 6, 3}, torch::kUInt8)).defined());
  EXPECT_EQ(dataset_image_name(12345), "00012/img00012345.png");
}
