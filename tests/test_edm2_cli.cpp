// edm denoise: the reference's io file in, D and logvar out, eval and training mode.
#include "edm/io/safetensors.h"
#include "testing.h"

namespace edm {
namespace {

TEST(EDM2Cli, DenoiseReproducesReferenceOutputs) {
  test::TempDir dir;
  const auto net = test::reference("edm2/edm2_cond.model.safetensors");
  const auto in = test::reference("edm2/edm2_cond.io.safetensors");
  TensorFile io(in);
  for (const std::string mode : {"", " --train-mode"}) {
    auto r =
        test::run_edm("denoise --device cpu --net " + net + " --in " + in + " --out " + (dir / "d.safetensors") + mode);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    TensorFile out(dir / "d.safetensors");
    const std::string prefix = mode.empty() ? "output." : "output.train.";
    EXPECT_LT(test::rel_diff(out.get("D"), io.get(prefix + "D")), 1e-5) << mode;
    EXPECT_LT(test::rel_diff(out.get("logvar"), io.get(prefix + "logvar")), 1e-5) << mode;
  }
}

TEST(EDM2Cli, DenoiseBadInputIsAOneLineError) {
  test::TempDir dir;
  const auto net = test::reference("edm2/edm2_cond.model.safetensors");
  auto r = test::run_edm("denoise --device cpu --net " + net + " --in " + net + " --out " + (dir / "d.safetensors"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("no tensor 'x'"), std::string::npos) << r.output;
  r = test::run_edm("denoise --net " + net);
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

}  // namespace
}  // namespace edm
