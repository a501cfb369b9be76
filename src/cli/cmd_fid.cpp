// edm fid: Frechet distance between detector statistics, as the reference's
// fid.py (ref / calc), plus training the built-in Fashion-MNIST detector.
#include <cstdio>
#include <iostream>

#include "common.h"
#include "edm/core/error.h"
#include "edm/core/rng.h"
#include "edm/core/runtime.h"
#include "edm/dist/world.h"
#include "edm/eval/detector.h"
#include "edm/eval/detector_train.h"
#include "edm/eval/fid.h"
#include "edm/model/model_file.h"
#include "sampler_args.h"

namespace edm::cli {

namespace {

struct FidOptions {
  RuntimeOptions runtime;
  std::string data, dest, images, net, seeds = "0-49999", ref, detector;
  int64_t num = 0, batch = 250;
  int nproc = 1;
  SamplerArgs sampling;
  DetectorTrainOptions train;
};

std::unique_ptr<Detector> open_detector(const FidOptions& o, torch::Device device) {
  return load_detector(o.detector.empty() ? default_detector_path() : o.detector, device);
}

void run_ref(const FidOptions& o) {
  init_threads(o.runtime.threads);
  auto device = parse_device(o.runtime.device);
  auto det = open_detector(o, device);
  auto images = load_fid_images(o.data, o.num);
  auto stats = detector_stats(*det, images, o.batch, "features");
  save_stats(o.dest, stats, det->name(), o.data);
  std::cerr << "wrote " << o.dest << " (" << stats.count << " images, " << stats.mu.size(0) << " features)\n";
}

void run_calc(FidOptions& o) {
  if (o.images.empty() == o.net.empty()) throw UsageError("give exactly one of --images and --net");
  init_threads(o.runtime.threads);
  auto device = parse_device(o.runtime.device);
  auto ref = load_stats(o.ref);  // fail fast, before the long part
  auto det = open_detector(o, device);
  FeatureStats stats;
  if (!o.images.empty()) {
    auto images = load_fid_images(o.images, o.num);
    if (o.num > 0 && images.size(0) < o.num)
      throw Error("found " + std::to_string(images.size(0)) + " images in " + o.images + ", expected at least " +
                  std::to_string(o.num));
    stats = detector_stats(*det, images, o.batch, "features");
  } else {
    auto seeds = parse_seed_list(o.seeds);
    if (o.num > 0 && static_cast<int64_t>(seeds.size()) > o.num) seeds.resize(o.num);
    auto net = apply_sampler_options(o.sampling,
                                     load_denoiser(o.net, device, resolve_precision(o.sampling.precision, device)));
    auto up = load_second_stage(o.sampling, *net, device, o.net);
    ImageStage stage;
    if (up)
      stage = [&](const torch::Tensor& images, const std::vector<uint64_t>& seeds) {
        return upsample_batch(*up, images, seeds, o.sampling.gen, o.sampling.cond_aug);
      };
    // Seeds dealt to ranks as in `edm generate`; the features' sums are joined.
    auto world = dist::World::from_env(device, std::chrono::minutes(10));
    if (seeds.size() < 2 || static_cast<int64_t>(seeds.size()) < world.size())
      throw UsageError("need at least 2 seeds, and one per process, for FID statistics");
    auto batches = dist::rank_batches(seeds, std::min<int64_t>(o.batch, 64), world.rank(), world.size());
    auto acc = generated_features(*det, *net, batches, o.sampling.gen, world.is_main(), stage);
    acc.reduce([&](torch::Tensor& t) { world.all_reduce_sum(t); });
    stats = acc.finish();
    if (!world.is_main()) return;
  }
  double fd = frechet_distance_to_reference(stats, ref, o.ref);
  std::printf("%g\n", fd);
}

void run_train_detector(const FidOptions& o) {
  init_threads(o.runtime.threads);
  auto device = parse_device(o.runtime.device);
  double acc = train_fashion_detector(o.dest, o.train, device);
  std::printf("test accuracy %.4f\n", acc);
  if (acc < 0.9) std::cerr << "warning: test accuracy below 0.90; train longer (--epochs)\n";
}

}  // namespace

void register_fid(CLI::App& app) {
  auto* fid = app.add_subcommand("fid", "Frechet distance (FID) between images and reference statistics");
  fid->require_subcommand(1);
  auto o = std::make_shared<FidOptions>();

  auto* ref = fid->add_subcommand("ref", "Compute reference statistics (mu, sigma) of a data set");
  ref->add_option("--data", o->data, "fashion-mnist, fashion-mnist:test, or a folder of images")->required();
  ref->add_option("--dest", o->dest, "Statistics file to write (.safetensors)")->required();
  ref->add_option("--detector", o->detector, "Detector: TorchScript module or edm detector file (default: built-in)");
  ref->add_option("--num", o->num, "Use at most this many images (default: all)")->check(CLI::NonNegativeNumber);
  ref->add_option("--batch", o->batch, "Images per detector batch")->check(CLI::PositiveNumber)->capture_default_str();
  add_runtime_options(ref, o->runtime);
  ref->callback([o] { run_ref(*o); });

  auto* calc =
      fid->add_subcommand("calc", "Frechet distance of images (a folder, or generated) to reference statistics");
  calc->add_option("--images", o->images, "Folder of images (or fashion-mnist[:test])");
  calc->add_option("--net", o->net, "Model file to generate images from, one per seed");
  calc->add_option("--seeds", o->seeds, "Seeds for --net, e.g. 0-9999")->capture_default_str();
  add_sampler_options(calc, o->sampling);
  add_upsampler_options(calc, o->sampling);
  calc->add_option("--nproc", o->nproc, "Start this many local processes, seeds split among them")
      ->capture_default_str();
  calc->add_option("--ref", o->ref, "Reference statistics file (from 'edm fid ref')")->required();
  calc->add_option("--detector", o->detector, "Detector: TorchScript module or edm detector file (default: built-in)");
  calc->add_option("--num", o->num, "Number of images to use (default: all)")->check(CLI::NonNegativeNumber);
  calc->add_option("--batch", o->batch, "Images per detector batch")->check(CLI::PositiveNumber)->capture_default_str();
  add_runtime_options(calc, o->runtime);
  calc->callback([o] {
    if (o->nproc > 1 && o->net.empty()) throw UsageError("--nproc splits the seeds of --net; it needs --net");
    if (!relaunch_local(o->nproc)) run_calc(*o);
  });

  auto* train = fid->add_subcommand("train-detector", "Train the built-in Fashion-MNIST detector (a small CNN)");
  train->add_option("--dest", o->dest, "Detector file to write (.safetensors)")->required();
  train->add_option("--epochs", o->train.epochs, "Epochs")->check(CLI::PositiveNumber)->capture_default_str();
  train->add_option("--batch", o->train.batch, "Batch size")->check(CLI::PositiveNumber)->capture_default_str();
  train->add_option("--lr", o->train.lr, "Adam learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  train->add_option("--seed", o->train.seed, "Random seed")->capture_default_str();
  add_runtime_options(train, o->runtime);
  train->callback([o] { run_train_detector(*o); });
}

}  // namespace edm::cli
