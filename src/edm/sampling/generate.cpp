#include "edm/sampling/generate.h"

#include <cmath>
#include <cstdio>

#include "edm/core/error.h"

namespace edm {

const SamplerInfo& resolve_sampler(const GenerateOptions& o) {
  if (o.sampler != "auto") return find_sampler(o.sampler);
  return find_sampler(o.ablation_options_given ? "ablation" : "edm");
}

void check_class_idx(const Denoiser& net, std::optional<int64_t> class_idx) {
  if (!class_idx) return;
  if (net.label_dim() == 0) throw UsageError("--class given but the model is unconditional");
  if (*class_idx < 0 || *class_idx >= net.label_dim())
    throw UsageError("--class " + std::to_string(*class_idx) + " is out of range: the model has " +
                     std::to_string(net.label_dim()) + " classes");
}

void check_guidance(const Denoiser& net, double w) {
  if (std::isnan(w)) throw UsageError("--guidance is NaN");
  if (net.label_dim() == 0) throw UsageError("--guidance needs a conditional model");
}

void check_generate_options(const Denoiser& net, const GenerateOptions& o) {
  validate(o.sampler_options);
  check_options(resolve_sampler(o), o.sampler_options);
  check_class_idx(net, o.class_idx);
}

SeedDraws draw_seed_inputs(SeedBatch& rnd, const Denoiser& net, const GenerateOptions& o, torch::Device device) {
  SeedDraws d;
  const int64_t r = net.img_resolution();
  d.latents = rnd.randn({net.img_channels(), r, r}, torch::kFloat32, device);
  if (net.label_dim() > 0) {
    auto cls = rnd.randint(net.label_dim(), device);
    if (o.class_idx) cls.fill_(*o.class_idx);
    d.class_labels = torch::one_hot(cls, net.label_dim()).to(torch::kFloat32);
  }
  return d;
}

torch::Tensor generate_batch(Denoiser& net, const std::vector<uint64_t>& seeds, const GenerateOptions& o,
                             const torch::Tensor& latents, const StepFn& on_step) {
  const auto device = net.device();
  SeedBatch rnd(seeds);
  auto in = draw_seed_inputs(rnd, net, o, device);
  if (latents.defined()) {
    if (!latents.sizes().equals(in.latents.sizes()))
      throw Error("latents of shape " + c10::str(latents.sizes()) + " do not fit the model's " +
                  c10::str(in.latents.sizes()));
    in.latents = latents.to(device);
  }
  NoiseFn noise = [&](const torch::Tensor& like) {
    return rnd.randn(like.sizes().slice(1), torch::kFloat64, like.device());
  };
  auto x = run_sampler(resolve_sampler(o), net, in.latents, in.class_labels, noise, o.sampler_options, on_step);
  check_finite_images(x, seeds);
  torch::NoGradGuard no_grad;
  auto images = net.to_images(x).to(torch::kFloat64);
  check_finite_images(images, seeds);
  return images;
}

std::vector<int64_t> image_shape(Denoiser& net) {
  if (net.sample_space().empty()) return net.sample_shape();
  torch::NoGradGuard no_grad;
  auto shape = net.sample_shape();
  shape.insert(shape.begin(), 1);
  return net.to_images(torch::zeros(shape, torch::TensorOptions().device(net.device()))).sizes().slice(1).vec();
}

void check_finite_images(const torch::Tensor& images, const std::vector<uint64_t>& seeds) {
  auto finite = torch::isfinite(images).flatten(1).all(1).cpu();
  std::string bad;
  int64_t count = 0;
  for (int64_t i = 0; i < finite.size(0); ++i)
    if (!finite[i].item<bool>() && ++count <= 10) bad += (bad.empty() ? "" : ", ") + std::to_string(seeds.at(i));
  if (count)
    throw Error("the model gave non-finite values (NaN or Inf) for seed" + std::string(count > 1 ? "s " : " ") + bad +
                (count > 10 ? " and " + std::to_string(count - 10) + " more" : "") + "; no image is written for them");
}

std::string seed_image_path(const std::string& outdir, uint64_t seed, bool subdirs) {
  char name[64];
  std::string dir = outdir;
  if (subdirs) {
    std::snprintf(name, sizeof name, "%06llu", static_cast<unsigned long long>(seed - seed % 1000));
    dir += "/" + std::string(name);
  }
  std::snprintf(name, sizeof name, "%06llu.png", static_cast<unsigned long long>(seed));
  return dir + "/" + name;
}

}  // namespace edm
