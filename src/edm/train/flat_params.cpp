#include "edm/train/flat_params.h"

namespace edm {

torch::Tensor flatten_parameters(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  auto params = module.parameters();
  if (params.empty()) return {};
  int64_t total = 0;
  for (const auto& p : params) {
    if (p.dtype() != params[0].dtype() || p.device() != params[0].device()) return {};
    total += p.numel();
  }
  auto flat = torch::empty({total}, params[0].options().requires_grad(false));
  int64_t offset = 0;
  for (auto& p : params) {
    const int64_t n = p.numel();
    flat.narrow(0, offset, n).copy_(p.reshape({-1}));
    p.set_(flat.storage(), offset, p.sizes(), c10::contiguous_strides(p.sizes()));
    offset += n;
  }
  return flat;
}

torch::Tensor flat_buffer(const std::vector<torch::Tensor>& params) {
  if (params.empty()) return {};
  const auto& storage = params[0].storage();
  int64_t offset = 0;
  for (const auto& p : params) {
    if (!p.storage().is_alias_of(storage) || p.storage_offset() != offset || !p.is_contiguous() ||
        p.dtype() != params[0].dtype())
      return {};
    offset += p.numel();
  }
  if (offset * params[0].element_size() != static_cast<int64_t>(storage.nbytes())) return {};
  return torch::empty({0}, params[0].options().requires_grad(false)).set_(storage, 0, {offset}, {1});
}

}  // namespace edm
