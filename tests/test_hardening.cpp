// Hostile or unlucky input past the file layer: model configurations that
// describe huge networks, resumes with conflicting options, non-finite
// training and samples, unbounded work, and usage errors under --nproc.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <tuple>
#include <vector>

#include "edm/core/error.h"
#include "edm/data/dataset.h"
#include "edm/data/idx.h"
#include "edm/io/atomic_file.h"
#include "edm/io/image.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"
#include "edm/nn/precond.h"
#include "edm/nn/presets.h"
#include "edm/sampling/generate.h"
#include "edm/sampling/ideal_denoiser.h"
#include "edm/train/loop.h"
#include "edm/train/state.h"
#include "testing.h"
#include "train_testing.h"

using namespace edm;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Expects `f` to throw E whose message contains every needle.
template <class E = Error, class F>
void expect_error(F f, const std::vector<std::string>& needles) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one naming " << needles.front();
  } catch (const E& e) {
    for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}

// A small unconditional fmnist-s model file (8 channels, 8x8 gray).
std::string small_model(const test::TempDir& dir) {
  networks::PresetOverrides o;
  o.cbase = 8;
  auto net = networks::make_precond(networks::preset_config("fmnist-s", "edm", 8, 1, 0, 0, o));
  const auto path = dir / "model.safetensors";
  save_precond(path, *net);
  return path;
}

// The model's tensors under an edited edm.config.
std::string with_config(const test::TempDir& dir, const std::string& model, const std::string& name,
                        const std::function<void(json&)>& edit) {
  TensorFile f(model);
  auto config = read_model_config(f);
  edit(config);
  const auto path = dir / name;
  save_tensors(path, f.all(), {{"edm.config", config.dump()}, {"edm.format", "edm-model-v1"}});
  return path;
}

}  // namespace

TEST(HardeningModels, ConfigSizesAreCheckedAgainstTheFileBeforeAnythingIsBuilt) {
  test::TempDir dir;
  const auto model = small_model(dir);
  EXPECT_NO_THROW(load_denoiser(model, torch::kCPU));
  struct Case {
    std::string name;
    std::function<void(json&)> edit;
    std::vector<std::string> needles;
  };
  const std::vector<Case> cases = {
      {"blocks", [](json& c) { c["model"]["num_blocks"] = 1000000000; }, {"num_blocks"}},
      {"blocks_in_range", [](json& c) { c["model"]["num_blocks"] = 900; }, {"num_blocks", "tensors than the file"}},
      {"label_dim", [](json& c) { c["label_dim"] = int64_t(1) << 40; }, {"label_dim"}},
      {"labels", [](json& c) { c["label_dim"] = 1000000; }, {"map_label"}},
      {"channels", [](json& c) { c["model"]["model_channels"] = int64_t(1) << 40; }, {"model_channels"}},
      // Within the bounds, but 4096 channels would allocate gigabytes: refused by shape, on the meta device.
      {"width", [](json& c) { c["model"]["model_channels"] = 4096; }, {"has shape", "by edm.config"}},
      {"img_channels", [](json& c) { c["img_channels"] = int64_t(1) << 30; }, {"img_channels"}},
      {"levels", [](json& c) { c["model"]["channel_mult"] = std::vector<int>(40, 1); }, {"channel_mult"}},
      {"type", [](json& c) { c["label_dim"] = "ten"; }, {"\"label_dim\" must be an integer"}},
      // Found by the edm_config fuzz target: a whole float beyond int64 was cast.
      {"float", [](json& c) { c["img_resolution"] = 8.1e28; }, {"\"img_resolution\" must be an integer"}},
  };
  for (const auto& c : cases) {
    const auto path = with_config(dir, model, c.name + ".safetensors", c.edit);
    const auto start = std::chrono::steady_clock::now();
    expect_error([&] { load_denoiser(path, torch::kCPU); }, c.needles);
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10) << c.name;
  }
}

TEST(HardeningModels, ParameterCountIsTakenOnTheMetaDevice) {
  networks::PresetOverrides o;
  o.cbase = 1 << 16;  // about 10^11 parameters: counted, never allocated
  const auto config = networks::preset_config("fmnist-s", "edm", 28, 1, 0, 0, o);
  EXPECT_GT(networks::parameter_count(config), int64_t(1e10));
  o.cbase = 8;
  const auto small = networks::preset_config("fmnist-s", "edm", 28, 1, 0, 0, o);
  int64_t n = 0;
  for (const auto& p : networks::make_precond(small)->parameters()) n += p.numel();
  EXPECT_EQ(networks::parameter_count(small), n);
}

TEST(HardeningModels, AnMlpIsBoundedBeforeTorchAllocatesIt) {
  json config = {{"precond", "EDMPrecond"},
                 {"sample_shape", {2}},
                 {"model", {{"model_type", "MLP"}, {"hidden", 1 << 19}, {"num_layers", 100}}}};
  expect_error([&] { networks::make_precond(config, networks::Build{torch::kMeta, false}); }, {"hidden", "2^30"});
}

TEST(HardeningModels, ATrainingStateIsNotAModel) {
  test::TempDir dir;
  save_tensors(dir / "state.safetensors", {{"net.x", torch::zeros({1})}},
               {{"edm.format", "edm-train-state-v1"}, {"edm.config", "{\"precond\": \"EDMPrecond\"}"}});
  expect_error([&] { load_denoiser(dir / "state.safetensors", torch::kCPU); }, {"is a training state, not a model"});
}

TEST(HardeningModels, IdealDenoiserSizesAreTypedAndSquare) {
  test::TempDir dir;
  save_tensors(dir / "ten.safetensors", {{"points", torch::randn({3, 1, 4, 4}, torch::kFloat64)}},
               {{"edm.config", R"({"precond": "ideal", "label_dim": "ten"})"}});
  expect_error([&] { load_denoiser(dir / "ten.safetensors", torch::kCPU); }, {"label_dim"});
  save_ideal_denoiser(dir / "wide.safetensors", torch::randn({3, 1, 4, 6}, torch::kFloat64), {}, 0.0);
  expect_error([&] { load_denoiser(dir / "wide.safetensors", torch::kCPU); }, {"4x6", "square"});
}

TEST(HardeningModels, NonFiniteImagesAreRefusedNamingTheSeeds) {
  auto images = torch::zeros({4, 1, 2, 2}, torch::kFloat64);
  EXPECT_NO_THROW(check_finite_images(images, {7, 8, 9, 10}));
  images[1][0][1][1] = NAN;
  images[3][0][0][0] = INFINITY;
  expect_error([&] { check_finite_images(images, {7, 8, 9, 10}); }, {"seeds 8, 10", "non-finite"});
}

TEST(HardeningModels, StateCountersOutOfRangeAreRefused) {
  test::TempDir dir;
  const auto model = small_model(dir);
  TensorFile f(model);
  std::map<std::string, torch::Tensor> t;
  for (const auto& [name, v] : f.all()) t["net." + name] = t["ema." + name] = v;
  json info = {{"cur_nimg", 9000000000000000000LL}, {"cur_tick", 1}, {"adam_steps", 1}, {"seed", 0}};
  save_tensors(
      dir / "state.safetensors", t,
      {{"edm.format", "edm-train-state-v1"}, {"edm.config", read_model_config(f).dump()}, {"edm.train", info.dump()}});
  expect_error([&] { read_train_state_info(dir / "state.safetensors"); }, {"out of range", "cur_nimg"});
}

TEST(HardeningModels, IdxHeadersWithEmptyOrOverflowingDimensionsAreRefused) {
  test::TempDir dir;
  // Found by the idx fuzz target: a zero dimension made a null copy target.
  write_file_atomic(dir / "empty.idx", std::string("\0\0\x08\x01\0\0\0\0", 8));
  expect_error([&] { read_idx(dir / "empty.idx"); }, {"empty dimension"});
  // Four dimensions of 2^32 - 1: their product overflows 64 bits.
  std::string huge("\0\0\x08\x04", 4);
  for (int d = 0; d < 4; ++d) huge += std::string(4, '\xff');
  write_file_atomic(dir / "huge.idx", huge + "data");
  expect_error([&] { read_idx(dir / "huge.idx"); }, {"larger than its data"});
}

TEST(HardeningModels, AZipEntryDeclaringMoreBytesThanTheArchiveIsRefused) {
  // Found by the dataset_zip fuzz target: 504 bytes whose a.png declares
  // 1.6 GB compressed, 895 MB deflated; the 895 MB were allocated.
  const auto zip = test::source_dir() + "/tests/fuzz/corpus/dataset_zip/entry_larger_than_archive";
  ASSERT_LT(fs::file_size(zip), 1000u);
  expect_error([&] { load_dataset(zip); }, {"a.png declares an implausible size of 895839329 bytes"});
}

TEST(HardeningModels, AnImageHeaderDeclaringGigabytesIsRefusedBeforeDecoding) {
  // Found by the png fuzz target: 37 bytes of a TGA header asking for a
  // 49920 x 13648 x 3 image made stb allocate 2 GB.
  std::string tga(18, '\0');
  tga[2] = 2;                          // uncompressed true colour
  tga[12] = '\x00', tga[13] = '\xc3';  // width 49920
  tga[14] = '\x50', tga[15] = '\x35';  // height 13648
  tga[16] = 24;                        // bits per pixel
  expect_error([&] { decode_image(tga + "pixels", "big.tga"); }, {"declares a 49920x13648x3 image"});
  // A small image of the same format still decodes.
  tga[12] = 2, tga[13] = 0, tga[14] = 1, tga[15] = 0;
  EXPECT_EQ(decode_image(tga + std::string(6, '\x7f'), "small.tga").sizes().vec(), (std::vector<int64_t>{3, 1, 2}));
}

// ---------------------------------------------------------------------------
// Command line: bounds, typed options, usage errors under --nproc.

TEST(HardeningCli, WorkHasABoundAndUsageErrorsPrintOnce) {
  test::TempDir dir;
  save_ideal_denoiser(dir / "ideal.safetensors", torch::randn({3, 1, 4, 4}, torch::kFloat64), {}, 0.0);
  const std::string net = " --net " + (dir / "ideal.safetensors");
  for (const std::string& args :
       {"generate" + net + " --seeds 0 --steps 2000000000 --outdir " + (dir / "out"),
        "generate" + net + " --seeds 0 --nfe 2000000000 --outdir " + (dir / "out"),
        "toy --ode 1000000000 --out " + (dir / "toy.png"), "train --xflip 5 --dry-run --data " + (dir / "none")}) {
    auto r = test::run_edm(args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << args << ": " << r.output;
  }
  // The same error on every rank, found before the ranks join: a usage error
  // is one line, and no error is hidden behind a broken rendezvous.
  const std::string train = "train --cbase 8 --device cpu --dry-run --outdir " + (dir / "runs");
  for (const auto& [args, code, names] : std::vector<std::tuple<std::string, int, std::string>>{
           {" --nproc 3 --batch 0", 2, "--batch"},
           {" --nproc 3 --batch 4", 2, "not divisible by 3"},
           {" --nproc 2 --data " + (dir / "none"), 1, "does not exist"}}) {
    auto r = test::run_edm(train + args);
    EXPECT_EQ(r.exit_code, code) << args << ": " << r.output;
    if (code == 2) {  // a usage error is printed by rank 0 alone
      EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << args << ": " << r.output;
    }
    EXPECT_NE(r.output.find(names), std::string::npos) << args << ": " << r.output;
    EXPECT_EQ(r.output.find("rendezvous"), std::string::npos) << args << ": " << r.output;
  }
}

TEST(HardeningCli, AModelGivingNanImagesWritesNoPng) {
  test::TempDir dir;
  // Finite points so large that every squared distance overflows: the
  // ideal denoiser's weights become NaN.
  save_ideal_denoiser(dir / "huge.safetensors", torch::full({2, 1, 4, 4}, 1e300, torch::kFloat64), {}, 0.0);
  auto r = test::run_edm("generate --net " + (dir / "huge.safetensors") + " --seeds 0-2 --steps 2 --outdir " +
                         (dir / "out") + " --device cpu");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("seeds 0, 1, 2"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "out/000000.png"));
}

// ---------------------------------------------------------------------------
// Training: --resume keeps the state's network; a diverging run stops.

namespace {

void write_dataset(const std::string& dir, int n, int res) {
  fs::create_directories(dir);
  json list = json::array();
  for (int i = 0; i < n; ++i) {
    const auto name = "img" + std::to_string(i) + ".png";
    write_png(dir + "/" + name, torch::randint(0, 255, {res, res, 1}, torch::kInt64).to(torch::kUInt8));
    list.push_back({name, i % 2});
  }
  write_file_atomic(dir + "/dataset.json", json({{"labels", list}}).dump());
}

TrainOptions tiny(const std::string& data, const std::string& outdir) {
  TrainOptions o;
  o.data = data;
  o.outdir = outdir;
  o.cbase = 8;
  o.batch = 8;
  o.tick = 0.016;
  o.lr_rampup = 0.016;
  o.duration = 32e-6;
  o.snap = o.dump = 1;
  return o;
}

}  // namespace

TEST(HardeningTrain, ResumeRefusesConflictingOptionsAndRecordsTheStatesOwn) {
  test::TempDir dir;
  write_dataset(dir / "data", 8, 8);
  auto first = tiny(dir / "data", dir / "runs");
  first.precond = "vp";
  first.dropout = 0.05;
  const auto state = test::last_file(train(first, test::quiet_cpu()), "training-state-");
  ASSERT_FALSE(state.empty());
  struct Case {
    std::string option;
    std::function<void(TrainOptions&)> set;
  };
  const std::vector<Case> cases = {
      {"--arch", [](TrainOptions& o) { o.arch = "fmnist-m", o.given.insert("arch"); }},
      {"--precond", [](TrainOptions& o) { o.precond = "edm", o.given.insert("precond"); }},
      {"--cond", [](TrainOptions& o) { o.cond = false; }},
      {"--cbase", [](TrainOptions& o) { o.cbase = 16; }},
      {"--cres",
       [](TrainOptions& o) {
         o.cres = {1, 2};
       }},
      {"--dropout", [](TrainOptions& o) { o.dropout = 0.2; }},
      {"--fp16", [](TrainOptions& o) { o.fp16 = true, o.given.insert("fp16"); }},
      {"--seed", [](TrainOptions& o) { o.seed = 5, o.given.insert("seed"); }},
      {"--transfer", [&](TrainOptions& o) { o.transfer = state; }},
  };
  for (const auto& c : cases) {
    auto o = tiny(dir / "data", dir / "refused");
    o.resume = state;
    c.set(o);
    expect_error<UsageError>([&] { train(o, test::quiet_cpu()); }, {c.option});
  }
  EXPECT_FALSE(fs::exists(dir / "refused"));
  // Options left open come from the state, and the records say so.
  auto o = tiny(dir / "data", dir / "resumed");
  o.resume = state;
  o.dropout.reset();
  o.duration = 48e-6;
  const auto run = train(o, test::quiet_cpu());
  EXPECT_NE(run.find("-fmnist-s-vp-"), std::string::npos) << run;
  std::ifstream in(run + "/training_options.json");
  const auto options = json::parse(in);
  EXPECT_EQ(options["precond"], "vp");
  EXPECT_EQ(options["network"]["model"]["dropout"], 0.05);
}

TEST(HardeningTrain, ADivergingRunStopsBeforeWritingNonFiniteFiles) {
  test::TempDir dir;
  write_dataset(dir / "data", 8, 8);
  auto o = tiny(dir / "data", dir / "runs");
  o.lr = 1e30;
  o.lr_rampup = 0;
  o.duration = 64e-6;
  expect_error([&] { train(o, test::quiet_cpu()); }, {"finite", "kept"});
  for (const auto& run : fs::directory_iterator(dir / "runs"))
    for (const auto& e : fs::directory_iterator(run.path()))
      if (e.path().extension() == ".safetensors") {
        TensorFile f(e.path().string());
        for (const auto& [name, t] : f.all())
          EXPECT_TRUE(torch::isfinite(t).all().item<bool>()) << e.path() << " " << name;
      }
}
