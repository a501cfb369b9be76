#include "edm/nn/bf16_kernels.h"

#include <ATen/Parallel.h>
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>

#include "edm/core/error.h"

// GCC 12 warns of the undefined vector inside the masked intrinsics (its bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace edm::networks {

// The kernels are compiled for AVX-512 whatever the build's target, and only
// called after bf16_kernels_available() said yes.
#define EDM_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

namespace {

constexpr int64_t kLanes = 16;

inline __mmask16 lanes_left(int64_t n) {
  return n >= kLanes ? __mmask16(0xFFFF) : __mmask16((1u << static_cast<unsigned>(n)) - 1);
}

// c10::BFloat16's rounding: to nearest even, NaN to 0x7FC0.
EDM_AVX512 inline __m256i round_to_bf16(__m512 v) {
  const __m512i bits = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(bits, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF))), 16);
  r = _mm512_mask_mov_epi32(r, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), _mm512_set1_epi32(0x7FC0));
  return _mm512_cvtepi32_epi16(r);
}

EDM_AVX512 inline __m512 from_bf16(__m256i h) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// exp(x) = 2^n exp(r), r = x - n ln 2 in [-ln2/2, ln2/2], exp(r) by its
// Taylor series to r^7: relative error below 3e-8, far under bfloat16's
// rounding (4e-3). x is clamped where float32 over- or underflows.
EDM_AVX512 inline __m512 exp_ps(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.7f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145752f), x);  // ln 2 in two parts, the first exact in n
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860677e-6f), r);
  __m512 p = _mm512_set1_ps(1.0f / 5040);
  for (float c : {1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f})
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
  return _mm512_scalef_ps(p, n);
}

// 1 / (1 + exp(-z)) by the reciprocal's estimate (14 bits) and one Newton
// step (about 23 bits): a division costs several times more.
EDM_AVX512 inline __m512 sigmoid_ps(__m512 z) {
  const __m512 one = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f);
  const __m512 d = _mm512_add_ps(one, exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), z)));
  const __m512 r = _mm512_rcp14_ps(d);
  return _mm512_mul_ps(r, _mm512_fnmadd_ps(d, r, two));
}

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
// b = beta - mean a (as LibTorch's kernel); forward and backward share it.
struct ChannelAffine {
  __m512 a, b;
};

EDM_AVX512 inline ChannelAffine channel_affine(float gamma, float beta, float mean, float rstd) {
  const float a = rstd * gamma;
  return {_mm512_set1_ps(a), _mm512_set1_ps(beta - mean * a)};
}

EDM_AVX512 inline __m512 normalized(const float* x, __mmask16 k, const ChannelAffine& f) {
  return _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, x), f.a, f.b);
}

// One group of silu(group_norm(x)), rounded to bfloat16.
EDM_AVX512 void group_norm_silu_group(const float* x, const float* gamma, const float* beta, uint16_t* y,
                                      int64_t channels, int64_t hw, float mean, float rstd) {
  for (int64_t c = 0; c < channels; ++c) {
    const ChannelAffine f = channel_affine(gamma[c], beta[c], mean, rstd);
    for (int64_t i = 0; i < hw; i += kLanes) {
      const __mmask16 k = lanes_left(hw - i);
      const __m512 z = normalized(x + c * hw + i, k, f);
      _mm256_mask_storeu_epi16(y + c * hw + i, k, round_to_bf16(_mm512_mul_ps(z, sigmoid_ps(z))));
    }
  }
}

// The same group's gradient of silu at z: dz = g sigmoid(z) (1 + z (1 - sigmoid(z))).
EDM_AVX512 void silu_backward_group(const float* x, const float* gamma, const float* beta, const uint16_t* g, float* dz,
                                    int64_t channels, int64_t hw, float mean, float rstd) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t c = 0; c < channels; ++c) {
    const ChannelAffine f = channel_affine(gamma[c], beta[c], mean, rstd);
    for (int64_t i = 0; i < hw; i += kLanes) {
      const __mmask16 k = lanes_left(hw - i);
      const __m512 z = normalized(x + c * hw + i, k, f);
      const __m512 s = sigmoid_ps(z);
      const __m512 ds = _mm512_mul_ps(s, _mm512_fmadd_ps(z, _mm512_sub_ps(one, s), one));
      const __m512 gv = from_bf16(_mm256_maskz_loadu_epi16(k, g + c * hw + i));
      _mm512_mask_storeu_ps(dz + c * hw + i, k, _mm512_mul_ps(gv, ds));
    }
  }
}

EDM_AVX512 void add_bias_row(const uint16_t* y, float bias, float* out, int64_t n) {
  const __m512 b = _mm512_set1_ps(bias);
  for (int64_t i = 0; i < n; i += kLanes) {
    const __mmask16 k = lanes_left(n - i);
    _mm512_mask_storeu_ps(out + i, k, _mm512_add_ps(from_bf16(_mm256_maskz_loadu_epi16(k, y + i)), b));
  }
}

uint16_t* bf16_data(torch::Tensor& t) { return reinterpret_cast<uint16_t*>(t.data_ptr()); }

struct GroupShape {
  int64_t N, C, hw, groups;
  int64_t channels() const { return C / groups; }
  int64_t group_size() const { return channels() * hw; }
};

GroupShape group_shape(const torch::Tensor& x, int64_t groups) {
  if (x.dim() < 2 || x.size(1) % groups) throw Error("group_norm_silu_bf16: channels do not divide into groups");
  return {x.size(0), x.size(1), x.numel() / std::max<int64_t>(x.size(0) * x.size(1), 1), groups};
}

class GroupNormSiLU : public torch::autograd::Function<GroupNormSiLU> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x_in,
                               const torch::Tensor& gamma_in, const torch::Tensor& beta_in, int64_t groups,
                               double eps) {
    auto x = x_in.contiguous();
    auto gamma = gamma_in.contiguous(), beta = beta_in.contiguous();
    const auto s = group_shape(x, groups);
    auto y = torch::empty(x.sizes(), x.options().dtype(torch::kBFloat16));
    auto mean = torch::empty({s.N, groups}, x.options()), rstd = torch::empty({s.N, groups}, x.options());
    const float *px = x.data_ptr<float>(), *pg = gamma.data_ptr<float>(), *pb = beta.data_ptr<float>();
    float *pm = mean.data_ptr<float>(), *pr = rstd.data_ptr<float>();
    uint16_t* py = bf16_data(y);
    at::parallel_for(0, s.N * groups, 1, [&](int64_t begin, int64_t end) {
      for (int64_t ng = begin; ng < end; ++ng) {
        const int64_t first = ng * s.group_size(), c0 = (ng % groups) * s.channels();
        moments(px + first, s.group_size(), eps, pm + ng, pr + ng);
        group_norm_silu_group(px + first, pg + c0, pb + c0, py + first, s.channels(), s.hw, pm[ng], pr[ng]);
      }
    });
    ctx->save_for_backward({x, gamma, beta, mean, rstd});
    ctx->saved_data["groups"] = groups;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &gamma = saved[1], &beta = saved[2], &mean = saved[3], &rstd = saved[4];
    const auto s = group_shape(x, ctx->saved_data["groups"].toInt());
    auto g = grad[0].to(torch::kBFloat16).contiguous();
    auto dz = torch::empty_like(x);
    const float *px = x.data_ptr<float>(), *pg = gamma.data_ptr<float>(), *pb = beta.data_ptr<float>();
    const float *pm = mean.data_ptr<float>(), *pr = rstd.data_ptr<float>();
    const uint16_t* pgrad = bf16_data(g);
    float* pdz = dz.data_ptr<float>();
    at::parallel_for(0, s.N * s.groups, 1, [&](int64_t begin, int64_t end) {
      for (int64_t ng = begin; ng < end; ++ng) {
        const int64_t first = ng * s.group_size(), c0 = (ng % s.groups) * s.channels();
        silu_backward_group(px + first, pg + c0, pb + c0, pgrad + first, pdz + first, s.channels(), s.hw, pm[ng],
                            pr[ng]);
      }
    });
    auto [dx, dgamma, dbeta] =
        at::native_group_norm_backward(dz, x, mean, rstd, gamma, s.N, s.C, s.hw, s.groups, {true, true, true});
    return {dx, dgamma, dbeta, torch::Tensor(), torch::Tensor()};
  }
};

class Bf16ToFloatAddBias : public torch::autograd::Function<Bf16ToFloatAddBias> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& y_in,
                               const torch::Tensor& bias_in) {
    auto y = y_in.contiguous();
    auto bias = bias_in.contiguous();
    const int64_t rows = y.size(0) * y.size(1), C = y.size(1), n = y.numel() / std::max<int64_t>(rows, 1);
    auto out = torch::empty(y.sizes(), y.options().dtype(torch::kFloat32));
    const uint16_t* py = bf16_data(y);
    const float* pb = bias.data_ptr<float>();
    float* po = out.data_ptr<float>();
    at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) add_bias_row(py + r * n, pb[r % C], po + r * n, n);
    });
    ctx->saved_data["dims"] = y.dim();
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    std::vector<int64_t> reduce{0};
    for (int64_t d = 2; d < ctx->saved_data["dims"].toInt(); ++d) reduce.push_back(d);
    return {grad[0].to(torch::kBFloat16), grad[0].sum(reduce)};
  }
};

}  // namespace

namespace {
std::atomic<bool> enabled{true};
}

void set_bf16_kernels_enabled(bool on) { enabled = on; }

bool bf16_kernels_available() {
  static const bool cpu =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  return cpu && enabled;
}

torch::Tensor group_norm_silu_bf16(const torch::Tensor& x, int64_t groups, const torch::Tensor& gamma,
                                   const torch::Tensor& beta, double eps) {
  if (!bf16_kernels_available()) throw Error("group_norm_silu_bf16 needs AVX-512");
  if (!x.device().is_cpu() || x.scalar_type() != torch::kFloat32)
    throw Error("group_norm_silu_bf16: x must be float32 on the CPU");
  return GroupNormSiLU::apply(x, gamma.to(torch::kFloat32), beta.to(torch::kFloat32), groups, eps);
}

torch::Tensor bf16_to_float_add_bias(const torch::Tensor& y, const torch::Tensor& bias) {
  if (!bf16_kernels_available()) throw Error("bf16_to_float_add_bias needs AVX-512");
  if (!y.device().is_cpu() || y.scalar_type() != torch::kBFloat16 || y.dim() < 2 || bias.numel() != y.size(1))
    throw Error("bf16_to_float_add_bias: y must be bfloat16 [N, C, ...] on the CPU with C biases");
  return Bf16ToFloatAddBias::apply(y, bias.to(torch::kFloat32));
}

}  // namespace edm::networks
