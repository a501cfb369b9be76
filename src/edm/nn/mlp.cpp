#include "edm/nn/mlp.h"

#include "edm/core/error.h"

namespace edm::networks {

namespace tnn = torch::nn;

MLPOptions MLPOptions::read(ConfigReader& r) {
  MLPOptions o;
  o.hidden = r.integer("hidden", o.hidden);
  o.num_layers = r.integer("num_layers", o.num_layers);
  return o;
}

namespace {

// torch's Linear layers allocate on the CPU whatever the device: the size is
// checked before any of them is made (4 GiB of float32 at most, and no more
// values than the file it is loaded from holds).
void check_size(int64_t in, int64_t out, const MLPOptions& o, const Build& build) {
  if (o.hidden > (int64_t(1) << 20) || o.num_layers > 1000 || in > (int64_t(1) << 20) || out > (int64_t(1) << 20))
    throw Error("edm.config model: an MLP of hidden " + std::to_string(o.hidden) + " and num_layers " +
                std::to_string(o.num_layers) + " is out of range (hidden <= 2^20, num_layers <= 1000)");
  const double h = double(o.hidden);
  const double values = (in + 1) * h + double(o.num_layers - 1) * (h + 1) * h + (h + 1) * double(out);
  if (values > double(int64_t(1) << 30) || (build.max_values && values > double(build.max_values)))
    throw Error("edm.config model: an MLP of hidden " + std::to_string(o.hidden) + " and num_layers " +
                std::to_string(o.num_layers) + " has " + std::to_string(int64_t(values)) + " parameters, more than " +
                (build.max_values ? "the file holds" : "2^30"));
}

}  // namespace

MLPImpl::MLPImpl(const NetworkShape& s, const MLPOptions& o, const Build& build) {
  if (s.img_resolution != 0 || s.in_channels < 1 || s.out_channels < 1)
    throw Error("edm.config: an MLP takes points, \"sample_shape\": [D]");
  if (s.label_dim || s.augment_dim) throw Error("edm.config: an MLP takes no class or augment labels");
  if (o.hidden < 1 || o.num_layers < 1) throw Error("edm.config model: hidden and num_layers must be positive");
  constexpr int64_t kFreqs = 8;
  check_size(s.in_channels + 2 * kFreqs, s.out_channels, o, build);
  freqs_ = register_buffer("freqs", torch::arange(1, kFreqs + 1, torch::kFloat32));
  // torch's default Linear initialisation (from the global generator).
  net_ = tnn::Sequential(tnn::Linear(s.in_channels + 2 * kFreqs, o.hidden), tnn::SiLU());
  for (int64_t i = 1; i < o.num_layers; ++i) {
    net_->push_back(tnn::Linear(o.hidden, o.hidden));
    net_->push_back(tnn::SiLU());
  }
  net_->push_back(tnn::Linear(o.hidden, s.out_channels));
  register_module("net", net_);
  // A shape check builds on the meta device, which a CPU tensor cannot move
  // to; check_size has bounded these, so the CPU ones serve.
  if (build.device.type() != torch::kMeta) to(build.device);
}

torch::Tensor MLPImpl::forward(const torch::Tensor& x, const torch::Tensor& noise_labels, const torch::Tensor&,
                               const torch::Tensor&) {
  // A single noise label (scalar sigma) applies to the whole batch.
  auto noise = noise_labels.to(x.dtype()).reshape({-1}).expand({x.size(0)});
  auto ang = noise.unsqueeze(1) * freqs_.to(x.dtype());
  return net_->forward(torch::cat({x, torch::sin(ang), torch::cos(ang)}, 1));
}

}  // namespace edm::networks
