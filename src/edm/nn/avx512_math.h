// AVX-512 building blocks of the CPU kernels (nn/bf16_kernels.cpp,
// train/update_kernels.cpp): bfloat16 rounding, exp and sigmoid, and a
// 16 x 16 transpose. Each of them is compiled for AVX-512 whatever the
// build's target; callers check the CPU first (cpu_supported).
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace edm::networks::avx512 {

#define EDM_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

constexpr int64_t kLanes = 16;

// Whether this CPU runs the functions below (AVX-512 F, BW and VL).
inline bool cpu_supported() {
  static const bool yes =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  return yes;
}

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

// 64-bit halves of 128-bit lanes interleaved (lambdas do not take the target attribute).
EDM_AVX512 inline __m512 unpacklo64(__m512 a, __m512 b) {
  return _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
}

EDM_AVX512 inline __m512 unpackhi64(__m512 a, __m512 b) {
  return _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
}

// A 16 x 16 tile in 16 registers, transposed in place: r[i] lane j becomes
// r[j] lane i. Pairs of 32 bits, then of 64, then 128-bit lanes twice.
EDM_AVX512 inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2)
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]), t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  for (int i = 0; i < 16; i += 4) {
    r[i] = unpacklo64(t[i], t[i + 2]), r[i + 1] = unpackhi64(t[i], t[i + 2]);
    r[i + 2] = unpacklo64(t[i + 1], t[i + 3]), r[i + 3] = unpackhi64(t[i + 1], t[i + 3]);
  }
  // Now r[4b + k], 128-bit lane L, holds rows 4b..4b+3 of column 4L + k.
  for (int k = 0; k < 4; ++k) {
    const __m512 u0 = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x88), u1 = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xDD);
    const __m512 u2 = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x88);
    const __m512 u3 = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xDD);
    t[k] = _mm512_shuffle_f32x4(u0, u2, 0x88), t[8 + k] = _mm512_shuffle_f32x4(u0, u2, 0xDD);
    t[4 + k] = _mm512_shuffle_f32x4(u1, u3, 0x88), t[12 + k] = _mm512_shuffle_f32x4(u1, u3, 0xDD);
  }
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}

}  // namespace edm::networks::avx512
