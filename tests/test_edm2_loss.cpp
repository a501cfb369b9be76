// The EDM2 training recipe against the reference: the uncertainty-weighted
// loss with given noise (eval and training mode) and the learning rate.
#include <nlohmann/json.hpp>

#include "edm/core/error.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"
#include "edm/train/edm2_loss.h"
#include "testing.h"

namespace edm {
namespace {

TEST(EDM2Loss, MatchesReferenceWithGivenNoise) {
  TensorFile f(test::reference("edm2/edm2_loss.safetensors"));
  auto cases = nlohmann::json::parse(f.metadata("cases", "[]"));
  ASSERT_EQ(cases.size(), 2u);
  for (const auto& c : cases) {
    const std::string k = c["key"];
    EDM2LossConfig config{c["P_mean"], c["P_std"], c["sigma_data"]};
    auto sigma = edm2_sigma(config, f.get(k + ".input.rnd_normal"));
    EXPECT_LT(test::rel_diff(sigma, f.get(k + ".output.sigma")), 1e-6) << k;
    const auto images = f.get(k + ".input.images"), noise = f.get(k + ".input.noise");
    const auto labels = f.has(k + ".input.labels") ? f.get(k + ".input.labels") : torch::Tensor();
    for (const std::string mode : {"eval", "train"}) {
      TensorFile model(test::reference("edm2/" + c["model"].get<std::string>()));
      auto net = load_precond(model, read_model_config(model), torch::kCPU);
      net->train(mode == "train");
      auto loss = edm2_loss(*net, images, labels, config, sigma, noise);
      const auto ref = f.get(k + ".output." + mode + ".loss");
      ASSERT_EQ(loss.sizes(), ref.sizes());
      EXPECT_LT(test::rel_diff(loss, ref), 1e-6) << k << " " << mode;
    }
  }
}

TEST(EDM2Loss, NeedsALogVarianceHead) {
  TensorFile model(test::reference("ddpmpp_edm.model.safetensors"));
  auto net = load_precond(model, read_model_config(model), torch::kCPU);
  auto x = torch::zeros({1, 3, 32, 32});
  EXPECT_THROW(edm2_loss(*net, x, {}, {}, torch::ones({1, 1, 1, 1}), x), Error);
}

TEST(EDM2LearningRate, MatchesReferenceGrid) {
  TensorFile f(test::reference("edm2/lr_schedule.safetensors"));
  auto in = [&](const std::string& k) { return f.get("input." + k).to(torch::kFloat64); };
  const auto nimg = in("cur_nimg"), batch = in("batch_size"), ref_lr = in("ref_lr");
  const auto ref_batches = in("ref_batches"), rampup = in("rampup_Mimg");
  const auto lr = f.get("output.lr").to(torch::kFloat64);
  ASSERT_EQ(lr.numel(), 360);
  for (int64_t i = 0; i < lr.numel(); ++i) {
    double got = edm2_learning_rate(nimg[i].item<double>(), batch[i].item<double>(), ref_lr[i].item<double>(),
                                    ref_batches[i].item<double>(), rampup[i].item<double>());
    double want = lr[i].item<double>();
    EXPECT_LE(std::abs(got - want), 1e-12 * std::abs(want)) << i;
  }
  const auto dn = f.get("default.input.cur_nimg").to(torch::kFloat64), dl = f.get("default.output.lr");
  for (int64_t i = 0; i < dn.numel(); ++i)
    EXPECT_DOUBLE_EQ(edm2_learning_rate(dn[i].item<double>(), 2048), dl[i].item<double>());
}

}  // namespace
}  // namespace edm
