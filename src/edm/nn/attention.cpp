#include "edm/nn/attention.h"

#include <cmath>

namespace edm::networks {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct AttentionWeights : public torch::autograd::Function<AttentionWeights> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k) {
    auto w =
        torch::einsum("ncq,nck->nqk", {q.to(torch::kFloat32), (k / std::sqrt(double(k.size(1)))).to(torch::kFloat32)})
            .softmax(2)
            .to(q.scalar_type());
    ctx->save_for_backward({q, k, w});
    return w;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &q = saved[0], &k = saved[1];
    auto w = saved[2].to(torch::kFloat32);
    auto dw = grads[0].to(torch::kFloat32);
    // Softmax backward: w * (dw - sum(dw * w)).
    auto db = w * (dw - (dw * w).sum(2, true));
    const double root_c = std::sqrt(double(k.size(1)));
    auto dq = torch::einsum("nck,nqk->ncq", {k.to(torch::kFloat32), db}).to(q.scalar_type()) / root_c;
    auto dk = torch::einsum("ncq,nqk->nck", {q.to(torch::kFloat32), db}).to(k.scalar_type()) / root_c;
    return {dq, dk};
  }
};

}  // namespace

torch::Tensor attention_weights(const torch::Tensor& q, const torch::Tensor& k) {
  return AttentionWeights::apply(q, k);
}

}  // namespace edm::networks
