// The four reference networks (EDM/DDPM++, VE/NCSN++, VP/DDPM++, iDDPM/ADM)
// reproduce the reference implementation's denoiser output.
#include <cstdio>

#include "edm/model/model_file.h"
#include "edm/nn/precond.h"
#include "testing.h"

namespace edm {
namespace {

struct Case {
  const char* name;
  bool labels;
};

class NnReference : public ::testing::TestWithParam<Case> {};

TEST_P(NnReference, DenoiserMatchesReference) {
  const std::string name = GetParam().name;
  TensorFile io(test::reference(name + ".io.safetensors"));
  auto denoiser = load_denoiser(test::reference(name + ".model.safetensors"), torch::kCPU);
  torch::Tensor labels, augment;
  if (GetParam().labels) {
    labels = io.get("input.class_labels");
    augment = io.get("input.augment_labels");
  }
  auto D = denoiser->denoise(io.get("input.x"), io.get("input.sigma"), labels, augment);
  auto ref = io.get("output.D");
  ASSERT_EQ(D.sizes(), ref.sizes());
  EXPECT_EQ(D.scalar_type(), torch::kFloat32);
  const double rel = test::max_abs_diff(D, ref) / ref.abs().max().item<double>();
  std::printf("%s: max|D - ref| / max|ref| = %.3g\n", name.c_str(), rel);
  EXPECT_LT(rel, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Cases, NnReference,
                         ::testing::Values(Case{"ddpmpp_edm", true}, Case{"ncsnpp_ve", false}, Case{"ddpmpp_vp", true},
                                           Case{"adm_iddpm", false}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(NnReferenceIddpm, RoundSigmaIsExact) {
  TensorFile io(test::reference("adm_iddpm.io.safetensors"));
  auto denoiser = load_denoiser(test::reference("adm_iddpm.model.safetensors"), torch::kCPU);
  auto rounded = denoiser->round_sigma(io.get("input.sigma"));
  EXPECT_TRUE(torch::equal(rounded, io.get("output.round_sigma")));
  // Float64 sigmas (as samplers pass them) round onto the same levels.
  auto wide = denoiser->round_sigma(io.get("input.sigma").to(torch::kFloat64));
  EXPECT_EQ(wide.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(torch::equal(wide.to(torch::kFloat32), io.get("output.round_sigma")));
}

TEST(NnReferenceIddpm, GridMatchesStoredBuffer) {
  // The u grid we compute equals the reference's stored buffer `u`.
  TensorFile file(test::reference("adm_iddpm.model.safetensors"));
  auto net = networks::make_precond(read_model_config(file), networks::Build{torch::kCPU, false});
  auto& iddpm = dynamic_cast<const iDDPMPreconditioning&>(net->preconditioning());
  auto stored = file.get("u");
  EXPECT_LT(test::max_abs_diff(iddpm.u(), stored), 1e-6 * stored.max().item<double>());
  EXPECT_FLOAT_EQ(iddpm.sigma_min(), stored[999].item<float>());
  EXPECT_FLOAT_EQ(iddpm.sigma_max(), stored[0].item<float>());
}

}  // namespace
}  // namespace edm

namespace edm {
namespace {

TEST(NnReferenceSensitivity, PerturbedWeightIsDetected) {
  // The comparison above is meaningful: a small change to one tensor deep in
  // the decoder moves the output well past the tolerance.
  TensorFile io(test::reference("ddpmpp_edm.io.safetensors"));
  TensorFile file(test::reference("ddpmpp_edm.model.safetensors"));
  auto net = load_precond(file, read_model_config(file), torch::kCPU);
  net->eval();
  torch::NoGradGuard no_grad;
  auto params = net->named_parameters();
  params["model.dec.16x16_block1.conv1.weight"].add_(1e-2);
  auto D = net->forward(io.get("input.x"), io.get("input.sigma"), io.get("input.class_labels"),
                        io.get("input.augment_labels"));
  auto ref = io.get("output.D");
  EXPECT_GT(test::max_abs_diff(D, ref) / ref.abs().max().item<double>(), 1e-4);
}

}  // namespace
}  // namespace edm
