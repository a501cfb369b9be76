#include "edm/sampling/ideal_denoiser.h"
#include "testing.h"

using edm::test::run_edm;

TEST(Cli, InfoPrintsVersionsThreadsAndBlas) {
  auto r = run_edm("info --device cpu");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const char* key : {"edm ", "libtorch ", "device cpu", "threads ", "blas "})
    EXPECT_NE(r.output.find(key), std::string::npos) << key << " in " << r.output;
}

TEST(Cli, UnknownOptionsAndBadValuesExitTwo) {
  for (const char* args :
       {"info --bogus", "nosuchcommand", "info --threads -3", "info --threads x", "info --device tpu", ""}) {
    auto r = run_edm(args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.output;
    EXPECT_NE(r.output.find("error"), std::string::npos) << args << ": " << r.output;
  }
}

TEST(Cli, HelpExitsZero) {
  auto r = run_edm("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("info"), std::string::npos);
}

TEST(Cli, ErrorsNameWhatIsWrongInOneShortLine) {
  struct Case {
    const char* args;
    const char* says;
  };
  for (const Case& c : {Case{"frobnicate", "unknown command 'frobnicate'"}, Case{"info --threads -1", "not in range"},
                        Case{"train --duration 1e300 --outdir /nonexistent", "--duration must be at most"},
                        Case{"generate --net x --seeds 0,0,1 --outdir /nonexistent", "seed 0 appears twice"}}) {
    auto r = run_edm(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << ": " << r.output;
    EXPECT_NE(r.output.find(c.says), std::string::npos) << c.args << ": " << r.output;
    EXPECT_LT(r.output.size(), 200u) << c.args << ": " << r.output;
  }
}

TEST(Cli, AnOutputThatIsAnInputIsRefusedAndKept) {
  edm::test::TempDir dir;
  edm::save_ideal_denoiser(dir / "v.safetensors", torch::randn({3, 1, 4, 4}, torch::kFloat64), {}, 0.1);
  std::filesystem::create_symlink(dir / "v.safetensors", dir / "alias");
  const auto before = std::filesystem::file_size(dir / "v.safetensors");
  for (const std::string out : {"--raw " + (dir / "v.safetensors"), "--grid " + (dir / "alias")}) {
    auto r = run_edm("generate --net " + (dir / "v.safetensors") + " --seeds 0-1 --steps 2 " + out);
    EXPECT_EQ(r.exit_code, 2) << out << ": " << r.output;
    EXPECT_NE(r.output.find("would destroy it"), std::string::npos) << r.output;
  }
  EXPECT_EQ(std::filesystem::file_size(dir / "v.safetensors"), before);
}
