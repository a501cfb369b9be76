// edm generate with the reference's networks: the same seeds give the same
// latents, classes and images as the reference's generate.py.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "edm/io/image.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"
#include "edm/sampling/generate.h"
#include "testing.h"

using namespace edm;

class GenerateReference : public ::testing::TestWithParam<std::string> {};

TEST_P(GenerateReference, SameSeedsSameImages) {
  const auto name = GetParam();
  const auto model = test::reference(name + ".model.safetensors");
  TensorFile io(test::reference(name + ".io.safetensors"));
  auto runs = nlohmann::json::parse(io.metadata("generate", "[]"));
  ASSERT_EQ(runs.size(), 2u);
  auto net = load_denoiser(model, torch::kCPU);
  for (const auto& g : runs) {
    const std::string key = g["key"];
    std::vector<uint64_t> seeds = g["seeds"].get<std::vector<uint64_t>>();
    std::string seed_list;
    for (auto s : seeds) seed_list += (seed_list.empty() ? "" : ",") + std::to_string(s);
    // Latents and classes drawn per seed, bit for bit.
    SeedBatch rnd(seeds);
    auto in = draw_seed_inputs(rnd, *net, GenerateOptions{}, torch::kCPU);
    EXPECT_TRUE(torch::equal(in.latents, io.get(key + ".latents"))) << key;
    if (net->label_dim() > 0) {
      EXPECT_TRUE(torch::equal(in.class_labels, io.get(key + ".class_labels"))) << key;
    }

    test::TempDir dir;
    std::string args = "generate --net " + model + " --seeds " + seed_list + " --steps " +
                       std::to_string(g["num_steps"].get<int>()) + " --raw " + (dir / "raw.safetensors") +
                       " --outdir " + (dir / "png");
    for (auto opt : {"S_churn", "S_min", "S_max", "S_noise"})
      if (g.contains(opt)) args += std::string(" --") + opt + " " + std::to_string(g[opt].get<double>());
    auto r = test::run_edm(args);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto images = TensorFile(dir / "raw.safetensors").get("images");
    // A float32 network evaluated at every step: relative to the images' range.
    const double err = test::rel_diff(images, io.get(key + ".images"));
    EXPECT_LT(err, 1e-3) << name << " " << key;
    // The PNGs, as the reference names and quantises them.
    auto expected = io.get(key + ".uint8").to(torch::kInt32);
    int64_t total = 0, exact = 0, off_by_one = 0;
    for (size_t i = 0; i < seeds.size(); ++i) {
      auto png = read_image(seed_image_path(dir / "png", seeds[i], false)).permute({1, 2, 0}).to(torch::kInt32);
      auto diff = (png - expected[static_cast<int64_t>(i)]).abs();
      total += diff.numel();
      exact += (diff == 0).sum().item<int64_t>();
      off_by_one += (diff <= 1).sum().item<int64_t>();
    }
    EXPECT_GE(static_cast<double>(exact), 0.999 * static_cast<double>(total)) << name << " " << key;
    EXPECT_EQ(off_by_one, total) << name << " " << key;
    std::cout << name << " " << key << ": max |images - ref| " << err << ", uint8 exact " << exact << "/" << total
              << "\n";
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, GenerateReference,
                         ::testing::Values("ddpmpp_edm", "ncsnpp_ve", "ddpmpp_vp", "adm_iddpm"));
