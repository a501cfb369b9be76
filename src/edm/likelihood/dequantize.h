// From 8-bit pixels to a continuous density and back to bits, as Song et al.
// 2021 evaluate likelihoods (score_sde: uniform dequantisation, then a fixed
// offset in bits/dim).
//
// Pixel k in 0..255 plus u ~ U(0, 1) becomes y = 2 (k + u) / 256 - 1 in
// [-1, 1): the 256 levels' bins have width 2/256 = 1/128 there, so for a
// density q of y, P(k) = 128^-dims E_u[q(y)] and by Jensen's inequality
//
//   -log2 P(k) <= E_u[-log2 q(y)] + dims log2(128):
//
// bits/dim = nll_nats / (dims ln 2) + 7, the 7-bit offset that score_sde's
// likelihood evaluation adds for data centred on [-1, 1].
#pragma once
#include <torch/torch.h>

namespace edm {

// log2(256 / 2): bits/dim that the scaling of the 256 levels into [-1, 1) adds.
constexpr double kDequantizationBits = 7.0;

// uint8 pixels and u ~ U(0, 1) of their shape -> float64 2 (k + u) / 256 - 1.
torch::Tensor dequantize(const torch::Tensor& pixels, const torch::Tensor& u);

// An NLL in nats of the density in [-1, 1] space over `dims` dimensions as
// nats and bits/dim of what was measured: of the 8-bit image when
// `dequantized` (the 7-bit offset), else of the continuous data itself.
struct Nll {
  double nats, bits_per_dim;
};
Nll nll_of(double density_nats, int64_t dims, bool dequantized);

}  // namespace edm
