// edm invert: images -> latents by the probability-flow ODE run backwards, so
// that `edm generate --latents` with the same steps gives the images back.
#include <iostream>

#include "common.h"
#include "edm/core/error.h"
#include "edm/core/progress.h"
#include "edm/core/runtime.h"
#include "edm/io/safetensors.h"
#include "edm/model/model_file.h"
#include "edm/sampling/generate.h"
#include "edm/sampling/inversion.h"
#include "sampler_args.h"

namespace edm::cli {

namespace {

struct InvertArgs {
  RuntimeOptions runtime;
  std::string net, images, out;
  std::optional<int64_t> class_idx;
  SamplerOptions o;
  PrecisionOptions precision;
};

void run(InvertArgs& a) {
  init_threads(a.runtime.threads);
  const auto device = parse_device(a.runtime.device);
  validate(a.o);
  check_outputs_are_not_inputs({a.out}, {a.net, a.images});
  auto net = load_denoiser(a.net, device, resolve_precision(a.precision, device));
  require_pixel_model(*net, a.net, "invert");
  TensorFile in(a.images);
  if (!in.has("images")) throw Error(a.images + ": no tensor 'images'");
  auto images = in.get("images");
  const int64_t r = net->img_resolution();
  if (images.dim() != 4 || images.size(1) != net->img_channels() || images.size(2) != r || images.size(3) != r)
    throw Error(a.images + ": 'images' must be [N," + std::to_string(net->img_channels()) + "," + std::to_string(r) +
                "," + std::to_string(r) + "] for this model, got " + c10::str(images.sizes()));
  torch::Tensor labels;
  check_class_idx(*net, a.class_idx);
  if (a.class_idx) {
    labels = torch::zeros({images.size(0), net->label_dim()}, torch::TensorOptions().device(device));
    labels.select(1, *a.class_idx).fill_(1);
  }
  Progress progress("invert", a.o.num_steps - 1);
  auto latents = invert(*net, images.to(device), labels, a.o, [&](int64_t i) { progress.update(i); });
  progress.finish();
  save_tensors(a.out, {{"latents", latents.cpu()}});
  std::cout << "latents in " << a.out << "\n";
}

}  // namespace

void register_invert(CLI::App& app) {
  auto* sub = app.add_subcommand("invert", "Images to latents by the probability-flow ODE (inverse of generate)");
  auto a = std::make_shared<InvertArgs>();
  sub->add_option("--net,--network", a->net, "Model file (.safetensors)")->required();
  sub->add_option("--images", a->images, "Safetensors with 'images' [N,C,H,W] in [-1, 1] (as --raw writes)")
      ->required();
  sub->add_option("--out", a->out, "Where to write 'latents' for generate --latents")->required();
  sub->add_option("--class", a->class_idx, "Class label of every image");
  add_noise_level_options(sub, a->o, "0.002", "80");
  add_runtime_options(sub, a->runtime);
  add_precision_options(sub, a->precision);
  sub->callback([a] { run(*a); });
}

}  // namespace edm::cli
