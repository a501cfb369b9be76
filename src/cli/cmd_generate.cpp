// edm generate: images from a model file, with the reference's options and
// names (generate.py), plus our samplers, given latents and raw output.
#include <cmath>
#include <filesystem>
#include <iostream>
#include <limits>

#include "common.h"
#include "edm/core/error.h"
#include "edm/core/progress.h"
#include "edm/core/runtime.h"
#include "edm/dist/world.h"
#include "edm/io/image.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"
#include "edm/sampling/generate.h"
#include "edm/sampling/guidance.h"

namespace edm::cli {

namespace {

struct GenerateArgs {
  RuntimeOptions runtime;
  std::string net, outdir, seeds = "0-63", latents, raw, grid;
  bool subdirs = false;
  int64_t class_idx = -1, batch = 64;
  double sigma_min = 0, sigma_max = 0, guidance = 1;
  GenerateOptions gen;
  CLI::Option *class_opt = nullptr, *sigma_min_opt = nullptr, *sigma_max_opt = nullptr, *guidance_opt = nullptr;
  std::vector<CLI::Option*> ablation_opts;
};

torch::Tensor read_latents(const std::string& path, size_t n) {
  TensorFile f(path);
  if (!f.has("latents")) throw Error(path + ": no tensor 'latents'");
  auto t = f.get("latents");
  if (t.dim() != 4 || t.size(0) != static_cast<int64_t>(n))
    throw Error(path + ": 'latents' must be [N,C,H,W] with one row per seed (" + std::to_string(n) + "), got " +
                c10::str(t.sizes()));
  return t;  // float32 or float64: the sampler starts in float64 either way
}

void run(GenerateArgs& a) {
  init_threads(a.runtime.threads);
  const auto device = parse_device(a.runtime.device);
  if (a.outdir.empty() && a.raw.empty() && a.grid.empty())
    throw UsageError("nothing to write: give --outdir, --raw or --grid");
  auto& so = a.gen.sampler_options;
  if (*a.sigma_min_opt) so.sigma_min = a.sigma_min;
  if (*a.sigma_max_opt) so.sigma_max = a.sigma_max;
  for (auto* o : a.ablation_opts) a.gen.ablation_options_given = a.gen.ablation_options_given || o->count() > 0;
  if (*a.class_opt) a.gen.class_idx = a.class_idx;
  if (a.batch < 1) throw UsageError("--batch must be at least 1");
  const auto seeds = parse_seed_list(a.seeds);

  std::shared_ptr<Denoiser> net = load_denoiser(a.net, device);
  check_generate_options(*net, a.gen);
  if (*a.guidance_opt) {
    if (std::isnan(a.guidance)) throw UsageError("--guidance is NaN");
    if (net->label_dim() == 0) throw UsageError("--guidance needs a conditional model");
    net = std::make_shared<GuidedDenoiser>(net, a.guidance);
  }
  torch::Tensor latents;
  if (!a.latents.empty()) latents = read_latents(a.latents, seeds.size());

  auto world = dist::World::from_env(device, std::chrono::minutes(10));
  auto batches = dist::rank_batches(seeds, a.batch, world.rank(), world.size());
  std::map<uint64_t, int64_t> row;  // seed -> row in the seed list
  for (size_t i = 0; i < seeds.size(); ++i) row.emplace(seeds[i], static_cast<int64_t>(i));
  const bool keep = !a.raw.empty() || !a.grid.empty();
  torch::Tensor all;  // every image, for --raw and --grid
  if (keep)
    all = torch::zeros(
        {static_cast<int64_t>(seeds.size()), net->img_channels(), net->img_resolution(), net->img_resolution()},
        torch::kFloat64);
  if (!a.outdir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(a.outdir, ec);
    if (ec) throw Error("cannot create --outdir " + a.outdir + ": " + ec.message());
  }

  const auto name = resolve_sampler(a.gen);
  const int64_t steps = so.num_steps;
  Progress progress("generate", static_cast<int64_t>(batches.size()) * steps, world.is_main());
  int64_t done = 0, images_done = 0;
  for (const auto& batch : batches) {
    torch::Tensor lat;
    if (latents.defined()) {
      std::vector<int64_t> rows;
      for (auto s : batch) rows.push_back(row.at(s));
      lat = latents.index_select(0, torch::tensor(rows, torch::kInt64));
    }
    auto images = generate_batch(*net, batch, a.gen, lat, [&](int64_t i) {
                    progress.update(done + i, std::to_string(images_done) + " images");
                  }).cpu();
    done += steps;
    images_done += static_cast<int64_t>(batch.size());
    if (!a.outdir.empty()) {
      auto u8 = to_uint8_nhwc(images);
      for (size_t i = 0; i < batch.size(); ++i) {
        auto path = seed_image_path(a.outdir, batch[i], a.subdirs);
        std::filesystem::create_directories(std::filesystem::path(path).parent_path());
        write_png(path, u8[static_cast<int64_t>(i)]);
      }
    }
    if (keep)
      for (size_t i = 0; i < batch.size(); ++i) all[row.at(batch[i])].copy_(images[static_cast<int64_t>(i)]);
  }
  progress.finish(std::to_string(images_done) + " images, " + name + " sampler, " +
                  std::to_string(sampler_nfe(name, so)) + " NFE");
  if (keep) world.all_reduce_sum(all);  // each rank filled its own rows
  if (world.is_main()) {
    if (!a.raw.empty()) save_tensors(a.raw, {{"images", all}}, {{"seeds", a.seeds}});
    if (!a.grid.empty()) {
      const auto cols = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(seeds.size()))));
      write_png(a.grid, make_grid(all, cols, 1));
    }
    if (!a.outdir.empty()) std::cout << "images in " << a.outdir << "\n";
    if (!a.raw.empty()) std::cout << "raw images in " << a.raw << "\n";
    if (!a.grid.empty()) std::cout << "grid in " << a.grid << "\n";
  }
  world.barrier();
}

}  // namespace

void register_generate(CLI::App& app) {
  auto* sub = app.add_subcommand("generate", "Generate images from a model file (reference generate.py options)");
  auto a = std::make_shared<GenerateArgs>();
  auto& so = a->gen.sampler_options;
  sub->add_option("--net,--network", a->net, "Model file (.safetensors)")->required();
  sub->add_option("--outdir", a->outdir, "Where to save one PNG per seed");
  sub->add_option("--seeds", a->seeds, "Random seeds, e.g. 1,2,5-10")->capture_default_str();
  sub->add_flag("--subdirs", a->subdirs, "Create a subdirectory for every 1000 seeds");
  a->class_opt = sub->add_option("--class", a->class_idx, "Class label (default: random)");
  sub->add_option("--batch", a->batch, "Maximum batch size")->capture_default_str();
  sub->add_option("--steps", so.num_steps, "Number of sampling steps")->capture_default_str();
  a->sigma_min_opt = sub->add_option("--sigma_min", a->sigma_min, "Lowest noise level (default: per discretization)");
  a->sigma_max_opt = sub->add_option("--sigma_max", a->sigma_max, "Highest noise level (default: per discretization)");
  sub->add_option("--rho", so.rho, "Time step exponent")->capture_default_str();
  sub->add_option("--S_churn", so.S_churn, "Stochasticity strength")->capture_default_str();
  sub->add_option("--S_min", so.S_min, "Stoch. min noise level")->capture_default_str();
  sub->add_option("--S_max", so.S_max, "Stoch. max noise level")->capture_default_str();
  sub->add_option("--S_noise", so.S_noise, "Stoch. noise inflation")->capture_default_str();
  a->ablation_opts.push_back(sub->add_option("--solver", so.solver, "Ablate ODE solver: euler|heun"));
  a->ablation_opts.push_back(
      sub->add_option("--disc", so.discretization, "Ablate time step discretization: vp|ve|iddpm|edm"));
  a->ablation_opts.push_back(
      sub->add_option("--schedule", so.schedule, "Ablate noise schedule sigma(t): vp|ve|linear"));
  a->ablation_opts.push_back(sub->add_option("--scaling", so.scaling, "Ablate signal scaling s(t): vp|none"));
  sub->add_option("--alpha", so.alpha, "Heun's intermediate point (generalised sampler)")->capture_default_str();
  sub->add_option("--sampler", a->gen.sampler,
                  "auto (reference: edm, or ablation when ablating), edm, ablation, ddim, ddpm, euler_maruyama, "
                  "langevin, dpmpp2m, dpmpp3m")
      ->capture_default_str();
  sub->add_option("--eta", so.eta, "DDIM stochasticity (0 deterministic, 1 DDPM)")->capture_default_str();
  sub->add_option("--ld_steps", so.ld_steps, "Langevin updates per noise level")->capture_default_str();
  sub->add_option("--ld_snr", so.ld_snr, "Langevin signal-to-noise ratio")->capture_default_str();
  a->guidance_opt = sub->add_option("--guidance", a->guidance, "Classifier-free guidance weight w (1 = none)");
  sub->add_option("--latents", a->latents, "Safetensors with 'latents' [N,C,H,W], one row per seed");
  sub->add_option("--raw", a->raw, "Write the sampler output as safetensors 'images' [N,C,H,W] float64");
  sub->add_option("--grid", a->grid, "Write all images tiled into one PNG");
  add_runtime_options(sub, a->runtime);
  sub->callback([a] { run(*a); });
}

}  // namespace edm::cli
