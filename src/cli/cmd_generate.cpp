// edm generate: images from a model file, with the reference's options and
// names (generate.py), plus our samplers, given latents and raw output.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <set>

#include "common.h"
#include "edm/core/error.h"
#include "edm/core/progress.h"
#include "edm/core/runtime.h"
#include "edm/dist/world.h"
#include "edm/io/atomic_file.h"
#include "edm/io/image.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"
#include "edm/model/upsampler.h"
#include "edm/sampling/counting_denoiser.h"
#include "edm/sampling/generate.h"
#include "png_record.h"
#include "sampler_args.h"

namespace edm::cli {

namespace {

struct GenerateArgs {
  RuntimeOptions runtime;
  std::string net, outdir, seeds = "0-63", latents, raw, grid;
  bool subdirs = false;
  int64_t batch = 64;
  int nproc = 1;
  SamplerArgs sampling;
  std::string from_png;
  std::set<uint64_t> only;  // seeds whose PNG is written (--from-png); empty: all
};

// --from-png: the image's model, batch of seeds and sampler options.
void apply_from_png(GenerateArgs& a, const CLI::App& sub) {
  auto f = read_from_png(a.from_png, a.net, a.sampling);
  a.net = f.net;
  a.seeds = f.seeds;
  a.batch = f.batch;
  a.only = f.only;
  if (sub.get_option("--device")->count() == 0) a.runtime.device = f.device;
  if (a.outdir.empty() && a.raw.empty() && a.grid.empty()) a.outdir = ".";
}

torch::Tensor read_latents(const std::string& path, size_t n) {
  TensorFile f(path);
  if (!f.has("latents")) throw Error(path + ": no tensor 'latents'");
  auto t = f.get("latents");
  if (t.dim() != 4 || t.size(0) != static_cast<int64_t>(n))
    throw Error(path + ": 'latents' must be [N,C,H,W] with one row per seed (" + std::to_string(n) + "), got " +
                c10::str(t.sizes()));
  return t;  // float32 or float64: the sampler starts in float64 either way
}

// Evaluations per image, as counted: exact for fixed-step samplers, the mean
// for the adaptive one.
std::string nfe_text(int64_t rows, int64_t images) {
  if (images == 0) return "0";
  if (rows % images == 0) return std::to_string(rows / images);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f (mean)", static_cast<double>(rows) / static_cast<double>(images));
  return buf;
}

void run(GenerateArgs& a) {
  if (a.net.empty()) throw UsageError("--net is required (unless --from-png names the model)");
  init_threads(a.runtime.threads);
  const auto device = parse_device(a.runtime.device);
  if (a.outdir.empty() && a.raw.empty() && a.grid.empty())
    throw UsageError("nothing to write: give --outdir, --raw or --grid");
  if (a.batch < 1) throw UsageError("--batch must be at least 1");
  const auto seeds = parse_seed_list(a.seeds);
  check_outputs_are_not_inputs({a.raw, a.grid}, {a.net, a.latents, a.sampling.upsampler});
  auto model = load_denoiser(a.net, device, resolve_precision(a.sampling.precision, device));
  auto counting = std::make_shared<CountingDenoiser>(apply_sampler_options(a.sampling, model));
  std::shared_ptr<Denoiser> net = counting;
  auto up = load_second_stage(a.sampling, *net, device, a.net);
  const auto& gen = a.sampling.gen;
  const auto& so = gen.sampler_options;
  torch::Tensor latents;
  if (!a.latents.empty()) latents = read_latents(a.latents, seeds.size());

  auto world = dist::World::from_env(device, std::chrono::minutes(10));
  auto batches = dist::rank_batches(seeds, a.batch, world.rank(), world.size());
  std::map<uint64_t, int64_t> row;  // seed -> row in the seed list
  for (size_t i = 0; i < seeds.size(); ++i) row.emplace(seeds[i], static_cast<int64_t>(i));
  const bool keep = !a.raw.empty() || !a.grid.empty();
  torch::Tensor all;  // every image, for --raw and --grid
  if (keep) {
    auto shape = up ? std::vector<int64_t>{up->img_channels(), up->resolution(), up->resolution()}
                    : image_shape(*net);  // a latent model's images are not its samples
    shape.insert(shape.begin(), static_cast<int64_t>(seeds.size()));
    all = torch::zeros(shape, torch::kFloat64);
  }
  if (!a.outdir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(a.outdir, ec);
    if (ec) throw Error("cannot create --outdir " + a.outdir + ": " + ec.message());
  }

  const SamplerInfo& sampler = resolve_sampler(gen);
  const GenerationRecord record =
      run_record(a.net, a.sampling, device, model->compute_dtype(), a.latents);  // written into every PNG
  const int64_t steps = so.num_steps;
  const int64_t stages = up ? 2 : 1;
  Progress progress("generate", static_cast<int64_t>(batches.size()) * steps * stages, world.is_main());
  int64_t done = 0, images_done = 0;
  for (const auto& batch : batches) {
    torch::Tensor lat;
    if (latents.defined()) {
      std::vector<int64_t> rows;
      for (auto s : batch) rows.push_back(row.at(s));
      lat = latents.index_select(0, torch::tensor(rows, torch::kInt64));
    }
    auto on_step = [&](int64_t i) { progress.update(done + i, std::to_string(images_done) + " images"); };
    auto images = generate_batch(*net, batch, gen, lat, on_step).cpu();
    done += steps;
    if (up) {
      images = upsample_batch(*up, images, batch, gen, a.sampling.cond_aug, on_step).cpu();
      done += steps;
    }
    images_done += static_cast<int64_t>(batch.size());
    if (!a.outdir.empty()) {
      auto u8 = to_uint8_nhwc(images);
      for (size_t i = 0; i < batch.size(); ++i) {
        if (!a.only.empty() && !a.only.count(batch[i])) continue;
        auto path = seed_image_path(a.outdir, batch[i], a.subdirs);
        std::filesystem::create_directories(std::filesystem::path(path).parent_path());
        write_file_atomic(path, png_with_record(u8[static_cast<int64_t>(i)], record, batch[i], batch));
      }
    }
    if (keep)
      for (size_t i = 0; i < batch.size(); ++i) all[row.at(batch[i])].copy_(images[static_cast<int64_t>(i)]);
  }
  progress.finish(std::to_string(images_done) + " images, " + sampler.name + " sampler, " +
                  nfe_text(counting->rows(), images_done) + " NFE");
  if (keep) world.all_reduce_sum(all);  // each rank filled its own rows
  if (world.is_main()) {
    if (!a.raw.empty()) save_tensors(a.raw, {{"images", all}}, {{"seeds", a.seeds}});
    if (!a.grid.empty()) {
      const auto cols = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(seeds.size()))));
      auto grid_record = record;
      grid_record.grid = true;
      write_file_atomic(a.grid, png_with_record(make_grid(all, cols, 1), grid_record, seeds.front(), seeds));
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
  sub->add_option("--net,--network", a->net, "Model file (.safetensors)");
  sub->add_option("--outdir", a->outdir, "Where to save one PNG per seed");
  sub->add_option("--seeds", a->seeds, "Random seeds, e.g. 1,2,5-10")->capture_default_str();
  sub->add_flag("--subdirs", a->subdirs, "Create a subdirectory for every 1000 seeds");
  sub->add_option("--batch", a->batch, "Maximum batch size")->capture_default_str();
  add_sampler_options(sub, a->sampling);
  add_upsampler_options(sub, a->sampling);
  sub->add_option("--latents", a->latents, "Safetensors with 'latents' [N,C,H,W], one row per seed");
  sub->add_option("--raw", a->raw, "Write the images as safetensors 'images' [N,C,H,W] float64 in [-1, 1]");
  sub->add_option("--grid", a->grid, "Write all images tiled into one PNG");
  sub->add_option("--nproc", a->nproc, "Start this many local processes, seeds split among them")
      ->capture_default_str();
  add_runtime_options(sub, a->runtime);
  sub->add_option("--from-png", a->from_png,
                  "Make this PNG again from the parameters it carries (model checked by SHA-256; --outdir: .)");
  sub->callback([a, sub] {
    if (!a->from_png.empty()) apply_from_png(*a, *sub);
    if (!relaunch_local(a->nproc)) run(*a);
  });
}

}  // namespace edm::cli
