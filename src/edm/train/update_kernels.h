// The weight update of a training step in one pass over the parameters'
// buffer (flat_params.h) on a CPU with AVX-512: Adam with the gradients made
// finite, and the EMA's lerp. LibTorch runs each as several operations, each
// a pass of its own over the whole network (and the gradients' clean-up as one
// per tensor); on a small network these passes cost more than the step's
// arithmetic. Every value is rounded as LibTorch's float32 kernels round it
// (each multiply-add that they fuse, fused here), so that the result is the
// same bit for bit (FlatParams.* tests).
#pragma once
#include <torch/torch.h>

#include <optional>
#include <vector>

namespace edm {

// Whether the kernels run here: a CPU with AVX-512, unless switched off.
bool update_kernels_available();
// For benchmarks that compare with LibTorch's operations.
void set_update_kernels_enabled(bool on);

// One Adam step's constants (adam.h): moments' decays, eps, the learning
// rate and the two bias corrections of this step.
struct AdamConstants {
  double beta1, beta2, eps, lr, bias1, bias2;
};

// Adam on float32 CPU buffers p, m, v of one length, where grads[i] is the
// contiguous gradient of p's elements from offsets[i] on (in order, tiling
// p). With inf_value, each gradient first gets NaN -> 0 and +-Inf ->
// +-inf_value, in place (force_finite_gradients).
void adam_update_flat(torch::Tensor& p, torch::Tensor& m, torch::Tensor& v, const std::vector<torch::Tensor>& grads,
                      const std::vector<int64_t>& offsets, const AdamConstants& c, std::optional<double> inf_value);

// end <- torch::lerp(start, end, weight), float32 CPU buffers of one length.
void lerp_flat(torch::Tensor& end, const torch::Tensor& start, double weight);

}  // namespace edm
