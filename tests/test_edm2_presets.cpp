// EDM2 presets: the reference configurations have the paper's parameter
// counts (counted on the meta device: nothing is allocated), and the small
// Fashion-MNIST ones run.
#include "edm/core/error.h"
#include "edm/nn/edm2_presets.h"
#include "edm/nn/precond.h"
#include "testing.h"

namespace edm {
namespace {

int64_t count_parameters(const nlohmann::json& config) {
  auto net = networks::make_precond(config, networks::Build{torch::Device(torch::kMeta), false});
  int64_t n = 0;
  for (const auto& p : net->parameters()) n += p.numel();
  return n;
}

TEST(EDM2Presets, ReferenceParameterCounts) {
  const std::vector<std::pair<std::string, int64_t>> expected = {
      {"edm2-img512-xs", 124713253}, {"edm2-img512-s", 280212837},   {"edm2-img512-m", 497807781},
      {"edm2-img512-l", 777498085},  {"edm2-img512-xl", 1119283749}, {"edm2-img512-xxl", 1523164773},
      {"edm2-img64-s", 280209381}};
  for (const auto& [name, count] : expected)
    EXPECT_EQ(count_parameters(networks::edm2_preset_config(name)), count) << name;
}

TEST(EDM2Presets, FashionMnistPresetsRunOnACpu) {
  for (const std::string name : {"edm2-fmnist-xs", "edm2-fmnist-s"}) {
    auto net = networks::make_precond(networks::edm2_preset_config(name, 28, 1, 10));
    torch::NoGradGuard no_grad;
    auto x = torch::randn({2, 1, 28, 28});
    auto D = net->forward(x, torch::full({2}, 1.0), torch::eye(10).narrow(0, 0, 2));
    EXPECT_EQ(D.sizes(), x.sizes()) << name;
    EXPECT_TRUE(torch::isfinite(D).all().item<bool>()) << name;
    EXPECT_EQ(net->logvar(torch::full({2}, 1.0)).sizes(), torch::IntArrayRef({2, 1, 1, 1})) << name;
  }
  EXPECT_THROW(networks::edm2_preset_config("edm2-nonesuch"), UsageError);
}

}  // namespace
}  // namespace edm
