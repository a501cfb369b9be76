#include "edm/likelihood/image_likelihood.h"

#include "edm/core/error.h"
#include "edm/core/rng.h"
#include "edm/likelihood/dequantize.h"

namespace edm {

void validate(const LikelihoodOptions& o) {
  validate_likelihood_levels(o.levels);
  if (o.probes < 1 || o.probes > 10000) throw UsageError("--probes must be in 1..10000");
}

torch::Tensor ode_nll_of_images(Denoiser& net, const torch::Tensor& images, const torch::Tensor& class_labels,
                                int64_t first, const LikelihoodOptions& o, const StepFn& on_step) {
  validate(o);
  const bool quantized = images.scalar_type() == torch::kUInt8;
  const auto item_shape = images.sizes().slice(1);
  std::vector<torch::Tensor> x, probes;
  for (int64_t i = 0; i < images.size(0); ++i) {
    auto gen = seed_generator(o.seed + static_cast<uint64_t>(first + i));
    auto item = images[i].cpu();
    x.push_back(quantized ? dequantize(item, torch::rand(item_shape, gen, torch::kFloat64)) : item.to(torch::kFloat64));
    if (!o.exact) probes.push_back(draw_probes(o.probe, o.probes, item_shape, gen));
  }
  const auto dev = net.device();
  const auto p = o.exact ? torch::Tensor() : torch::stack(probes, 1).to(dev);  // [K, N, ...]
  return ode_likelihood(net, torch::stack(x).to(dev), class_labels, p, o.levels, on_step).nll.cpu();
}

}  // namespace edm
