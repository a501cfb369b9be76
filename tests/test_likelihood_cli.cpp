// edm likelihood: the report line, --json, 8-bit folders and raw tensors,
// and one-line errors for bad input.
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "edm/io/atomic_file.h"
#include "edm/io/image.h"
#include "edm/io/safetensors.h"
#include "edm/sampling/ideal_denoiser.h"
#include "testing.h"

using namespace edm;

namespace {

int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

// A model of 1x2x2 images: one Gaussian N(m, 0.5^2 I).
std::string gaussian_model(const test::TempDir& dir) {
  const auto path = dir / "m.safetensors";
  save_ideal_denoiser(path, torch::tensor({-0.2, 0.1, 0.3, -0.4}, torch::kFloat64).reshape({1, 1, 2, 2}), {}, 0.5);
  return path;
}

}  // namespace

TEST(LikelihoodCli, RawTensorsGiveTheClosedFormDensityAndJson) {
  test::TempDir dir;
  const auto model = gaussian_model(dir);
  auto x = torch::tensor({{-0.2, 0.1, 0.3, -0.4}, {0.5, -0.5, 0.0, 0.2}, {1.0, 1.0, -1.0, 0.0}}, torch::kFloat64);
  save_tensors(dir / "x.safetensors", {{"images", x.reshape({3, 1, 2, 2}).to(torch::kFloat32)}});
  auto r = test::run_edm("likelihood --net " + model + " --raw " + dir / "x.safetensors" + " --exact --json " +
                         dir / "out.json --device cpu");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("NLL (-?[0-9.]+) nats, (-?[0-9.]+) bits/dim\n$"))) << r.output;
  // -log N(x; m, (0.25 + 0.002^2) I), x as float32 stored it.
  const double var = 0.25 + 0.002 * 0.002;
  auto xf = x.to(torch::kFloat32).to(torch::kFloat64);
  auto mean = torch::tensor({-0.2, 0.1, 0.3, -0.4}, torch::kFloat64);
  auto truth = 2 * std::log(2 * M_PI * var) + (xf - mean).square().sum(1) / (2 * var);
  EXPECT_NEAR(std::stod(m[1]), truth.mean().item<double>(), 0.01 * truth.mean().item<double>());
  EXPECT_NEAR(std::stod(m[2]), std::stod(m[1]) / (4 * std::log(2.0)), 1e-3);
  auto j = nlohmann::json::parse(read_file(dir / "out.json"));
  ASSERT_EQ(j["ode"]["per_image"].size(), 3u);
  EXPECT_EQ(j["dequantized"], false);
  for (int i = 0; i < 3; ++i)
    EXPECT_NEAR(j["ode"]["per_image"][i]["nats"].get<double>(), truth[i].item<double>(),
                0.01 * truth[i].item<double>());
}

TEST(LikelihoodCli, EightBitFolderIsDequantised) {
  test::TempDir dir;
  const auto model = gaussian_model(dir);
  std::filesystem::create_directory(dir / "img");
  for (int i = 0; i < 3; ++i)
    write_png(dir / ("img/" + std::to_string(i) + ".png"), torch::randint(80, 180, {2, 2, 1}, torch::kUInt8));
  auto r = test::run_edm("likelihood --net " + model + " --images " + dir / "img" + " --probes 2 --steps 8 --json " +
                         dir / "out.json --device cpu");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(read_file(dir / "out.json"));
  EXPECT_EQ(j["dequantized"], true);
  EXPECT_EQ(j["images"], 3);
  const auto& mean = j["ode"]["mean"];
  // nats of the 8-bit image = density nats + 4 dims x 7 bits x ln 2.
  EXPECT_NEAR(mean["bits_per_dim"].get<double>(), mean["nats"].get<double>() / (4 * std::log(2.0)), 1e-9);
  EXPECT_NE(r.output.find("dequantised"), std::string::npos) << r.output;
}

TEST(LikelihoodCli, BadInputIsAOneLineError) {
  test::TempDir dir;
  const auto model = gaussian_model(dir);
  save_tensors(dir / "flat.safetensors", {{"images", torch::zeros({3, 4})}});
  save_tensors(dir / "big.safetensors", {{"images", torch::zeros({3, 1, 4, 4})}});
  save_tensors(dir / "ok.safetensors", {{"images", torch::zeros({3, 1, 2, 2})}});
  save_tensors(dir / "none.safetensors", {{"latents", torch::zeros({3, 1, 2, 2})}});
  std::filesystem::create_directory(dir / "img8");
  write_png(dir / "img8/0.png", torch::zeros({8, 8, 1}, torch::kUInt8));
  const std::string base = "likelihood --device cpu --net " + model;
  struct Bad {
    std::string args;
    int code;
    const char* says;
  };
  for (const auto& b : std::vector<Bad>{{" --raw " + dir / "missing.safetensors", 1, "missing"},
                                        {" --raw " + dir / "flat.safetensors", 1, "images must be"},
                                        {" --raw " + dir / "big.safetensors", 1, "images must be"},
                                        {" --raw " + dir / "none.safetensors", 1, "no tensor 'images'"},
                                        {" --images " + dir / "img8", 1, "images must be"},
                                        {"", 2, "--images or --raw"},
                                        {" --raw " + dir / "ok.safetensors --probes 0", 2, "--probes"},
                                        {" --raw " + dir / "ok.safetensors --exact --probes 3", 2, "exclude"},
                                        {" --raw " + dir / "ok.safetensors --probe uniform", 2, "probe"},
                                        {" --raw " + dir / "ok.safetensors --steps 1", 2, "--steps"},
                                        {" --raw " + dir / "ok.safetensors --class 1", 2, "unconditional"}}) {
    auto r = test::run_edm(base + b.args);
    EXPECT_EQ(r.exit_code, b.code) << b.args << ": " << r.output;
    EXPECT_EQ(lines(r.output), 1) << b.args << ": " << r.output;
    EXPECT_NE(r.output.find(b.says), std::string::npos) << b.args << ": " << r.output;
  }
}

TEST(LikelihoodCli, ConditionalModelNeedsLabels) {
  test::TempDir dir;
  save_ideal_denoiser(dir / "c.safetensors", torch::randn({2, 1, 2, 2}, torch::kFloat64), torch::tensor({0, 1}), 0.5);
  save_tensors(dir / "x.safetensors", {{"images", torch::zeros({2, 1, 2, 2})}});
  const std::string base = "likelihood --device cpu --net " + dir / "c.safetensors" + " --raw " + dir / "x.safetensors";
  auto r = test::run_edm(base + " --steps 4");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--class"), std::string::npos) << r.output;
  r = test::run_edm(base + " --steps 4 --class 1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  save_tensors(dir / "y.safetensors", {{"images", torch::zeros({2, 1, 2, 2})}, {"labels", torch::tensor({0, 5})}});
  r = test::run_edm("likelihood --device cpu --steps 4 --net " + dir / "c.safetensors" + " --raw " +
                    dir / "y.safetensors");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("out of range"), std::string::npos) << r.output;
}
