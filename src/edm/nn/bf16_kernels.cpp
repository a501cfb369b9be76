#include "edm/nn/bf16_kernels.h"

// GCC 12 warns of the undefined vector inside the masked intrinsics (its bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <vector>

#include "edm/core/error.h"
#include "edm/nn/avx512_math.h"

namespace edm::networks {

namespace {

using namespace avx512;

// Mean and 1 / sqrt(variance + eps) of n values: the sum in double, then the
// squared deviations from the mean, so that a large mean does not cancel the
// variance.
EDM_AVX512 void moments(const float* p, int64_t n, double eps, float* mean_out, float* rstd_out) {
  __m512d low = _mm512_setzero_pd(), high = _mm512_setzero_pd();
  for (int64_t i = 0; i < n; i += kLanes) {
    const __m512 v = _mm512_maskz_loadu_ps(lanes_left(n - i), p + i);
    low = _mm512_add_pd(low, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    high = _mm512_add_pd(high, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
  }
  const float mean = static_cast<float>(_mm512_reduce_add_pd(_mm512_add_pd(low, high)) / static_cast<double>(n));
  const __m512 m = _mm512_set1_ps(mean);
  __m512 square = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += kLanes) {
    const __mmask16 k = lanes_left(n - i);
    const __m512 d = _mm512_maskz_sub_ps(k, _mm512_maskz_loadu_ps(k, p + i), m);
    square = _mm512_fmadd_ps(d, d, square);
  }
  const double var = static_cast<double>(_mm512_reduce_add_ps(square)) / static_cast<double>(n);
  *mean_out = mean;
  *rstd_out = static_cast<float>(1.0 / std::sqrt(std::max(var, 0.0) + eps));
}

// A channel's group norm as one affine map z = x a + b, a = rstd gamma,
// b = beta - mean a (as LibTorch's kernel); the backward reuses the forward's.
struct ChannelAffine {
  float a, b;
};

inline ChannelAffine channel_affine(float gamma, float beta, float mean, float rstd) {
  const float a = rstd * gamma;
  return {a, beta - mean * a};
}

// One sample's bfloat16 values, stored [C, HW] or channels-last [HW, C] (a
// convolution's output or input gradient).
struct Bf16Plane {
  const uint16_t* data;
  int64_t C, hw;
  bool channels_last;
  // Sample n of a tensor whose data this plane starts.
  Bf16Plane sample(int64_t n) const { return {data + n * C * hw, C, hw, channels_last}; }
};

// Channels [c, c + nc) at positions [p, p + np) of a plane as float32: r[j]
// is channel c + j, lane i position p + i (zero beyond nc and np). A
// channels-last plane is read a position at a time and transposed.
EDM_AVX512 inline void load_channel_rows(const Bf16Plane& s, int64_t c, int64_t p, int64_t nc, int64_t np,
                                         __m512 r[16]) {
  if (!s.channels_last) {
    for (int64_t j = 0; j < kLanes; ++j)
      r[j] = j < nc ? from_bf16(_mm256_maskz_loadu_epi16(lanes_left(np), s.data + (c + j) * s.hw + p))
                    : _mm512_setzero_ps();
    return;
  }
  for (int64_t i = 0; i < kLanes; ++i)
    r[i] =
        i < np ? from_bf16(_mm256_maskz_loadu_epi16(lanes_left(nc), s.data + (p + i) * s.C + c)) : _mm512_setzero_ps();
  transpose16(r);
}

// Positions [p0, p1) of one sample, x [C, HW] float32 to y [HW, C] bfloat16,
// in 16 x 16 tiles; with kSiLU, silu(x a + b) with a, b per channel.
template <bool kSiLU>
EDM_AVX512 void to_channels_last_rows(const float* x, uint16_t* y, int64_t C, int64_t hw, int64_t p0, int64_t p1,
                                      const float* a, const float* b) {
  __m512 r[16];
  for (int64_t c = 0; c < C; c += kLanes) {
    const int64_t nc = std::min(kLanes, C - c);
    const __mmask16 kc = lanes_left(nc);
    __m512 va = _mm512_setzero_ps(), vb = va;
    if constexpr (kSiLU) va = _mm512_maskz_loadu_ps(kc, a + c), vb = _mm512_maskz_loadu_ps(kc, b + c);
    for (int64_t p = p0; p < p1; p += kLanes) {
      const int64_t np = std::min(kLanes, p1 - p);
      for (int64_t j = 0; j < kLanes; ++j)
        r[j] = j < nc ? _mm512_maskz_loadu_ps(lanes_left(np), x + (c + j) * hw + p) : _mm512_setzero_ps();
      transpose16(r);
      for (int64_t i = 0; i < np; ++i) {
        __m512 v = r[i];
        if constexpr (kSiLU) {
          const __m512 z = _mm512_fmadd_ps(v, va, vb);
          v = _mm512_mul_ps(z, sigmoid_ps(z));
        }
        _mm256_mask_storeu_epi16(y + (p + i) * C + c, kc, round_to_bf16(v));
      }
    }
  }
}

// Channels [c, c + 16) of one sample: the gradient of silu at z = x a + b,
// dz = g sigmoid(z) (1 + z (1 - sigmoid(z))), with a, b per channel.
EDM_AVX512 void silu_backward_channels(const float* x, const float* a, const float* b, const Bf16Plane& g, int64_t c,
                                       float* dz) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const int64_t nc = std::min(kLanes, g.C - c);
  __m512 r[16];
  for (int64_t p = 0; p < g.hw; p += kLanes) {
    const int64_t np = std::min(kLanes, g.hw - p);
    const __mmask16 k = lanes_left(np);
    load_channel_rows(g, c, p, nc, np, r);
    for (int64_t j = 0; j < nc; ++j) {
      const int64_t row = (c + j) * g.hw + p;
      const __m512 z =
          _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, x + row), _mm512_set1_ps(a[c + j]), _mm512_set1_ps(b[c + j]));
      const __m512 sg = sigmoid_ps(z);
      const __m512 ds = _mm512_mul_ps(sg, _mm512_fmadd_ps(z, _mm512_sub_ps(one, sg), one));
      _mm512_mask_storeu_ps(dz + row, k, _mm512_mul_ps(r[j], ds));
    }
  }
}

// Sums over one channel's positions: db = sum dz, dsc = sum dz (x - mean).
EDM_AVX512 inline void channel_sums(const float* dz, const float* x, int64_t hw, float mean, float* db, float* dsc) {
  const __m512 m = _mm512_set1_ps(mean);
  __m512 sum_db = _mm512_setzero_ps(), sum_dsc = sum_db;
  for (int64_t p = 0; p < hw; p += kLanes) {
    const __mmask16 k = lanes_left(hw - p);
    const __m512 d = _mm512_maskz_loadu_ps(k, dz + p);
    sum_db = _mm512_add_ps(sum_db, d);
    sum_dsc = _mm512_fmadd_ps(d, _mm512_maskz_sub_ps(k, _mm512_maskz_loadu_ps(k, x + p), m), sum_dsc);
  }
  *db = _mm512_reduce_add_ps(sum_db), *dsc = _mm512_reduce_add_ps(sum_dsc);
}

// The backward of silu(group_norm(x)) for one sample, with dz = g silu'(z)
// into `dz` (the task's scratch, cached between the passes). Per channel
// db = sum dz and dsc = sum dz (x - mean), taken about the mean so that a
// large mean does not cancel them; per group their gamma-weighted sums
// db_g, dsc_g over its M values, and
//   dx = rstd gamma dz - rstd^3 dsc_g / M (x - mean) - rstd db_g / M,
// LibTorch's formula rearranged about the mean. dgamma = dsc rstd and
// dbeta = db per channel, summed over the samples by the caller.
EDM_AVX512 void group_norm_silu_backward_sample(const float* x, const float* gamma, const float* a, const float* b,
                                                const Bf16Plane& g, const float* mean, const float* rstd,
                                                int64_t groups, float* dz, float* dx, float* dgamma, float* dbeta) {
  const int64_t hw = g.hw, channels = g.C / groups;
  for (int64_t c = 0; c < g.C; c += kLanes) silu_backward_channels(x, a, b, g, c, dz);
  for (int64_t group = 0; group < groups; ++group) {
    const float m = mean[group], rs = rstd[group];
    const int64_t c0 = group * channels;
    double db_g = 0, dsc_g = 0;
    for (int64_t c = c0; c < c0 + channels; ++c) {
      float db, dsc;
      channel_sums(dz + c * hw, x + c * hw, hw, m, &db, &dsc);
      dgamma[c] = dsc * rs, dbeta[c] = db;
      db_g += static_cast<double>(gamma[c]) * db, dsc_g += static_cast<double>(gamma[c]) * dsc;
    }
    const double inv_m = 1.0 / static_cast<double>(channels * hw);
    const __m512 vm = _mm512_set1_ps(m);
    const __m512 c2 = _mm512_set1_ps(static_cast<float>(-dsc_g * rs * rs * rs * inv_m));
    const __m512 c3 = _mm512_set1_ps(static_cast<float>(-db_g * rs * inv_m));
    for (int64_t c = c0; c < c0 + channels; ++c) {
      const __m512 c1 = _mm512_set1_ps(a[c]);  // rstd gamma, the forward's
      for (int64_t p = 0; p < hw; p += kLanes) {
        const __mmask16 k = lanes_left(hw - p);
        const int64_t i = c * hw + p;
        const __m512 xc = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), vm);
        _mm512_mask_storeu_ps(dx + i, k,
                              _mm512_fmadd_ps(c1, _mm512_maskz_loadu_ps(k, dz + i), _mm512_fmadd_ps(c2, xc, c3)));
      }
    }
  }
}

// Channels [c, c + 16) of one sample to out [C, HW] float32 plus the bias.
// Without a bias, -0 is added: x + (-0) is x for every x, -0 included.
EDM_AVX512 void add_bias_channels(const Bf16Plane& y, int64_t c, const float* bias, float* out) {
  const int64_t nc = std::min(kLanes, y.C - c);
  __m512 r[16];
  for (int64_t p = 0; p < y.hw; p += kLanes) {
    const int64_t np = std::min(kLanes, y.hw - p);
    load_channel_rows(y, c, p, nc, np, r);
    for (int64_t j = 0; j < nc; ++j)
      _mm512_mask_storeu_ps(out + (c + j) * y.hw + p, lanes_left(np),
                            _mm512_add_ps(r[j], _mm512_set1_ps(bias ? bias[c + j] : -0.0f)));
  }
}

uint16_t* bf16_data(torch::Tensor& t) { return reinterpret_cast<uint16_t*>(t.data_ptr()); }

// [N, C, HW] of a tensor [N, C, ...].
struct Planes {
  int64_t N, C, hw;
};

Planes planes(const torch::Tensor& t) {
  return {t.size(0), t.size(1), t.numel() / std::max<int64_t>(t.size(0) * t.size(1), 1)};
}

bool channels_last_memory(const torch::Tensor& t) {
  return t.dim() == 4 && !t.is_contiguous() && t.is_contiguous(torch::MemoryFormat::ChannelsLast);
}

// A bfloat16 tensor's planes as they are stored: contiguous or channels-last
// (where not already one of them, made contiguous into `keep`).
Bf16Plane bf16_planes(const torch::Tensor& t, torch::Tensor& keep) {
  const auto s = planes(t);
  const bool cl = channels_last_memory(t);
  keep = cl ? t : t.contiguous();
  return {bf16_data(keep), s.C, s.hw, cl};
}

// float32 x [N, C, ...] contiguous to bfloat16 stored channels-last ([N, HW,
// C]; 4-D x keeps its shape with channels-last strides); with a and b [N, C],
// silu(x a + b) per channel.
torch::Tensor to_channels_last(const torch::Tensor& x, const torch::Tensor& a = {}, const torch::Tensor& b = {}) {
  const auto s = planes(x);
  auto y = x.dim() == 4
               ? torch::empty(x.sizes(), x.options().dtype(torch::kBFloat16), torch::MemoryFormat::ChannelsLast)
               : torch::empty({s.N, s.hw, s.C}, x.options().dtype(torch::kBFloat16));
  constexpr int64_t kPositions = 64;  // per task: rows of y, no two tasks share a cache line but at the ends
  const int64_t chunks = (s.hw + kPositions - 1) / kPositions;
  const float* px = x.data_ptr<float>();
  const float *pa = a.defined() ? a.data_ptr<float>() : nullptr, *pb = b.defined() ? b.data_ptr<float>() : nullptr;
  uint16_t* py = bf16_data(y);
  at::parallel_for(0, s.N * chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / chunks, p0 = (t % chunks) * kPositions, p1 = std::min(s.hw, p0 + kPositions);
      const int64_t first = n * s.C * s.hw;
      if (pa)
        to_channels_last_rows<true>(px + first, py + first, s.C, s.hw, p0, p1, pa + n * s.C, pb + n * s.C);
      else
        to_channels_last_rows<false>(px + first, py + first, s.C, s.hw, p0, p1, nullptr, nullptr);
    }
  });
  if (x.dim() == 4) return y;
  std::vector<int64_t> strides(x.dim(), 1);  // channels-last strides for other ranks: C apart per position
  for (int64_t d = x.dim() - 1, step = s.C; d >= 2; step *= x.size(d), --d) strides[d] = step;
  strides[0] = s.C * s.hw;
  return y.as_strided(x.sizes(), strides);
}

// bfloat16 y [N, C, ...], contiguous or channels-last, to float32 contiguous
// plus bias [C] (or none).
torch::Tensor to_float_add_bias(const torch::Tensor& y, const torch::Tensor& bias) {
  torch::Tensor keep;
  const auto plane = bf16_planes(y, keep);
  const auto s = planes(y);
  auto out = torch::empty(y.sizes(), y.options().dtype(torch::kFloat32));
  const float* pb = bias.defined() ? bias.data_ptr<float>() : nullptr;
  float* po = out.data_ptr<float>();
  const int64_t tiles = (s.C + kLanes - 1) / kLanes;
  at::parallel_for(0, s.N * tiles, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / tiles;
      add_bias_channels(plane.sample(n), (t % tiles) * kLanes, pb, po + n * s.C * s.hw);
    }
  });
  return out;
}

class GroupNormSiLU : public torch::autograd::Function<GroupNormSiLU> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x_in,
                               const torch::Tensor& gamma_in, const torch::Tensor& beta_in, int64_t groups,
                               double eps) {
    auto x = x_in.contiguous();
    auto gamma = gamma_in.contiguous(), beta = beta_in.contiguous();
    const auto s = planes(x);
    if (s.C % groups) throw Error("group_norm_silu_bf16: channels do not divide into groups");
    const int64_t channels = s.C / groups;
    auto mean = torch::empty({s.N, groups}, x.options()), rstd = torch::empty({s.N, groups}, x.options());
    const float *px = x.data_ptr<float>(), *pg = gamma.data_ptr<float>(), *pb = beta.data_ptr<float>();
    float *pm = mean.data_ptr<float>(), *pr = rstd.data_ptr<float>();
    at::parallel_for(0, s.N * groups, 1, [&](int64_t begin, int64_t end) {
      for (int64_t ng = begin; ng < end; ++ng)
        moments(px + ng * channels * s.hw, channels * s.hw, eps, pm + ng, pr + ng);
    });
    auto a = torch::empty({s.N, s.C}, x.options()), b = torch::empty({s.N, s.C}, x.options());
    float *pa = a.data_ptr<float>(), *pbb = b.data_ptr<float>();
    for (int64_t n = 0; n < s.N; ++n)
      for (int64_t c = 0; c < s.C; ++c) {
        const int64_t ng = n * groups + c / channels;
        const auto f = channel_affine(pg[c], pb[c], pm[ng], pr[ng]);
        pa[n * s.C + c] = f.a, pbb[n * s.C + c] = f.b;
      }
    ctx->save_for_backward({x, gamma, mean, rstd, a, b});
    ctx->saved_data["groups"] = groups;
    return to_channels_last(x, a, b);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &gamma = saved[1], &mean = saved[2], &rstd = saved[3], &a = saved[4], &b = saved[5];
    const int64_t groups = ctx->saved_data["groups"].toInt();
    const auto s = planes(x);
    torch::Tensor keep;
    const auto g = bf16_planes(grad[0].to(torch::kBFloat16), keep);
    auto dx = torch::empty_like(x);
    auto dgamma = torch::empty({s.N, s.C}, x.options()), dbeta = torch::empty({s.N, s.C}, x.options());
    const float *px = x.data_ptr<float>(), *pa = a.data_ptr<float>(), *pb = b.data_ptr<float>();
    const float *pgamma = gamma.data_ptr<float>(), *pm = mean.data_ptr<float>(), *pr = rstd.data_ptr<float>();
    float *pdx = dx.data_ptr<float>(), *pdg = dgamma.data_ptr<float>(), *pdb = dbeta.data_ptr<float>();
    at::parallel_for(0, s.N, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> dz(static_cast<size_t>(s.C * s.hw));
      for (int64_t n = begin; n < end; ++n) {
        const int64_t first = n * s.C * s.hw;
        group_norm_silu_backward_sample(px + first, pgamma, pa + n * s.C, pb + n * s.C, g.sample(n), pm + n * groups,
                                        pr + n * groups, groups, dz.data(), pdx + first, pdg + n * s.C, pdb + n * s.C);
      }
    });
    return {dx, dgamma.sum(0), dbeta.sum(0), torch::Tensor(), torch::Tensor()};
  }
};

class ToChannelsLastBf16 : public torch::autograd::Function<ToChannelsLastBf16> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext*, const torch::Tensor& x) {
    return to_channels_last(x.contiguous());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext*,
                                                 torch::autograd::variable_list grad) {
    return {to_float_add_bias(grad[0].to(torch::kBFloat16), torch::Tensor())};
  }
};

class Bf16ToFloatAddBias : public torch::autograd::Function<Bf16ToFloatAddBias> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& y,
                               const torch::Tensor& bias_in) {
    const bool has_bias = bias_in.numel() > 0;
    ctx->saved_data["dims"] = y.dim();
    ctx->saved_data["channels_last"] = channels_last_memory(y);
    ctx->saved_data["bias"] = has_bias;
    return to_float_add_bias(y, has_bias ? bias_in.contiguous() : torch::Tensor());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const auto g = grad[0].contiguous();
    // The gradient of y in y's layout, as the convolution's backward takes it.
    auto dy = ctx->saved_data["channels_last"].toBool() ? to_channels_last(g) : g.to(torch::kBFloat16);
    if (!ctx->saved_data["bias"].toBool()) return {dy, torch::Tensor()};
    std::vector<int64_t> reduce{0};
    for (int64_t d = 2; d < ctx->saved_data["dims"].toInt(); ++d) reduce.push_back(d);
    return {dy, g.sum(reduce)};
  }
};

}  // namespace

namespace {
std::atomic<bool> enabled{true};
}

void set_bf16_kernels_enabled(bool on) { enabled = on; }

bool bf16_kernels_available() { return avx512::cpu_supported() && enabled; }

torch::Tensor group_norm_silu_bf16(const torch::Tensor& x, int64_t groups, const torch::Tensor& gamma,
                                   const torch::Tensor& beta, double eps) {
  if (!bf16_kernels_available()) throw Error("group_norm_silu_bf16 needs AVX-512");
  if (!x.device().is_cpu() || x.scalar_type() != torch::kFloat32 || x.dim() < 2)
    throw Error("group_norm_silu_bf16: x must be float32 [N, C, ...] on the CPU");
  return GroupNormSiLU::apply(x, gamma.to(torch::kFloat32), beta.to(torch::kFloat32), groups, eps);
}

torch::Tensor bf16_to_float_add_bias(const torch::Tensor& y, const torch::Tensor& bias) {
  if (!bf16_kernels_available()) throw Error("bf16_to_float_add_bias needs AVX-512");
  if (!y.device().is_cpu() || y.scalar_type() != torch::kBFloat16 || y.dim() < 2 ||
      (bias.defined() && bias.numel() != y.size(1)))
    throw Error("bf16_to_float_add_bias: y must be bfloat16 [N, C, ...] on the CPU with C biases or none");
  // No bias travels as an empty tensor: autograd's inputs must be defined.
  return Bf16ToFloatAddBias::apply(y, bias.defined() ? bias.to(torch::kFloat32) : torch::empty({0}, y.options()));
}

torch::Tensor to_bf16_channels_last(const torch::Tensor& x) {
  if (!bf16_kernels_available()) throw Error("to_bf16_channels_last needs AVX-512");
  if (!x.device().is_cpu() || x.dim() != 4) throw Error("to_bf16_channels_last: x must be [N, C, H, W] on the CPU");
  if (channels_last_memory(x)) return x.to(torch::kBFloat16);  // a cast keeps the layout
  if (x.scalar_type() == torch::kBFloat16) {
    // Not x.contiguous(ChannelsLast): with one channel that keeps x's NCHW
    // strides, which LibTorch's convolution reads as the NCHW layout.
    auto y = torch::empty(x.sizes(), x.options(), torch::MemoryFormat::ChannelsLast);
    return y.copy_(x);
  }
  if (x.scalar_type() != torch::kFloat32) throw Error("to_bf16_channels_last: x must be float32 or bfloat16");
  return ToChannelsLastBf16::apply(x);
}

}  // namespace edm::networks
