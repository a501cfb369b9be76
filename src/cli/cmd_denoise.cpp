// edm denoise: one evaluation of a model's denoiser D(x; sigma, labels) on
// given tensors, for checking a converted model against its source.
#include "common.h"
#include "edm/core/error.h"
#include "edm/core/runtime.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"

namespace edm::cli {

namespace {

struct DenoiseOptions {
  std::string net, in, out;
  bool train_mode = false;
  RuntimeOptions runtime;
};

// `name` or, as the reference's io files store it, `input.name`.
torch::Tensor find(const TensorFile& file, const std::string& name, bool required) {
  for (const auto& key : {name, "input." + name})
    if (file.has(key)) return file.get(key);
  if (required) throw Error(file.path() + ": no tensor '" + name + "' (or 'input." + name + "')");
  return {};
}

void run_denoise(const DenoiseOptions& o) {
  init_threads(o.runtime.threads);
  const auto device = parse_device(o.runtime.device);
  TensorFile model(o.net), io(o.in);
  auto config = read_model_config(model);
  if (config["precond"] == "ideal") throw UsageError("edm denoise: --net must be a network, not an ideal denoiser");
  auto net = load_precond(model, config, device);
  net->train(o.train_mode);  // training mode: EDM2 layers normalise their weights first
  torch::NoGradGuard no_grad;
  auto x = find(io, "x", true).to(device), sigma = find(io, "sigma", true).to(device);
  auto labels = find(io, "labels", false);
  std::map<std::string, torch::Tensor> out{
      {"D", net->forward(x, sigma, labels.defined() ? labels.to(device) : labels).cpu()}};
  if (net->has_logvar()) out["logvar"] = net->logvar(sigma).cpu();
  save_tensors(o.out, out, {{"edm.note", std::string("D") + (o.train_mode ? " in training mode" : " in eval mode")}});
}

}  // namespace

void register_denoise(CLI::App& app) {
  auto* sub = app.add_subcommand("denoise", "Evaluate a model's denoiser D(x; sigma) on given tensors");
  auto o = std::make_shared<DenoiseOptions>();
  sub->add_option("--net", o->net, "Model file")->required();
  sub->add_option("--in", o->in, "safetensors with x [N,C,H,W], sigma [N] or [] and optional labels [N,label_dim]")
      ->required();
  sub->add_option("--out", o->out, "Output safetensors: D, and logvar where the model has one")->required();
  sub->add_flag("--train-mode", o->train_mode, "Evaluate in training mode (EDM2: forced weight normalisation)");
  add_runtime_options(sub, o->runtime);
  sub->callback([o] { run_denoise(*o); });
}

}  // namespace edm::cli
