#include "edm/train/update_kernels.h"

// GCC 12 warns of the undefined vector inside the masked intrinsics (its bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>

#include "edm/core/error.h"
#include "edm/nn/avx512_math.h"

namespace edm {

namespace {

using namespace networks::avx512;

// Elements per task: a few of them per thread on a small network.
constexpr int64_t kGrain = 1 << 15;

std::atomic<bool> enabled{true};

// The constants as LibTorch's float32 kernels see them: each scalar
// argument rounded to float once.
struct AdamFloats {
  float beta1, alpha1, beta2, alpha2, sqrt_bias2, eps, step;
};

AdamFloats adam_floats(const AdamConstants& c) {
  auto f = [](double x) { return static_cast<float>(x); };
  return {f(c.beta1), f(1 - c.beta1), f(c.beta2), f(1 - c.beta2), f(std::sqrt(c.bias2)), f(c.eps), f(-c.lr / c.bias1)};
}

// nan_to_num(g, 0, b, -b); the lanes it changes are written back to g.
EDM_AVX512 inline __m512 finite_gradient(float* g_out, __m512 g, __mmask16 k, float b) {
  const __m512 inf = _mm512_set1_ps(INFINITY);
  const __mmask16 nan = _mm512_mask_cmp_ps_mask(k, g, g, _CMP_UNORD_Q);
  const __mmask16 pos = _mm512_mask_cmp_ps_mask(k, g, inf, _CMP_EQ_OQ);
  const __mmask16 neg = _mm512_mask_cmp_ps_mask(k, g, _mm512_sub_ps(_mm512_setzero_ps(), inf), _CMP_EQ_OQ);
  if (!(nan | pos | neg)) return g;
  g = _mm512_mask_mov_ps(g, nan, _mm512_setzero_ps());
  g = _mm512_mask_mov_ps(g, pos, _mm512_set1_ps(b));
  g = _mm512_mask_mov_ps(g, neg, _mm512_set1_ps(-b));
  _mm512_mask_storeu_ps(g_out, nan | pos | neg, g);
  return g;
}

// n values of p, m, v from gradient g, each rounded as adam.cpp's
// operations round it: m.mul_(beta1).add_(g, 1 - beta1) (the add fused),
// v.mul_(beta2).addcmul_(g, g, 1 - beta2) ((1 - beta2) g, then fused),
// denom = sqrt(v) / sqrt(bias2) + eps, p += (-lr / bias1) m / denom.
EDM_AVX512 void adam_values(float* p, float* m, float* v, float* g, int64_t n, const AdamFloats& f,
                            const float* inf_value) {
  const struct {
    __m512 beta1, alpha1, beta2, alpha2, sqrt_bias2, eps, step;
  } c = {_mm512_set1_ps(f.beta1),      _mm512_set1_ps(f.alpha1), _mm512_set1_ps(f.beta2), _mm512_set1_ps(f.alpha2),
         _mm512_set1_ps(f.sqrt_bias2), _mm512_set1_ps(f.eps),    _mm512_set1_ps(f.step)};
  for (int64_t i = 0; i < n; i += kLanes) {
    const __mmask16 k = lanes_left(n - i);
    __m512 gi = _mm512_maskz_loadu_ps(k, g + i);
    if (inf_value) gi = finite_gradient(g + i, gi, k, *inf_value);
    const __m512 mi = _mm512_fmadd_ps(gi, c.alpha1, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, m + i), c.beta1));
    const __m512 vi =
        _mm512_fmadd_ps(_mm512_mul_ps(c.alpha2, gi), gi, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, v + i), c.beta2));
    const __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vi), c.sqrt_bias2), c.eps);
    const __m512 pi = _mm512_add_ps(_mm512_maskz_loadu_ps(k, p + i), _mm512_div_ps(_mm512_mul_ps(c.step, mi), denom));
    _mm512_mask_storeu_ps(m + i, k, mi);
    _mm512_mask_storeu_ps(v + i, k, vi);
    _mm512_mask_storeu_ps(p + i, k, pi);
  }
}

// LibTorch's lerp(start, end, w) for float32, its two branches fused as its
// kernel's: start + w (end - start) for |w| < 0.5, else
// end - (end - start) (1 - w).
EDM_AVX512 void lerp_values(float* end, const float* start, int64_t n, float w) {
  const bool small = std::abs(w) < 0.5f;
  const __m512 vw = _mm512_set1_ps(w), one_minus_w = _mm512_set1_ps(1.0f - w);
  for (int64_t i = 0; i < n; i += kLanes) {
    const __mmask16 k = lanes_left(n - i);
    const __m512 s = _mm512_maskz_loadu_ps(k, start + i), e = _mm512_maskz_loadu_ps(k, end + i);
    const __m512 d = _mm512_sub_ps(e, s);
    _mm512_mask_storeu_ps(end + i, k, small ? _mm512_fmadd_ps(vw, d, s) : _mm512_fnmadd_ps(d, one_minus_w, e));
  }
}

void check_buffer(const torch::Tensor& t, int64_t numel, const char* what) {
  if (!t.device().is_cpu() || t.scalar_type() != torch::kFloat32 || !t.is_contiguous() || t.numel() != numel)
    throw Error(std::string("update kernels: ") + what + " must be a contiguous float32 CPU buffer of " +
                std::to_string(numel) + " values");
}

}  // namespace

bool update_kernels_available() { return cpu_supported() && enabled; }

void set_update_kernels_enabled(bool on) { enabled = on; }

void adam_update_flat(torch::Tensor& p, torch::Tensor& m, torch::Tensor& v, const std::vector<torch::Tensor>& grads,
                      const std::vector<int64_t>& offsets, const AdamConstants& c, std::optional<double> inf_value) {
  if (!update_kernels_available()) throw Error("adam_update_flat needs AVX-512");
  const int64_t n = p.numel();
  check_buffer(p, n, "p"), check_buffer(m, n, "m"), check_buffer(v, n, "v");
  if (grads.size() != offsets.size() || (n > 0 && (offsets.empty() || offsets[0] != 0)))
    throw Error("adam_update_flat: the gradients must tile p from its start, one offset each");
  for (size_t i = 0; i < grads.size(); ++i) {
    const int64_t next = i + 1 < grads.size() ? offsets[i + 1] : n;
    check_buffer(grads[i], next - offsets[i], "a gradient");
  }
  const auto floats = adam_floats(c);
  const float bound = inf_value ? static_cast<float>(*inf_value) : 0.0f;
  float *pp = p.data_ptr<float>(), *pm = m.data_ptr<float>(), *pv = v.data_ptr<float>();
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    // The gradient holding element `begin`, then each one on to `end`.
    size_t i = std::upper_bound(offsets.begin(), offsets.end(), begin) - offsets.begin() - 1;
    for (int64_t at = begin; at < end; ++i) {
      const int64_t stop = std::min(end, i + 1 < offsets.size() ? offsets[i + 1] : n);
      float* g = grads[i].data_ptr<float>() + (at - offsets[i]);
      adam_values(pp + at, pm + at, pv + at, g, stop - at, floats, inf_value ? &bound : nullptr);
      at = stop;
    }
  });
}

void lerp_flat(torch::Tensor& end, const torch::Tensor& start, double weight) {
  if (!update_kernels_available()) throw Error("lerp_flat needs AVX-512");
  check_buffer(end, end.numel(), "end"), check_buffer(start, end.numel(), "start");
  float* pe = end.data_ptr<float>();
  const float* ps = start.data_ptr<float>();
  at::parallel_for(0, end.numel(), kGrain, [&](int64_t begin, int64_t stop) {
    lerp_values(pe + begin, ps + begin, stop - begin, static_cast<float>(weight));
  });
}

}  // namespace edm
