#include "edm/core/error.h"
#include "edm/sampling/samplers.h"

namespace edm {

const std::vector<std::string>& sampler_names() {
  static const std::vector<std::string> names = {"edm",      "ablation", "ddim",   "ddpm", "euler_maruyama",
                                                 "langevin", "dpmpp2m",  "dpmpp3m"};
  return names;
}

void check_sampler_name(const std::string& name) {
  for (const auto& n : sampler_names())
    if (n == name) return;
  std::string all;
  for (const auto& n : sampler_names()) all += (all.empty() ? "" : ", ") + n;
  throw UsageError("unknown sampler '" + name + "' (" + all + ")");
}

torch::Tensor run_sampler(const std::string& name, Denoiser& net, const torch::Tensor& latents,
                          const torch::Tensor& class_labels, const NoiseFn& randn_like, const SamplerOptions& o,
                          const StepFn& on_step) {
  if (name == "edm") return edm_sampler(net, latents, class_labels, randn_like, o, on_step);
  if (name == "ablation") return ablation_sampler(net, latents, class_labels, randn_like, o, on_step);
  if (name == "ddim") return ddim_sampler(net, latents, class_labels, randn_like, o, on_step);
  if (name == "ddpm") {
    SamplerOptions ancestral = o;
    ancestral.eta = 1;
    return ddim_sampler(net, latents, class_labels, randn_like, ancestral, on_step);
  }
  if (name == "euler_maruyama") return euler_maruyama_sampler(net, latents, class_labels, randn_like, o, on_step);
  if (name == "langevin") return langevin_sampler(net, latents, class_labels, randn_like, o, on_step);
  if (name == "dpmpp2m") return dpmpp_sampler(net, latents, class_labels, o, 2, on_step);
  if (name == "dpmpp3m") return dpmpp_sampler(net, latents, class_labels, o, 3, on_step);
  check_sampler_name(name);
  throw UsageError("sampler '" + name + "' is listed but not dispatched");
}

int64_t sampler_nfe(const std::string& name, const SamplerOptions& o) {
  const int64_t n = o.num_steps;
  if (name == "edm" || (name == "ablation" && o.solver == "heun")) return 2 * n - 1;
  if (name == "langevin") return (n - 1) * o.ld_steps + 1;
  return n;
}

}  // namespace edm
