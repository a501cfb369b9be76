#include "edm/nn/init.h"

#include <cmath>

#include "edm/core/error.h"

namespace edm::networks {

InitMode parse_init_mode(const std::string& name) {
  if (name == "xavier_uniform") return InitMode::XavierUniform;
  if (name == "xavier_normal") return InitMode::XavierNormal;
  if (name == "kaiming_uniform") return InitMode::KaimingUniform;
  if (name == "kaiming_normal") return InitMode::KaimingNormal;
  throw Error("unknown init mode \"" + name + "\"");
}

torch::Tensor weight_init(const std::vector<int64_t>& shape, InitMode mode, int64_t fan_in, int64_t fan_out,
                          double scale, const Build& build) {
  auto t = torch::empty(shape, torch::TensorOptions().dtype(torch::kFloat32).device(build.device));
  if (!build.initialise || build.device.type() == torch::kMeta) return t;
  const double fi = double(fan_in), fo = double(fan_out);
  // Uniform modes draw from [-b, b) with the same variance as the normal ones.
  switch (mode) {
    case InitMode::XavierUniform:
      t.uniform_(-1, 1).mul_(std::sqrt(6 / (fi + fo)));
      break;
    case InitMode::XavierNormal:
      t.normal_().mul_(std::sqrt(2 / (fi + fo)));
      break;
    case InitMode::KaimingUniform:
      t.uniform_(-1, 1).mul_(std::sqrt(3 / fi));
      break;
    case InitMode::KaimingNormal:
      t.normal_().mul_(std::sqrt(1 / fi));
      break;
  }
  return t.mul_(scale);
}

}  // namespace edm::networks
