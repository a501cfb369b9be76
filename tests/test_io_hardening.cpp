// Output and input files that are not what they seem: devices, FIFOs,
// symbolic links, temporaries of killed writers, files truncated under us.
#include <stb_image_write.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "edm/core/error.h"
#include "edm/data/dataset.h"
#include "edm/io/atomic_file.h"
#include "edm/io/image.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"
#include "edm/sampling/ideal_denoiser.h"
#include "testing.h"

using namespace edm;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST(AtomicFile, RefusesToReplaceAFifoOrADirectory) {
  test::TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  fs::create_directory(dir / "sub");
  EXPECT_THROW(write_file_atomic(dir / "fifo", "x"), Error);
  EXPECT_THROW(write_file_atomic(dir / "sub", "x"), Error);
  EXPECT_TRUE(fs::is_fifo(dir / "fifo"));
  EXPECT_TRUE(fs::is_directory(dir / "sub"));
}

TEST(AtomicFile, WritesThroughASymbolicLinkAndKeepsIt) {
  test::TempDir dir;
  write_file_atomic(dir / "real", "old");
  fs::create_symlink(dir / "real", dir / "link");
  write_file_atomic(dir / "link", "new");
  EXPECT_TRUE(fs::is_symlink(dir / "link"));
  EXPECT_EQ(slurp(dir / "real"), "new");
}

TEST(AtomicFile, RemovesTemporariesOfDeadWritersOnly) {
  test::TempDir dir;
  const std::string dead = dir / "out.bin.tmp.999999999";  // above any pid_max
  const std::string alive = dir / ("out.bin.tmp." + std::to_string(::getppid()));
  const std::string other = dir / "other.bin.tmp.999999999";
  for (const auto& p : {dead, alive, other}) std::ofstream(p) << "partial";
  write_file_atomic(dir / "out.bin", "done");
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(alive));
  EXPECT_TRUE(fs::exists(other));
  EXPECT_EQ(slurp(dir / "out.bin"), "done");
}

TEST(InputFiles, AFifoIsRefusedWithoutWaitingForAWriter) {
  test::TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  EXPECT_THROW(TensorFile(dir / "fifo"), Error);
  EXPECT_THROW(read_file(dir / "fifo"), Error);
  EXPECT_THROW(require_regular_file(dir / "missing"), Error);
}

TEST(InputFiles, ATensorFileTruncatedAfterLoadingKeepsItsValues) {
  test::TempDir dir;
  auto t = torch::arange(4096, torch::kFloat32);
  save_tensors(dir / "t.safetensors", {{"t", t}});
  TensorFile f(dir / "t.safetensors");
  fs::resize_file(dir / "t.safetensors", 16);
  EXPECT_TRUE(torch::equal(f.get("t"), t));
}

namespace {

// Expects `f` to throw edm::Error whose message contains `needle`.
template <class F>
void expect_error(F f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one naming " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(BadModels, IdealDenoiserConfigTyposAndEmptyImagesAreNamed) {
  test::TempDir dir;
  auto points = torch::randn({3, 1, 4, 4}, torch::kFloat64);
  save_tensors(dir / "typo.safetensors", {{"points", points}},
               {{"edm.config", R"({"precond": "ideal", "stdd": 0.5})"}});
  expect_error([&] { load_denoiser(dir / "typo.safetensors", torch::kCPU); }, "unknown key \"stdd\"");
  save_ideal_denoiser(dir / "empty.safetensors", torch::zeros({3, 1, 0, 0}, torch::kFloat64), {}, 0.0);
  expect_error([&] { load_denoiser(dir / "empty.safetensors", torch::kCPU); }, "empty dimension");
}

TEST(BadData, ImagesWithAlphaAreRefusedByName) {
  test::TempDir dir;
  fs::create_directory(dir / "data");
  std::vector<uint8_t> gray_alpha(8 * 8 * 2, 200);
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(stbi_write_png((dir / ("data/" + std::to_string(i) + ".png")).c_str(), 8, 8, 2, gray_alpha.data(), 16));
  expect_error([&] { load_dataset(dir / "data"); }, "0.png has 2 channels");
}
