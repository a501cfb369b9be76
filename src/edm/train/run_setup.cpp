// Setting a run up: options, data, batch split, network, optimizer, the
// printed plan and the run directory.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "edm/core/error.h"
#include "edm/core/interrupt.h"
#include "edm/diffusion/cascade.h"
#include "edm/io/atomic_file.h"
#include "edm/io/image.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"
#include "edm/nn/autoencoder_config.h"
#include "edm/nn/presets.h"
#include "edm/train/flat_params.h"
#include "edm/train/latent_data.h"
#include "edm/train/resume_options.h"
#include "edm/train/run.h"

namespace edm {

namespace fs = std::filesystem;

namespace {

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

// Copies the tensors of a model file whose names and shapes match (--transfer).
void transfer_weights(const std::string& path, networks::PrecondImpl& net) {
  TensorFile f(path);
  torch::NoGradGuard no_grad;
  int64_t copied = 0;
  for (auto& [name, v] : state_dict(net))
    if (f.has(name)) {
      auto t = f.get(name);
      if (t.sizes().equals(v.sizes())) v.copy_(t), ++copied;
    }
  if (copied == 0) throw Error(path + ": no tensor matches the network (--transfer)");
}

// sigma_data of a fresh EDM denoiser: --sigma-data, else the data's own std
// for the small presets (EDM's definition; measured to train a better model
// in 10 CPU minutes on Fashion-MNIST, whose std is 0.706, docs/training.md),
// else the reference's 0.5. Latents are normalised to 0.5 already.
std::optional<double> sigma_data_for(const TrainOptions& o, const Dataset& data, bool latent) {
  if (o.sigma_data) return o.sigma_data;
  const bool denoiser = o.precond == "edm" && !o.autoencoder && !o.classifier;
  if (!denoiser || latent || uses_edm2_recipe(o) || !networks::preset_is_small(o.arch)) return std::nullopt;
  return std::round(data_std(data) * 1000) / 1000;  // 0.706: the plan and the model file stay readable
}

// A lower resolution given by `option` (--cascade-from, --resolution): the
// data's blocks of res / r pixels are averaged, so r must divide it.
void check_lower_resolution(const char* option, int64_t r, int64_t res) {
  if (r >= res || res % r)
    throw UsageError(std::string(option) + " " + std::to_string(r) + " must divide the data's " + std::to_string(res) +
                     " px and be smaller");
}

// The network a fresh run builds from its preset and the options.
nlohmann::json fresh_config(const TrainOptions& o, const Dataset& data, bool cond, int64_t augment_dim,
                            const std::optional<LatentSpace>& latent) {
  networks::PresetOverrides overrides;
  overrides.cbase = o.cbase;
  if (!o.cres.empty()) overrides.cres = o.cres;
  overrides.dropout = o.dropout;
  if (o.label_dropout > 0) overrides.label_dropout = o.label_dropout;
  overrides.use_fp16 = o.fp16;
  overrides.use_bf16 = o.bf16;
  auto config = networks::preset_config(o.arch, o.precond, data.resolution(), data.channels(),
                                        cond ? data.label_dim : 0, augment_dim, overrides);
  if (o.precond == "ddpm") {  // the chain is part of the model: its file records it
    config["beta_schedule"] = o.beta.value_or("linear");
    config["T"] = o.T.value_or(1000);
    config["learn_sigma"] = o.learn_sigma;
  }
  if (latent) config["latent"] = latent->to_json();
  if (const auto sd = sigma_data_for(o, data, latent.has_value())) config["sigma_data"] = *sd;
  if (o.cascade_from) {
    check_lower_resolution("--cascade-from", *o.cascade_from, data.resolution());
    config["upsampler"] = {{"low_resolution", *o.cascade_from}, {"cond_aug_max", o.cond_aug_max}};
  }
  if (o.autoencoder)
    return networks::autoencoder_config(data.resolution(), data.channels(), o.ae_factor, o.latent_channels, o.cbase);
  return o.classifier ? networks::classifier_config(config, data.label_dim, o.arch) : config;
}

// The data at r x r in the networks' units, averaged down by blocks exactly as
// an upsampler's condition is (cascade::downsample), so a base model trained
// on it makes the images its upsampler was trained to enlarge.
Dataset averaged_down(Dataset d, int64_t r) {
  check_lower_resolution("--resolution", r, d.resolution());
  std::vector<torch::Tensor> parts;
  for (const auto& part : d.images.split(4096)) parts.push_back(cascade::downsample(from_uint8(part), r));
  d.images = torch::cat(parts);
  return d;
}

void check_fits(const nlohmann::json& config, const Dataset& data) {
  const int64_t res = config.value("img_resolution", int64_t(0)), channels = config.value("img_channels", int64_t(0));
  if (res != data.resolution() || channels != data.channels()) {
    const bool smaller = res > 0 && res < data.resolution() && data.resolution() % res == 0;
    throw Error("the network (" + std::to_string(channels) + " channels, " + std::to_string(res) +
                " px) does not fit the data (" + std::to_string(data.channels()) + " channels, " +
                std::to_string(data.resolution()) + " px)" +
                (smaller ? "; a base model trained with --resolution " + std::to_string(res) + " needs it again" : ""));
  }
  if (config.value("label_dim", int64_t(0)) > 0 && data.label_dim == 0)
    throw Error("the network is conditional but the data set has no labels");
}

// Training keeps five float32 copies of the weights (network, EMA,
// gradients, Adam's two moments): a network that cannot fit in this machine's
// memory is refused, counted on the meta device, before it is built.
void check_fits_memory(const nlohmann::json& config) {
  const double params = double(networks::parameter_count(config));
  const double need = params * 4 * 5, have = double(::sysconf(_SC_PHYS_PAGES)) * double(::sysconf(_SC_PAGESIZE));
  constexpr double GiB = double(1 << 30);
  if (have > 0 && need > have)
    throw Error("the network has " + std::to_string(int64_t(params)) + " parameters: training it needs about " +
                std::to_string(int64_t(need / GiB)) + " GiB, more than this machine's " +
                std::to_string(int64_t(have / GiB)) + " GiB (a smaller --cbase, --cres or --arch)");
}

// Numbers of the plan, comma-separated, to 4 significant digits (the
// latents' statistics would print 17).
std::string plan_list(const std::vector<double>& v) {
  std::string s;
  char buf[32];
  for (double x : v) {
    std::snprintf(buf, sizeof buf, "%.4g", x);
    s += (s.empty() ? "" : ",") + std::string(buf);
  }
  return s;
}

}  // namespace

TrainRun::TrainRun(TrainOptions o, torch::Device device, bool quiet)
    : o_(std::move(o)), device_(device), quiet_(quiet), world_(check_then_join()), main_(world_.is_main()) {
  build_network();
  total_nimg_ = static_cast<int64_t>(std::llround(*o_.duration * 1e6));
  if (main_) print_plan();
}

// A usage error (or missing data) is found by every rank before any joins, so
// each exits with it at once; found after joining, a rank that exits first
// breaks the others' rendezvous, and they report that instead.
dist::World TrainRun::check_then_join() {
  if (!o_.resume.empty()) {
    resumed_ = read_train_state_info(o_.resume);
    adopt_resumed_options(o_, *resumed_, o_.resume);  // the recipe and network go on as they began
  }
  resolve_defaults(o_, device_.is_cpu());
  check_options(o_);
  if (o_.bf16) networks::check_precision(networks::Precision::BFloat16, device_);
  split_batch(dist::World::size_from_env());
  load_data();
  return dist::World::from_env(device_, std::chrono::minutes(5));
}

void TrainRun::load_data() {
  data_ = load_dataset(o_.data);
  if (o_.xflip) data_ = with_xflip(data_);
  if (o_.resolution && *o_.resolution != data_.resolution()) data_ = averaged_down(data_, *o_.resolution);
  encode_latents();
  cond_ = o_.cond.value_or(data_.label_dim > 0 && !o_.classifier && !o_.autoencoder && !o_.cascade_from);
  if (o_.autoencoder && (o_.classifier || cond_)) throw UsageError("--autoencoder takes no --classifier or --cond");
  if (o_.classifier) {
    if (data_.label_dim == 0) throw UsageError("--classifier needs a data set with labels (dataset.json)");
    if (cond_) throw UsageError("--classifier takes the labels as targets, not as input: drop --cond");
  }
  if (cond_ && data_.label_dim == 0) throw UsageError("--cond needs a data set with labels (dataset.json)");
}

void TrainRun::encode_latents() {
  const bool recorded = resumed_ && resumed_->config.contains("latent");
  if (!recorded && o_.latent.empty()) return;
  std::optional<LatentSpace> space;
  std::string path = o_.latent;
  if (recorded) {  // the state's space, its normalisation included, goes on
    space = LatentSpace::from_json(resumed_->config["latent"], o_.resume + ": edm.config \"latent\"");
    if (path.empty()) path = find_autoencoder(*space, o_.resume);
  }
  const bool main = dist::World::rank_from_env() == 0;  // before joining
  auto encoded =
      encode_dataset(data_, path, o_.outdir + "/latent-cache", device_, main && !o_.dry_run, main && !quiet_);
  if (space && encoded.autoencoder_sha256 != space->sha256)
    throw UsageError("--latent " + path + " is not the autoencoder of the training state " + o_.resume + " (SHA-256 " +
                     encoded.autoencoder_sha256.substr(0, 16) + "..., the state's " + space->sha256.substr(0, 16) +
                     "...)");
  latent_ = space ? *space
                  : fit_latent_space(encoded.latents, fs::absolute(path).lexically_normal().string(),
                                     encoded.autoencoder_sha256);
  data_.images = latent_->normalize(encoded.latents);
}

int64_t TrainRun::augment_dim() const {
  if (o_.cascade_from) return 1;  // the conditioning augmentation level (diffusion/cascade.h)
  return o_.augment > 0 ? aug_.label_dim() : 0;
}

void TrainRun::split_batch(int processes) {
  const int64_t batch = *o_.batch;
  per_rank_ = batch / processes;
  if (per_rank_ * processes != batch)
    throw UsageError("--batch " + std::to_string(batch) + " is not divisible by " + std::to_string(processes) +
                     " processes");
  batch_gpu_ = std::min(o_.batch_gpu.value_or(per_rank_), per_rank_);
  rounds_ = per_rank_ / batch_gpu_;
  if (rounds_ * batch_gpu_ != per_rank_)
    throw UsageError("--batch-gpu " + std::to_string(batch_gpu_) + " must divide the per-process batch " +
                     std::to_string(per_rank_));
}

void TrainRun::build_network() {
  aug_.p = o_.augment;
  config_ = resumed_ ? resumed_->config : fresh_config(o_, data_, cond_, augment_dim(), latent_);
  check_fits(config_, data_);
  if (o_.augment > 0 && config_.value("augment_dim", int64_t(0)) != aug_.label_dim())
    throw Error("--augment needs a network with augment_dim " + std::to_string(aug_.label_dim()));
  classifier_ = config_.value("num_classes", int64_t(0)) > 0;
  autoencoder_ = config_.value("precond", std::string()) == "AutoencoderKL";
  if (autoencoder_) cond_ = false;
  if (autoencoder_ && (o_.augment > 0 || o_.label_dropout > 0))
    throw UsageError("an autoencoder trains without --augment and --label-dropout");
  if (resumed_) cond_ = config_.value("label_dim", int64_t(0)) > 0;  // the network says, not the data
  if (classifier_) cond_ = false;                                    // the labels are targets
  // The classifier's targets are one-hot like a conditional network's labels.
  label_dim_ = classifier_ ? config_["num_classes"].get<int64_t>() : config_.value("label_dim", int64_t(0));
  if (classifier_ && (o_.augment > 0 || o_.label_dropout > 0))
    throw UsageError("a classifier trains without --augment and --label-dropout");
  // An autoencoder draws no noise levels; EDM's are drawn and ignored.
  loss_cfg_ =
      LossConfig::for_precond(autoencoder_ ? "EDMPrecond" : config_.value("precond", std::string("EDMPrecond")));
  loss_cfg_.P_mean = o_.P_mean.value_or(loss_cfg_.P_mean);
  loss_cfg_.P_std = o_.P_std.value_or(loss_cfg_.P_std);
  loss_cfg_.sigma_data = config_.value("sigma_data", loss_cfg_.sigma_data);  // lambda(sigma) as the network's c_skip
  edm2_ = loss_cfg_.kind == "edm2";
  if (edm2_ != uses_edm2_recipe(o_))
    throw UsageError("--arch " + o_.arch + " does not train the network of " + o_.resume);
  edm2_loss_ = {loss_cfg_.P_mean, loss_cfg_.P_std, loss_cfg_.sigma_data};

  check_fits_memory(config_);
  seed_ = resumed_ ? resumed_->counters.seed : o_.seed;
  torch::manual_seed(seed_);  // initialisation
  net_ = networks::make_precond(config_);
  loss_cfg_.sigma_levels = net_->sigma_levels();  // DDPM draws its steps from them
  ema_ = networks::make_precond(config_);
  net_->to(device_);
  ema_->to(device_);
  flatten_parameters(*net_);  // Adam and the EMA update all parameters at once
  flatten_parameters(*ema_);
  load_state_dict(*ema_, state_dict(*net_), "EMA copy");
  ema_->eval();
  for (auto& p : ema_->parameters()) p.set_requires_grad(false);
  if (!o_.transfer.empty()) transfer_weights(o_.transfer, *net_);
  world_.broadcast_from_main(net_->parameters());  // every rank starts from rank 0's weights
  // train_edm2.py: betas (0.9, 0.99); train.py: PyTorch's (0.9, 0.999).
  adam_ = edm2_ ? std::make_unique<Adam>(*net_, 0.9, 0.99, 1e-8) : std::make_unique<Adam>(*net_);
  counters_.seed = seed_;
  if (resumed_) {
    load_train_state(o_.resume, *net_, *ema_, *adam_);
    counters_ = resumed_->counters;
    ++counters_.cur_tick;  // the state was written at the end of that tick
  }
  if (main_ && !o_.ema_std->empty()) {
    phema_ = std::make_unique<PhemaTracker>(*net_, *o_.ema_std);
    if (resumed_) phema_->load_state(o_.resume);
  }
  for (const auto& p : net_->parameters()) num_params_ += p.numel();
}

std::string TrainRun::describe() const {
  std::string desc = fs::path(o_.data).filename().string() + "-" +
                     (autoencoder_  ? "autoencoder"
                      : classifier_ ? "classifier"
                      : cond_       ? "cond"
                                    : "uncond") +
                     (latent_ ? "-latent" : "") +
                     (net_->low_resolution() ? "-sr" + std::to_string(net_->low_resolution()) : "") + "-" + o_.arch +
                     "-" + o_.precond + "-gpus" + std::to_string(world_.size()) + "-batch" + std::to_string(*o_.batch);
  for (auto& ch : desc)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-') ch = '-';
  return desc;
}

std::string TrainRun::loss_name() const {
  if (loss_cfg_.kind != "ddpm") return loss_cfg_.kind;
  const bool hybrid = net_->preconditioning().learned_variance();
  return std::string(hybrid ? "DDPM L_hybrid (L_simple + " + plan_list({loss_cfg_.lambda_vlb}) +
                                  " L_vlb, learned variance)"
                            : "DDPM L_simple") +
         ", " + config_.value("beta_schedule", std::string("linear")) + " betas, T " +
         std::to_string(config_.value("T", int64_t(1000)));
}

void TrainRun::print_plan() const {
  const std::string precond_kind = config_.value("precond", std::string("EDMPrecond"));
  std::cout << "data         " << o_.data << ": " << data_.size() << " images, " << data_.channels() << "x"
            << data_.resolution() << "x" << data_.resolution() << (cond_ ? ", conditional on " : ", unconditional")
            << (cond_ ? std::to_string(label_dim_) + " classes" : "") << "\n";
  if (latent_)
    std::cout << "latents      of " << latent_->autoencoder << ", normalised per channel: mean "
              << plan_list(latent_->mean) << ", std " << plan_list(latent_->std) << " -> mean 0, std "
              << latent_->target_std << "\n";
  if (net_->low_resolution())
    std::cout << "upsampler    from " << net_->low_resolution() << "x" << net_->low_resolution()
              << " (mean of blocks, bilinear back), conditioning augmentation sigma_aug ~ U(0, " << net_->cond_aug_max()
              << ")\n";
  std::cout << "network      " << o_.arch << " (" << precond_kind << "), " << num_params_ << " parameters\n"
            << "batch        " << *o_.batch << " = " << batch_gpu_ << " x " << rounds_ << " rounds x " << world_.size()
            << " processes\n"
            << "duration     " << *o_.duration << " Mimg"
            << (o_.max_minutes ? ", at most " + std::to_string(int(*o_.max_minutes)) + " minutes" : "") << ", lr "
            << *o_.lr << " (ramp-up " << *o_.lr_rampup << " kimg"
            << (edm2_ ? ", 1/sqrt decay after " + std::to_string(int64_t(*o_.decay)) + " batches" : "") << "), ema "
            << *o_.ema << " Mimg" << (o_.ema_std->empty() ? "" : ", post-hoc EMA stds " + plan_list(*o_.ema_std))
            << "\n"
            << "loss         "
            << (autoencoder_  ? "squared reconstruction error + " + plan_list({o_.kl_weight}) + " KL"
                : classifier_ ? "cross-entropy of noisy images"
                : edm2_       ? "EDM2 (uncertainty-weighted), Adam betas (0.9, 0.99)"
                              : loss_name())
            << (autoencoder_ || loss_cfg_.kind == "vp" || loss_cfg_.kind == "ve" || loss_cfg_.kind == "ddpm"
                    ? ""
                    : ", ln sigma ~ N(" + plan_list({loss_cfg_.P_mean, loss_cfg_.P_std}) + "), sigma_data " +
                          plan_list({loss_cfg_.sigma_data}))
            << "\n"
            << "device       " << device_.str() << ", " << world_.size() << " process(es)\n";
}

void TrainRun::start() {
  if (main_) {
    run_dir_ = make_run_dir(o_.outdir, describe());
    nlohmann::json opts = {{"data", o_.data},
                           {"cond", cond_},
                           {"arch", o_.arch},
                           {"precond", o_.precond},
                           {"duration", *o_.duration},
                           {"batch", *o_.batch},
                           {"batch_gpu", batch_gpu_},
                           {"lr", *o_.lr},
                           {"ema", *o_.ema},
                           {"ema_std", *o_.ema_std},
                           {"decay", o_.decay ? nlohmann::json(*o_.decay) : nlohmann::json()},
                           {"P_mean", loss_cfg_.P_mean},
                           {"P_std", loss_cfg_.P_std},
                           {"sigma_data", loss_cfg_.sigma_data},
                           {"optimizer", adam_->hyperparameters()},
                           {"augment", o_.augment},
                           {"xflip", o_.xflip},
                           {"resolution", data_.resolution()},
                           {"seed", seed_},
                           {"resume", o_.resume},
                           {"network", config_}};
    write_file_atomic(run_dir_ + "/training_options.json", opts.dump(2) + "\n");
    std::cout << "run dir      " << run_dir_ << "\n";
    stats_.open(run_dir_ + "/stats.jsonl", std::ios::app);
  }
  loader_ = std::make_unique<Loader>(data_, seed_);
  start_ = tick_start_ = Clock::now();
  tick_start_nimg_ = counters_.cur_nimg;
  net_->train();
  // Gradients are averaged across ranks during the last micro-batch's backward.
  if (world_.distributed())
    reducer_.emplace(world_, net_->parameters(), dist::default_bucket_bytes(net_->parameters()));
  loader_->prefetch(rank_offset(counters_.cur_nimg, 0), batch_gpu_);
  stop_on_signals();
}

int64_t TrainRun::rank_offset(int64_t nimg, int64_t round) const {
  return nimg + world_.rank() * per_rank_ + round * batch_gpu_;
}

}  // namespace edm
