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
