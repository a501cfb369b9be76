// edm study: the grids of cases, the measurement of one case, the loss per
// noise level against a closed form, and the command end to end.
#include <cmath>
#include <filesystem>
#include <fstream>

#include "edm/core/error.h"
#include "edm/eval/detector.h"
#include "edm/eval/fid.h"
#include "edm/io/image.h"
#include "edm/sampling/ideal_denoiser.h"
#include "edm/sampling/samplers.h"
#include "edm/study/loss_profile.h"
#include "edm/study/report.h"
#include "edm/study/study.h"
#include "testing.h"

using namespace edm;
namespace fs = std::filesystem;

namespace {

std::string q(const std::string& s) { return "'" + s + "'"; }

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

int lines_of(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST(StudyCases, EverySamplerMakesTheNfeItIsPlacedAt) {
  auto cases = nfe_cases({"edm", "dpmpp3m", "heun_afs"}, {6, 9}, GenerateOptions{});
  ASSERT_EQ(cases.size(), 6u);
  for (const auto& c : cases) {
    EXPECT_EQ(c.x, static_cast<double>(sampler_nfe(c.gen.sampler, c.gen.sampler_options))) << c.series;
    EXPECT_EQ(c.series, c.gen.sampler);
  }
  // Heun makes odd counts only: 6 becomes 7; the multistep solver makes 6;
  // heun_afs makes even ones: 9 becomes 10.
  EXPECT_EQ(cases[0].x, 7);
  EXPECT_EQ(cases[1].x, 9);
  EXPECT_EQ(cases[2].x, 6);
  EXPECT_EQ(cases[5].x, 10);
  EXPECT_THROW(nfe_cases({"nope"}, {5}, GenerateOptions{}), UsageError);
}

TEST(StudyCases, RhoAndChurnGridsSetTheirOptions) {
  auto rho = rho_cases({"edm"}, {1, 7}, 9, GenerateOptions{});
  ASSERT_EQ(rho.size(), 2u);
  EXPECT_EQ(rho[1].gen.sampler_options.disc.rho, 7);
  EXPECT_EQ(sampler_nfe("edm", rho[1].gen.sampler_options), 9);
  auto churn = churn_cases({0, 10, 40}, {1, 1.007}, {{0.05, 50}, {0, INFINITY}}, GenerateOptions{});
  ASSERT_EQ(churn.size(), 12u);
  EXPECT_EQ(churn[4].gen.sampler, "edm");
  EXPECT_EQ(churn[4].x, 10);
  EXPECT_EQ(churn[4].gen.sampler_options.S_noise, 1.007);
  EXPECT_EQ(churn[4].gen.sampler_options.S_min, 0.05);
  EXPECT_TRUE(std::isinf(churn[11].gen.sampler_options.S_max));
}

// gamma = min(S_churn / N, sqrt(2) - 1): at 18 steps S_churn 10 and 40 are
// one sampler, and without churn S_noise and the range change nothing.
TEST(StudyCases, ChurnCasesThatMakeTheSameImagesAreFound) {
  GenerateOptions base;
  base.sampler_options.num_steps = 18;
  auto cases = churn_cases({0, 2, 10, 40}, {1, 1.007}, {{0.05, 50}, {0, INFINITY}}, base);
  ASSERT_EQ(cases.size(), 16u);
  const std::vector<int64_t> expected = {-1, -1, -1, 2, 0, -1, -1, 6, 0, -1, -1, 10, 0, -1, -1, 14};
  EXPECT_EQ(churn_twins(cases), expected);
  base.sampler_options.num_steps = 200;  // 40 / 200 = 0.2: below the cap
  cases = churn_cases({0, 2, 10, 40}, {1}, {{0.05, 50}}, base);
  EXPECT_EQ(churn_twins(cases), (std::vector<int64_t>{-1, -1, -1, -1}));
}

TEST(StudyRun, FdFallsWithStepsOnTheIdealDenoiserAndNfeIsCounted) {
  // The ideal denoiser of 24 random images: enough steps reproduce its points
  // (FD to their statistics near 0); one Euler step returns their mean.
  torch::manual_seed(3);
  auto points = torch::rand({24, 3, 20, 20}, torch::kFloat64) * 2 - 1;
  auto net = std::make_shared<IdealDenoiser>(points, torch::Tensor(), 0.0);
  auto det = load_detector(test::reference("detector_tiny.pt"), torch::kCPU);
  auto uint8 = ((points + 1) * 127.5).round().clamp(0, 255).to(torch::kUInt8);
  auto ref = detector_stats(*det, uint8, 250, "");
  std::vector<uint64_t> seeds;
  for (uint64_t s = 0; s < 48; ++s) seeds.push_back(s);
  GenerateOptions one, many;
  one.sampler = many.sampler = "dpmpp2m";
  one.sampler_options.num_steps = 1;
  many.sampler_options.num_steps = 32;
  auto coarse = run_case(*det, net, seeds, ref, {"a", 1, one}, 16);
  auto fine = run_case(*det, net, seeds, ref, {"a", 32, many}, 16);
  EXPECT_EQ(coarse.nfe, 1);
  EXPECT_EQ(fine.nfe, 32);
  EXPECT_GT(coarse.fd, 10 * fine.fd) << coarse.fd << " " << fine.fd;
  EXPECT_GT(fine.seconds, 0);
  // The report holds both, one row per series.
  auto table = study_table({"t", "NFE"}, {coarse, fine}, true);
  EXPECT_NE(table.find("| a | "), std::string::npos) << table;
  EXPECT_NE(table.find("(32)"), std::string::npos) << table;
  EXPECT_EQ(lines_of(study_csv({coarse, fine})), 3);
}

TEST(LossProfile, IdealDenoiserOfAGaussianHasThePosteriorVariance) {
  // y ~ N(m, s^2) per pixel and its exact denoiser: E|D - y|^2 is the
  // posterior variance s^2 sigma^2 / (s^2 + sigma^2), times lambda(sigma).
  const double s = 0.3;
  auto m = torch::full({1, 1, 16, 16}, 0.2, torch::kFloat64);
  IdealDenoiser net(m, torch::Tensor(), s);
  torch::manual_seed(5);
  auto images = (m + s * torch::randn({1024, 1, 16, 16}, torch::kFloat64)).to(torch::kFloat32);
  std::vector<double> sigmas = {0.01, 0.3, 2.0, 40.0};
  auto p = loss_per_sigma(net, images, {}, sigmas, 7, 200);
  ASSERT_EQ(p.loss.size(), 4u);
  for (size_t i = 0; i < sigmas.size(); ++i) {
    const double sg = sigmas[i], lambda = (sg * sg + 0.25) / (sg * sg * 0.25);
    const double want = lambda * s * s * sg * sg / (s * s + sg * sg);
    EXPECT_GT(p.stderr_[i], 0);
    EXPECT_LT(p.stderr_[i], 0.01 * want);
    EXPECT_NEAR(p.loss[i], want, 5 * p.stderr_[i] + 1e-6 * want) << "sigma " << sg;
  }
  // A model of another sigma_data is weighted with its own lambda(sigma).
  const double sd = 0.7;
  auto q = loss_per_sigma(net, images, {}, sigmas, 7, 200, sd);
  for (size_t i = 0; i < sigmas.size(); ++i) {
    const double sg = sigmas[i];
    const double ratio = (sg * sg + sd * sd) / (sg * sg * sd * sd) / ((sg * sg + 0.25) / (sg * sg * 0.25));
    EXPECT_NEAR(q.loss[i], ratio * p.loss[i], 1e-9 * q.loss[i]) << "sigma " << sg;
  }
}

TEST(LossProfile, LevelsAndTheTrainingDensity) {
  auto v = log_spaced(0.002, 80, 9);
  ASSERT_EQ(v.size(), 9u);
  EXPECT_NEAR(v.front(), 0.002, 1e-15);
  EXPECT_NEAR(v.back(), 80, 1e-12);
  EXPECT_NEAR(v[1] / v[0], v[8] / v[7], 1e-12);
  EXPECT_THROW(log_spaced(1, 1, 5), UsageError);
  // p_train per unit of ln sigma integrates to 1.
  auto fine = log_spaced(1e-6, 1e5, 4001);
  auto d = p_train_density(fine);
  double integral = 0;
  for (size_t i = 1; i < fine.size(); ++i)
    integral += 0.5 * (d[i] + d[i - 1]) * (std::log(fine[i]) - std::log(fine[i - 1]));
  EXPECT_NEAR(integral, 1, 1e-6);
  EXPECT_NEAR(p_train_density({std::exp(-1.2)})[0], 1 / (1.2 * std::sqrt(2 * M_PI)), 1e-12);
}

TEST(StudyCli, WritesTablesAndPlotsAndRefusesBadInput) {
  test::TempDir dir;
  auto r = test::run_edm("study ideal --num 40 --std 0.05 --out " + q(dir / "ideal.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_edm("fid ref --data fashion-mnist --num 40 --dest " + q(dir / "s.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_edm("study nfe --net " + q(dir / "ideal.safetensors") + " --ref " + q(dir / "s.safetensors") +
                    " --samplers edm,ipndm --nfe 3,6 --seeds 0-11 --out " + q(dir / "nfe"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto md = slurp(dir / "nfe/study.md");
  EXPECT_NE(md.find("| NFE | 3 | 6 | 7 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| ipndm |"), std::string::npos) << md;
  EXPECT_EQ(lines_of(slurp(dir / "nfe/study.csv")), 5);
  EXPECT_TRUE(fs::file_size(dir / "nfe/study.png") > 1000);
  r = test::run_edm("study churn --net " + q(dir / "ideal.safetensors") + " --ref " + q(dir / "s.safetensors") +
                    " --steps 4 --S_churn 0,40,80 --S_noise 1 --S_range 0,inf --seeds 0-7 --out " + q(dir / "churn"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(lines_of(slurp(dir / "churn/study.csv")), 4);
  EXPECT_NE(r.output.find("(the images of case 2)"), std::string::npos) << r.output;
  // ... and they are: S_churn 40 and 80 at 4 steps both churn by sqrt(2) - 1.
  for (const char* churn : {"40", "80"}) {
    r = test::run_edm("generate --net " + q(dir / "ideal.safetensors") + " --steps 4 --S_churn " + churn +
                      " --seeds 0-1 --outdir " + q(dir / ("g" + std::string(churn))));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  EXPECT_TRUE(torch::equal(read_image(dir / "g40/000001.png"), read_image(dir / "g80/000001.png")));
  r = test::run_edm("study loss --net " + q(dir / "ideal.safetensors") + " --num 32 --levels 5 --out " +
                    q(dir / "loss"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(lines_of(slurp(dir / "loss/loss.csv")), 6);
  EXPECT_TRUE(fs::exists(dir / "loss/loss.png"));

  const std::string base =
      " --net " + q(dir / "ideal.safetensors") + " --ref " + q(dir / "s.safetensors") + " --out " + q(dir / "bad");
  for (const auto& [args, needle] : std::vector<std::pair<std::string, std::string>>{
           {"study nfe --samplers edm,nope" + base, "nope"},
           {"study nfe --nfe 3,x" + base, "--nfe"},
           {"study churn --S_range 5,1" + base, "--S_range"},
           {"study rho --samplers adaptive" + base, "adaptive"},
           {"study nfe --net " + q(dir / "missing.safetensors") + " --ref " + q(dir / "s.safetensors") + " --out " +
                q(dir / "bad"),
            "missing.safetensors"},
       }) {
    r = test::run_edm(args);
    EXPECT_NE(r.exit_code, 0) << args << ": " << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << args << ": " << r.output;
    EXPECT_EQ(lines_of(r.output), 1) << args << ": " << r.output;
  }
  EXPECT_FALSE(fs::exists(dir / "bad"));
}
