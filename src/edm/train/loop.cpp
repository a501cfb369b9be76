#include "edm/train/loop.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "edm/core/error.h"
#include "edm/core/runtime.h"
#include "edm/data/dataset.h"
#include "edm/dist/grad_reducer.h"
#include "edm/dist/world.h"
#include "edm/io/atomic_file.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"
#include "edm/nn/presets.h"
#include "edm/viz/loss_curve.h"
#include "edm/train/augment.h"
#include "edm/train/ema.h"
#include "edm/train/loader.h"
#include "edm/train/loss.h"
#include "edm/viz/sample_grid.h"
#include "edm/train/state.h"

namespace edm {

namespace fs = std::filesystem;

namespace {

bool small_preset(const std::string& arch) { return arch != "ddpmpp" && arch != "ncsnpp" && arch != "adm"; }

// Defaults for what the user left open: the reference's for its presets, and
// a CPU-sized run for the small ones.
void resolve_defaults(TrainOptions& o, torch::Device device) {
  const bool small = small_preset(o.arch), cpu = device.is_cpu();
  if (!o.batch) o.batch = small ? (cpu ? 64 : 256) : 512;
  if (!o.lr) o.lr = small ? 1e-3 : 10e-4;
  if (!o.lr_rampup) o.lr_rampup = small ? 2.0 : 10000.0;
  if (!o.duration) o.duration = small ? (cpu ? 1.0 : 5.0) : 200.0;
  if (!o.tick) o.tick = small ? (cpu ? 2.0 : 10.0) : 50.0;
  if (small && cpu && !o.max_minutes && o.resume.empty()) o.max_minutes = 10.0;
}

void check_options(const TrainOptions& o) {
  auto positive = [](double v, const char* name) {
    if (!(v > 0) || !std::isfinite(v)) throw UsageError(std::string("--") + name + " must be a positive number");
  };
  positive(*o.duration, "duration");
  positive(*o.lr, "lr");
  positive(*o.tick, "tick");
  positive(o.ls, "ls");
  if (!(o.ema >= 0) || !std::isfinite(o.ema)) throw UsageError("--ema must be non-negative");
  if (*o.batch < 1) throw UsageError("--batch must be at least 1");
  if (o.batch_gpu && *o.batch_gpu < 1) throw UsageError("--batch-gpu must be at least 1");
  if (!(o.augment >= 0 && o.augment <= 1)) throw UsageError("--augment must be in [0, 1]");
  if (!(o.label_dropout >= 0 && o.label_dropout < 1)) throw UsageError("--label-dropout must be in [0, 1)");
  if (o.dropout && !(*o.dropout >= 0 && *o.dropout < 1)) throw UsageError("--dropout must be in [0, 1)");
  if (o.snap < 0 || o.dump < 0) throw UsageError("--snap and --dump must be non-negative");
  if (o.fp16 && o.bf16) throw UsageError("--fp16 and --bf16 exclude each other");
  if (o.max_minutes && !(*o.max_minutes > 0)) throw UsageError("--max-minutes must be positive");
}

// The next free run directory, numbered like the reference's (00000-desc).
std::string make_run_dir(const std::string& outdir, const std::string& desc) {
  std::error_code ec;
  fs::create_directories(outdir, ec);
  if (ec) throw Error("cannot create --outdir " + outdir + ": " + ec.message());
  int next = 0;
  for (const auto& e : fs::directory_iterator(outdir, ec)) {
    const auto name = e.path().filename().string();
    if (name.size() > 5 && std::all_of(name.begin(), name.begin() + 5, ::isdigit))
      next = std::max(next, std::stoi(name.substr(0, 5)) + 1);
  }
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "%05d", next);
  auto dir = outdir + "/" + prefix + "-" + desc;
  if (!fs::create_directory(dir, ec) || ec) throw Error("cannot create run directory " + dir);
  // Probe: a directory we cannot write into fails now, not after an hour.
  write_file_atomic(dir + "/.write-test", "");
  fs::remove(dir + "/.write-test", ec);
  return dir;
}

std::string kimg_name(const std::string& dir, const char* what, int64_t nimg) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "/%s-%06lld.safetensors", what, static_cast<long long>(nimg / 1000));
  return dir + buf;
}

double rss_gb() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1e9;
}

std::string duration_str(double s) {
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%dh%02dm", int(s / 3600), int(s / 60) % 60);
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%dm%02ds", int(s / 60), int(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%.0fs", s);
  return buf;
}

// Copies the tensors of a model file whose names and shapes match (--transfer).
void transfer_weights(const std::string& path, nn::PrecondImpl& net) {
  TensorFile f(path);
  torch::NoGradGuard no_grad;
  int64_t copied = 0;
  for (auto& [name, v] : nn::state_dict(net))
    if (f.has(name)) {
      auto t = f.get(name);
      if (t.sizes().equals(v.sizes())) v.copy_(t), ++copied;
    }
  if (copied == 0) throw Error(path + ": no tensor matches the network (--transfer)");
}

}  // namespace

std::string train(TrainOptions o) {
  const auto device = parse_device(o.device);
  auto world = dist::World::from_env(device, std::chrono::minutes(5));
  const bool main = world.is_main();
  std::optional<TrainStateInfo> resumed;
  if (!o.resume.empty()) resumed = read_train_state_info(o.resume);
  resolve_defaults(o, device);
  check_options(o);

  // Data.
  Dataset data = load_dataset(o.data);
  if (o.xflip) data = with_xflip(data);
  const bool cond = o.cond.value_or(data.label_dim > 0);
  if (cond && data.label_dim == 0) throw UsageError("--cond needs a data set with labels (dataset.json)");

  // Batch split: batch = batch_gpu x rounds x processes.
  const int64_t per_rank = *o.batch / world.size();
  if (per_rank * world.size() != *o.batch)
    throw UsageError("--batch " + std::to_string(*o.batch) + " is not divisible by " + std::to_string(world.size()) +
                     " processes");
  const int64_t batch_gpu = std::min(o.batch_gpu.value_or(per_rank), per_rank);
  const int64_t rounds = per_rank / batch_gpu;
  if (rounds * batch_gpu != per_rank)
    throw UsageError("--batch-gpu " + std::to_string(batch_gpu) + " must divide the per-process batch " +
                     std::to_string(per_rank));

  // Network.
  AugmentConfig aug;
  aug.p = o.augment;
  const int64_t augment_dim = o.augment > 0 ? aug.label_dim() : 0;
  nlohmann::json config;
  if (resumed) {
    config = resumed->config;
  } else {
    nn::PresetOverrides overrides;
    overrides.cbase = o.cbase;
    if (!o.cres.empty()) overrides.cres = o.cres;
    overrides.dropout = o.dropout;
    if (o.label_dropout > 0) overrides.label_dropout = o.label_dropout;
    overrides.use_fp16 = o.fp16;
    overrides.use_bf16 = o.bf16;
    config = nn::preset_config(o.arch, o.precond, data.resolution(), data.channels(), cond ? data.label_dim : 0,
                               augment_dim, overrides);
  }
  if (config.value("img_resolution", int64_t(0)) != data.resolution() ||
      config.value("img_channels", int64_t(0)) != data.channels())
    throw Error("the network (" + std::to_string(config.value("img_channels", int64_t(0))) + " channels, " +
                std::to_string(config.value("img_resolution", int64_t(0))) + " px) does not fit the data (" +
                std::to_string(data.channels()) + " channels, " + std::to_string(data.resolution()) + " px)");
  if (config.value("label_dim", int64_t(0)) > 0 && data.label_dim == 0)
    throw Error("the network is conditional but the data set has no labels");
  const int64_t net_augment_dim = config.value("augment_dim", int64_t(0));
  if (o.augment > 0 && net_augment_dim != aug.label_dim())
    throw Error("--augment needs a network with augment_dim " + std::to_string(aug.label_dim()));
  const int64_t label_dim = config.value("label_dim", int64_t(0));
  const std::string precond_kind = config.value("precond", std::string("EDMPrecond"));
  LossConfig loss_cfg = LossConfig::for_precond(precond_kind == "VPPrecond"   ? "vp"
                                                : precond_kind == "VEPrecond" ? "ve"
                                                                              : "edm");

  const uint64_t seed = resumed ? resumed->counters.seed : o.seed;
  torch::manual_seed(seed);  // initialisation
  auto net = nn::make_precond(config);
  auto ema = nn::make_precond(config);
  net->to(device);
  ema->to(device);
  nn::load_state_dict(*ema, nn::state_dict(*net), "EMA copy");
  ema->eval();
  for (auto& p : ema->parameters()) p.set_requires_grad(false);
  if (!o.transfer.empty()) transfer_weights(o.transfer, *net);
  world.broadcast_from_main(net->parameters());  // every rank starts from rank 0's weights
  std::vector<std::pair<std::string, torch::Tensor>> params;
  for (const auto& p : net->named_parameters()) params.emplace_back(p.key(), p.value());
  Adam adam(params);
  TrainCounters counters;
  counters.seed = seed;
  if (resumed) {
    load_train_state(o.resume, *net, *ema, adam);
    counters = resumed->counters;
    ++counters.cur_tick;  // the state was written at the end of that tick
  }
  int64_t num_params = 0;
  for (const auto& p : net->parameters()) num_params += p.numel();

  const int64_t total_nimg = static_cast<int64_t>(std::llround(*o.duration * 1e6));
  std::string desc = fs::path(o.data).filename().string() + "-" + (cond ? "cond" : "uncond") + "-" + o.arch + "-" +
                     o.precond + "-gpus" + std::to_string(world.size()) + "-batch" + std::to_string(*o.batch);
  for (auto& ch : desc)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-') ch = '-';
  if (main) {
    std::cout << "data         " << o.data << ": " << data.size() << " images, " << data.channels() << "x"
              << data.resolution() << "x" << data.resolution() << (cond ? ", conditional on " : ", unconditional")
              << (cond ? std::to_string(label_dim) + " classes" : "") << "\n"
              << "network      " << o.arch << " (" << precond_kind << "), " << num_params << " parameters\n"
              << "batch        " << *o.batch << " = " << batch_gpu << " x " << rounds << " rounds x " << world.size()
              << " processes\n"
              << "duration     " << *o.duration << " Mimg"
              << (o.max_minutes ? ", at most " + std::to_string(int(*o.max_minutes)) + " minutes" : "") << ", lr "
              << *o.lr << " (ramp-up " << *o.lr_rampup << " kimg), ema " << o.ema << " Mimg\n"
              << "device       " << device.str() << ", " << world.size() << " process(es)\n";
  }
  if (o.dry_run) {
    if (main) std::cout << "dry run: exiting\n";
    return "";
  }
  std::string run_dir;
  if (main) {
    run_dir = make_run_dir(o.outdir, desc);
    nlohmann::json opts = {{"data", o.data},
                           {"cond", cond},
                           {"arch", o.arch},
                           {"precond", o.precond},
                           {"duration", *o.duration},
                           {"batch", *o.batch},
                           {"batch_gpu", batch_gpu},
                           {"lr", *o.lr},
                           {"ema", o.ema},
                           {"augment", o.augment},
                           {"xflip", o.xflip},
                           {"seed", seed},
                           {"resume", o.resume},
                           {"network", config}};
    write_file_atomic(run_dir + "/training_options.json", opts.dump(2) + "\n");
    std::cout << "run dir      " << run_dir << "\n";
  }

  Loader loader(data, seed);
  std::ofstream stats;
  if (main) stats.open(run_dir + "/stats.jsonl", std::ios::app);
  const auto start = std::chrono::steady_clock::now();
  auto tick_start = start;
  int64_t tick_start_nimg = counters.cur_nimg;
  double tick_loss = 0;
  int64_t tick_loss_n = 0, nonfinite_steps = 0;
  const bool tty = main && !o.quiet && ::isatty(STDERR_FILENO);
  net->train();
  // Gradients are averaged across ranks during the last micro-batch's backward.
  std::optional<dist::GradReducer> reducer;
  if (world.distributed()) reducer.emplace(world, net->parameters(), dist::default_bucket_bytes(net->parameters()));
  const auto rank_offset = [&](int64_t nimg, int64_t round) {
    return nimg + world.rank() * per_rank + round * batch_gpu;
  };
  loader.prefetch(rank_offset(counters.cur_nimg, 0), batch_gpu);

  for (;;) {
    // Every random draw of this step follows from (seed, images so far): the
    // noise levels and noise of the whole global batch are drawn alike on
    // every rank, each taking its rows, so that N processes train exactly as
    // one; dropout and augmentation draw per rank.
    const uint64_t step_seed = seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(counters.cur_nimg);
    torch::manual_seed(step_seed);
    auto sigma_all = sample_sigma(loss_cfg, *o.batch, device);
    auto noise_all = torch::randn({*o.batch, data.channels(), data.resolution(), data.resolution()},
                                  torch::TensorOptions().device(device));
    torch::manual_seed(step_seed + 1 + static_cast<uint64_t>(world.rank()));
    for (auto& p : net->parameters()) p.mutable_grad() = torch::Tensor();
    double step_loss = 0;
    for (int64_t r = 0; r < rounds; ++r) {
      auto b = loader.take(rank_offset(counters.cur_nimg, r), batch_gpu);
      const bool last = r + 1 == rounds;
      loader.prefetch(last ? rank_offset(counters.cur_nimg + *o.batch, 0) : rank_offset(counters.cur_nimg, r + 1),
                      batch_gpu);
      auto images = b.images.to(device);
      torch::Tensor labels;
      if (label_dim > 0) labels = torch::one_hot(b.labels.to(device), label_dim).to(torch::kFloat32);
      torch::Tensor augment_labels;
      if (o.augment > 0) {
        auto a = augment(images, aug);
        images = a.images;
        augment_labels = a.augment_labels;
      }
      if (last && reducer) reducer->arm();
      const int64_t row = world.rank() * per_rank + r * batch_gpu;
      auto loss = diffusion_loss(*net, images, labels, augment_labels, loss_cfg, sigma_all.narrow(0, row, batch_gpu),
                                 noise_all.narrow(0, row, batch_gpu));
      (loss.sum() * (o.ls / static_cast<double>(per_rank))).backward();
      step_loss += loss.mean().item<double>() / static_cast<double>(rounds);
    }
    if (reducer) reducer->finish();
    std::vector<torch::Tensor> grads;
    for (auto& p : net->parameters())
      if (p.grad().defined()) grads.push_back(p.mutable_grad());
    step_loss = world.all_reduce_mean(step_loss);
    {
      torch::NoGradGuard no_grad;
      for (auto& g : grads) torch::nan_to_num_out(g, g, 0.0, 1e5, -1e5);
    }
    adam.step(ramped_lr(*o.lr, static_cast<double>(counters.cur_nimg), *o.lr_rampup * 1000));
    ema_update(*ema, *net,
               ema_beta(static_cast<double>(*o.batch), o.ema * 1e6, static_cast<double>(counters.cur_nimg),
                        o.ema_rampup > 0 ? std::optional<double>(o.ema_rampup) : std::nullopt));
    counters.cur_nimg += *o.batch;
    counters.adam_steps = adam.steps();
    if (std::isfinite(step_loss)) {
      tick_loss += step_loss, ++tick_loss_n, nonfinite_steps = 0;
    } else if (++nonfinite_steps >= 20) {
      throw Error("the loss has not been finite for 20 steps (at " + std::to_string(counters.cur_nimg / 1000) +
                  " kimg): lower --lr or use --ls; the last good snapshot is kept");
    }

    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start).count();
    bool done = counters.cur_nimg >= total_nimg;
    if (o.max_minutes && elapsed > *o.max_minutes * 60) done = true;
    done = world.all_reduce_mean(done ? 1.0 : 0.0) > 0;  // every rank stops together
    if (tty) {
      const double tick_frac = static_cast<double>(counters.cur_nimg - tick_start_nimg) / (*o.tick * 1000);
      std::fprintf(stderr, "\r\033[Ktick %lld  [%3.0f%%]  kimg %.1f  loss %.4f",
                   static_cast<long long>(counters.cur_tick), 100 * std::min(tick_frac, 1.0),
                   counters.cur_nimg / 1000.0, step_loss);
      std::fflush(stderr);
    }
    if (!done && counters.cur_nimg < tick_start_nimg + static_cast<int64_t>(*o.tick * 1000)) continue;

    // Tick: report, then write what is due.
    const double tick_sec = std::chrono::duration<double>(now - tick_start).count();
    const double tick_kimg = (counters.cur_nimg - tick_start_nimg) / 1000.0;
    const double img_s = tick_kimg * 1000 / std::max(tick_sec, 1e-9);
    double remaining = static_cast<double>(total_nimg - counters.cur_nimg) / std::max(img_s, 1e-9);
    if (o.max_minutes) remaining = std::min(remaining, std::max(0.0, *o.max_minutes * 60 - elapsed));
    const double mean_loss = tick_loss_n ? tick_loss / tick_loss_n : std::nan("");
    if (main) {
      if (tty) std::fprintf(stderr, "\r\033[K");
      char line[256];
      std::snprintf(line, sizeof line,
                    "tick %-5lld kimg %-8.1f loss %-8.4f sec/kimg %-7.2f img/s %-7.1f mem %.2f GB  time %s  ETA %s",
                    static_cast<long long>(counters.cur_tick), counters.cur_nimg / 1000.0, mean_loss,
                    tick_sec / std::max(tick_kimg, 1e-9), img_s, rss_gb(), duration_str(elapsed).c_str(),
                    done ? "-" : duration_str(remaining).c_str());
      if (!o.quiet) std::cout << line << std::endl;
      nlohmann::json s = {{"tick", counters.cur_tick},
                          {"kimg", counters.cur_nimg / 1000.0},
                          {"loss", mean_loss},
                          {"sec_per_kimg", tick_sec / std::max(tick_kimg, 1e-9)},
                          {"img_per_s", img_s},
                          {"time", elapsed},
                          {"lr", ramped_lr(*o.lr, counters.cur_nimg, *o.lr_rampup * 1000)},
                          {"mem_gb", rss_gb()}};
      if (!std::isfinite(mean_loss)) s["loss"] = nullptr;
      stats << s.dump() << std::endl;
      if (o.snap > 0 && (done || counters.cur_tick % o.snap == 0))
        nn::save_precond(kimg_name(run_dir, "network-snapshot", counters.cur_nimg), *ema);
      if (o.dump > 0 && (done || counters.cur_tick % o.dump == 0) && counters.cur_tick != 0)
        save_train_state(kimg_name(run_dir, "training-state", counters.cur_nimg), *net, *ema, adam, counters);
    }
    world.barrier();
    ++counters.cur_tick;
    tick_start = now;
    tick_start_nimg = counters.cur_nimg;
    tick_loss = 0, tick_loss_n = 0;
    if (done) break;
  }

  if (main) {
    const auto final_net = kimg_name(run_dir, "network-snapshot", counters.cur_nimg);
    if (!fs::exists(final_net)) nn::save_precond(final_net, *ema);
    auto denoiser = load_denoiser(final_net, device);
    const auto grid = run_dir + "/samples.png", curve = run_dir + "/loss.png";
    std::cout << "sampling a " << (label_dim ? "labelled " : "") << "grid from " << final_net << "\n";
    write_sample_grid(*denoiser, cond ? data.class_names : std::vector<std::string>{}, o.grid_per_class, o.grid_steps,
                      grid);
    plot_loss_curve(run_dir + "/stats.jsonl", curve);
    std::cout << "model        " << final_net << "\n"
              << "samples      " << grid << "\n"
              << "loss curve   " << curve << "\n";
  }
  world.barrier();
  return run_dir;
}

}  // namespace edm
