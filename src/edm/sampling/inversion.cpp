#include "edm/sampling/inversion.h"

namespace edm {

torch::Tensor invert(Denoiser& net, const torch::Tensor& images, const torch::Tensor& class_labels,
                     const SamplerOptions& o, const StepFn& on_step) {
  validate(o);
  SamplerOptions edm = o;
  edm.discretization = "edm";
  auto t = noise_levels(net, edm);
  t.pop_back();  // sigma = 0 is where the image already is
  // At sigma_min the image stands for x(sigma_min): the sampler's last step
  // (sigma_min -> 0) is the inverse of this identification.
  auto x = images.to(torch::kFloat64);
  auto slope = [&](const torch::Tensor& x_, double sigma) {
    return (x_ - denoise_at(net, x_, sigma, class_labels)) / sigma;
  };
  const int64_t n = static_cast<int64_t>(t.size());
  for (int64_t i = n - 1; i > 0; --i) {
    const double sigma = t[i], sigma_next = t[i - 1], h = sigma_next - sigma;
    auto d = slope(x, sigma);
    auto x_euler = x + h * d;
    x = x + h * 0.5 * (d + slope(x_euler, sigma_next));
    if (on_step) on_step(n - i);
  }
  return x / t[0];
}

}  // namespace edm
