// edm likelihood: negative log-likelihood of images under a model, in nats
// and bits/dim, from the probability-flow ODE (docs/likelihood.md).
// Each estimate is one function from the data to per-image nats; the
// report and --json list every estimate made: the ODE's, and for DDPM
// models of 8-bit images the discrete variational bound.
#include <cmath>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common.h"
#include "edm/core/error.h"
#include "edm/core/progress.h"
#include "edm/core/runtime.h"
#include "edm/data/dataset.h"
#include "edm/eval/ddpm_vlb.h"
#include "edm/io/atomic_file.h"
#include "edm/io/image.h"
#include "edm/io/safetensors.h"
#include "edm/likelihood/dequantize.h"
#include "edm/likelihood/image_likelihood.h"
#include "edm/model/model_file.h"
#include "edm/sampling/generate.h"
#include "sampler_args.h"

namespace edm::cli {

namespace {

struct LikelihoodArgs {
  RuntimeOptions runtime;
  PrecisionOptions precision;
  std::string net, images, raw, json, probe = "rademacher";
  std::optional<int64_t> class_idx, max_images;
  int64_t batch = 32;
  LikelihoodOptions o;
};

// The items whose likelihood is measured: 8-bit pixels or raw [-1, 1] values.
struct Items {
  torch::Tensor values;  // uint8 or floating point [N, ...]
  torch::Tensor labels;  // int64 [N] or undefined
  bool quantized = false;
  int64_t size() const { return values.size(0); }
  int64_t dims() const { return values[0].numel(); }
};

Items load_items(const LikelihoodArgs& a) {
  Items items;
  if (!a.images.empty()) {
    auto d = load_dataset(a.images);
    items = {d.images, d.labels, true};
  } else {
    TensorFile in(a.raw);
    if (!in.has("images")) throw Error(a.raw + ": no tensor 'images'");
    items.values = in.get("images");
    if (!items.values.is_floating_point()) throw Error(a.raw + ": 'images' must be floating point, in [-1, 1]");
    if (in.has("labels")) items.labels = in.get("labels").to(torch::kInt64);
  }
  if (a.max_images && *a.max_images < items.size()) {
    items.values = items.values.narrow(0, 0, *a.max_images);
    if (items.labels.defined()) items.labels = items.labels.narrow(0, 0, *a.max_images);
  }
  return items;
}

void check_items(const Items& items, const Denoiser& net, const std::string& source) {
  auto shape = net.sample_shape();
  shape.insert(shape.begin(), items.size());
  if (items.values.sizes().slice(1) != at::IntArrayRef(shape).slice(1) || items.size() == 0)
    throw Error(source + ": images must be " + c10::str(at::IntArrayRef(shape).slice(1)) +
                " each for this model, got " + c10::str(items.values.sizes()));
  if (items.labels.defined() && (items.labels.dim() != 1 || items.labels.size(0) != items.size()))
    throw Error(source + ": 'labels' must be [N] for " + std::to_string(items.size()) + " images");
}

// One-hot labels for a conditional model: --class, else each image's own.
torch::Tensor class_labels(const Items& items, const Denoiser& net, std::optional<int64_t> class_idx,
                           const std::string& source) {
  check_class_idx(net, class_idx);
  if (net.label_dim() == 0) return {};
  torch::Tensor cls;
  if (class_idx) {
    cls = torch::full({items.size()}, *class_idx, torch::kInt64);
  } else if (items.labels.defined()) {
    cls = items.labels;
    if (cls.min().item<int64_t>() < 0 || cls.max().item<int64_t>() >= net.label_dim())
      throw Error(source + ": labels out of range for a model of " + std::to_string(net.label_dim()) + " classes");
  } else {
    throw UsageError("the model is class-conditional and " + source + " has no labels: give --class");
  }
  return torch::one_hot(cls, net.label_dim()).to(torch::kFloat32).to(net.device());
}

struct Estimate {
  std::string name;       // key in --json
  std::string label;      // the report line's first word
  torch::Tensor density;  // [N] nats of the density in [-1, 1] space
};

// The probability-flow ODE's estimate, batch by batch, with progress.
Estimate ode_estimate(Denoiser& net, const Items& items, const torch::Tensor& labels, const LikelihoodArgs& a) {
  const int64_t intervals = a.o.levels.num_steps - 1, n = items.size();
  Progress progress("likelihood", n * intervals);
  std::vector<torch::Tensor> out;
  for (int64_t first = 0; first < n; first += a.batch) {
    const int64_t b = std::min(a.batch, n - first);
    auto lab = labels.defined() ? labels.narrow(0, first, b) : labels;
    out.push_back(ode_nll_of_images(net, items.values.narrow(0, first, b), lab, first, a.o,
                                    [&](int64_t i) { progress.update(first * intervals + i * b); }));
  }
  progress.finish();
  return {"ode", "NLL", torch::cat(out)};
}

// The discrete variational bound of a DDPM model (T evaluations per image),
// as nats of the density in [-1, 1] space like the ODE's, so that both
// report alike: the bound's bits/dim are those of the 8-bit pixels.
Estimate vlb_estimate(Denoiser& net, const Items& items, const torch::Tensor& labels, const LikelihoodArgs& a) {
  const auto chain = ddpm::chain_of(net);
  const int64_t n = items.size(), T = chain.T();
  Progress progress("bound", n * T);
  std::vector<torch::Tensor> out;
  for (int64_t first = 0; first < n; first += a.batch) {
    const int64_t b = std::min(a.batch, n - first);
    auto lab = labels.defined() ? labels.narrow(0, first, b) : labels;
    auto x0 = from_uint8(items.values.narrow(0, first, b).to(net.device()), torch::kFloat64);
    auto bound = ddpm::variational_bound_bpd(net, chain, x0, lab, a.o.seed + static_cast<uint64_t>(first),
                                             [&](int64_t k) { progress.update(first * T + k * b); });
    out.push_back((bound.total_bpd - kDequantizationBits) * double(items.dims()) * std::log(2.0));
  }
  progress.finish();
  return {"vlb", "VLB", torch::cat(out)};
}

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

nlohmann::json estimate_json(const Estimate& e, const Items& items) {
  auto per_image = nlohmann::json::array();
  const auto d = e.density.to(torch::kFloat64).contiguous();
  for (int64_t i = 0; i < items.size(); ++i) {
    const Nll v = nll_of(d[i].item<double>(), items.dims(), items.quantized);
    per_image.push_back({{"nats", v.nats}, {"bits_per_dim", v.bits_per_dim}});
  }
  const Nll mean = nll_of(d.mean().item<double>(), items.dims(), items.quantized);
  const double sem = items.size() > 1 ? d.std().item<double>() / std::sqrt(double(items.size())) : 0;
  return {{"mean",
           {{"nats", mean.nats},
            {"bits_per_dim", mean.bits_per_dim},
            {"stderr_bits_per_dim", sem / (double(items.dims()) * std::log(2.0))}}},
          {"per_image", per_image}};
}

void write_json(const LikelihoodArgs& a, const Items& items, const std::vector<Estimate>& estimates) {
  const auto& lo = a.o.levels;
  nlohmann::json j = {{"model", a.net},
                      {"data", a.images.empty() ? a.raw : a.images},
                      {"images", items.size()},
                      {"dims", items.dims()},
                      {"dequantized", items.quantized},
                      {"offset_bits_per_dim", items.quantized ? kDequantizationBits : 0.0},
                      {"options",
                       {{"steps", lo.num_steps},
                        {"sigma_min", lo.sigma_min ? nlohmann::json(*lo.sigma_min) : nlohmann::json()},
                        {"sigma_max", lo.sigma_max ? nlohmann::json(*lo.sigma_max) : nlohmann::json()},
                        {"rho", lo.disc.rho},
                        {"divergence", a.o.exact ? "exact" : "hutchinson"},
                        {"probes", a.o.exact ? 0 : a.o.probes},
                        {"probe", a.probe},
                        {"seed", a.o.seed}}}};
  for (const auto& e : estimates) j[e.name] = estimate_json(e, items);
  write_file_atomic(a.json, j.dump(2) + "\n");
}

// One line per estimate, the ODE's (the first) last.
void report(const Items& items, const std::vector<Estimate>& estimates) {
  for (auto e = estimates.rbegin(); e != estimates.rend(); ++e) {
    const Nll v = nll_of(e->density.mean().item<double>(), items.dims(), items.quantized);
    std::cout << e->label << " " << fixed(v.nats, 3) << " nats, " << fixed(v.bits_per_dim, 3) << " bits/dim\n";
  }
}

void run(LikelihoodArgs& a) {
  init_threads(a.runtime.threads);
  const auto device = parse_device(a.runtime.device);
  a.o.probe = parse_probe_kind(a.probe);
  validate(a.o);
  if (a.batch < 1) throw UsageError("--batch must be at least 1");
  if (a.max_images && *a.max_images < 1) throw UsageError("--max-images must be at least 1");
  const std::string source = a.images.empty() ? a.raw : a.images;
  check_outputs_are_not_inputs({a.json}, {a.net, source});
  auto net = load_denoiser(a.net, device, resolve_precision(a.precision, device));
  require_pixel_model(*net, a.net, "likelihood");
  const Items items = load_items(a);
  check_items(items, *net, source);
  const auto labels = class_labels(items, *net, a.class_idx, source);
  std::cout << items.size() << " images of " << items.dims() << " dimensions"
            << (items.quantized ? ", dequantised (+7 bits/dim)" : "") << "; " << likelihood_nfe(a.o.levels)
            << " evaluations each, divergence "
            << (a.o.exact ? "exact"
                          : "by Hutchinson's estimator, " + std::to_string(a.o.probes) + " " + a.probe + " probe" +
                                (a.o.probes > 1 ? "s" : ""))
            << std::endl;  // before the progress line on stderr
  std::vector<Estimate> estimates{ode_estimate(*net, items, labels, a)};
  // DDPM models of 8-bit images also get their discrete variational bound.
  if (!net->sigma_levels().empty() && items.quantized) estimates.push_back(vlb_estimate(*net, items, labels, a));
  if (!a.json.empty()) write_json(a, items, estimates);
  report(items, estimates);
}

}  // namespace

void register_likelihood(CLI::App& app) {
  auto* sub = app.add_subcommand("likelihood", "Negative log-likelihood (nats, bits/dim) by the probability-flow ODE");
  auto a = std::make_shared<LikelihoodArgs>();
  a->o.levels.num_steps = 32;
  sub->add_option("--net,--network", a->net, "Model file (.safetensors)")->required();
  auto* images = sub->add_option("--images", a->images,
                                 "8-bit images: a folder or zip of PNGs, or fashion-mnist[:test] (dequantised)");
  auto* raw = sub->add_option("--raw", a->raw, "Safetensors with 'images' [N,C,H,W] in [-1, 1] (optional 'labels')");
  images->excludes(raw);
  sub->add_option("--class", a->class_idx, "Class label of every image (default: the data set's labels)");
  auto* exact = sub->add_flag("--exact", a->o.exact, "Exact divergence (one backward pass per dimension)");
  sub->add_option("--probes", a->o.probes, "Hutchinson probes per image")->capture_default_str()->excludes(exact);
  sub->add_option("--probe", a->probe, "Hutchinson probe: rademacher|gaussian")->capture_default_str();
  add_noise_level_options(sub, a->o.levels, "0.002", "80");
  sub->add_option("--seed", a->o.seed, "Dequantisation noise and probes of image i from seed + i")
      ->capture_default_str();
  sub->add_option("--max-images", a->max_images, "Only the first N images");
  sub->add_option("--batch", a->batch, "Images per batch")->capture_default_str();
  sub->add_option("--json", a->json, "Write per-image values here (JSON)");
  add_runtime_options(sub, a->runtime);
  add_precision_options(sub, a->precision);
  sub->callback([a] {
    if (a->images.empty() == a->raw.empty()) throw UsageError("give --images or --raw (one of them)");
    run(*a);
  });
}

}  // namespace edm::cli
