#include <filesystem>
#include <fstream>

#include "edm/core/error.h"
#include "edm/io/atomic_file.h"
#include "edm/io/safetensors.h"
#include "testing.h"

using namespace edm;

namespace {

std::string header_file(const std::string& json, const std::string& data = "") {
  std::string out(8, '\0');
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + json + data;
}

void write_raw(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

std::string error_of(const std::string& bytes) {
  test::TempDir dir;
  write_raw(dir / "f.safetensors", bytes);
  try {
    TensorFile f(dir / "f.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Safetensors, RoundTripsEveryDtype) {
  test::TempDir dir;
  std::map<std::string, torch::Tensor> t = {
      {"f64", torch::randn({2, 3}, torch::kFloat64)},
      {"f32", torch::randn({5}, torch::kFloat32)},
      {"f16", torch::randn({3, 1}).to(torch::kFloat16)},
      {"bf16", torch::randn({7}).to(torch::kBFloat16)},
      {"i64", torch::arange(6, torch::kInt64).reshape({2, 3})},
      {"i32", torch::arange(3, torch::kInt32)},
      {"u8", torch::arange(255, torch::kUInt8)},
      {"bool", torch::tensor({true, false, true})},
      {"scalar", torch::tensor(3.5)},
      {"empty", torch::empty({0, 4})},
  };
  save_tensors(dir / "a.safetensors", t, {{"k", "v"}, {"edm.config", "{\"a\":1}"}});
  TensorFile f(dir / "a.safetensors");
  EXPECT_EQ(f.names().size(), t.size());
  for (const auto& [name, v] : t) {
    auto got = f.get(name);
    EXPECT_EQ(got.scalar_type(), v.scalar_type()) << name;
    EXPECT_EQ(got.sizes(), v.sizes()) << name;
    EXPECT_TRUE(torch::equal(got, v)) << name;
  }
  EXPECT_EQ(f.metadata("k", ""), "v");
  EXPECT_EQ(f.metadata("missing", "x"), "x");
  EXPECT_THROW(f.get("nope"), Error);
}

TEST(Safetensors, ReadsEveryReferenceFile) {
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(test::reference_dir())) {
    if (e.path().extension() != ".safetensors") continue;
    TensorFile f(e.path().string());
    for (const auto& name : f.names()) EXPECT_GE(f.get(name).numel(), 0);
    EXPECT_FALSE(f.names().empty()) << e.path();
    ++files;
  }
  EXPECT_GE(files, 11);
}

TEST(Safetensors, RejectsMalformedFiles) {
  const std::string four(4, 'x');
  struct Case {
    std::string bytes, expect;
  } cases[] = {
      {"", "empty"},
      {"abc", "shorter than the 8-byte"},
      {header_file("{}").substr(0, 9), "runs past the end"},
      {std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8), "implausibly large"},
      {header_file("{\"a\":"), "not valid JSON"},
      {header_file("[1,2]"), "not a JSON object"},
      {header_file(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", four), "no dtype"},
      {header_file(R"({"a":{"dtype":"F8","shape":[1],"data_offsets":[0,4]}})", four), "unsupported dtype"},
      {header_file(R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", four), "no shape"},
      {header_file(R"({"a":{"dtype":"F32","shape":[1]}})", four), "no data_offsets"},
      {header_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", four), "past the end"},
      {header_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", four), "end before begin"},
      {header_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", four), "does not match"},
      {header_file(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", four), "non-negative"},
      {header_file(
           R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})",
           four + "xx"),
       "overlaps"},
      {header_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", four + four), "gap"},
      {header_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", four + four), "cover"},
      {header_file(
           R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
           four),
       "duplicate"},
      {header_file(R"({"__metadata__":{"k":1}})"), "not a string"},
      {header_file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}})", four),
       "does not match"},
  };
  for (const auto& c : cases) {
    std::string err = error_of(c.bytes);
    EXPECT_NE(err.find(c.expect), std::string::npos) << "expected '" << c.expect << "', got '" << err << "'";
  }
}

TEST(Safetensors, MissingFileIsAnError) { EXPECT_THROW(TensorFile("/nonexistent/x.safetensors"), Error); }

TEST(AtomicFile, LeavesOldFileUntilCommit) {
  test::TempDir dir;
  write_file_atomic(dir / "f", "old");
  {
    AtomicFile f(dir / "f");
    f.write("new");
    EXPECT_EQ(read_file(dir / "f"), "old");
  }  // no commit: abandoned
  EXPECT_EQ(read_file(dir / "f"), "old");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
  write_file_atomic(dir / "f", "new");
  EXPECT_EQ(read_file(dir / "f"), "new");
  EXPECT_THROW(write_file_atomic("/nonexistent/dir/f", "x"), Error);
}
