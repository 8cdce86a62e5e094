// CPU detection and the per-sample bilinear kernels (see kernels.h).
#include "kernels.h"

// The one fused multiply-add per term is written out; nothing else may be fused.
#pragma clang fp contract(off)

#if defined(__x86_64__) && defined(__clang__)
#include <cpuid.h>
#include <immintrin.h>

int lamina_cpu_has_avx2_fma(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  // FMA (bit 12), OSXSAVE (27), AVX (28).
  if (((c >> 12) & 1) == 0 || ((c >> 27) & 1) == 0 || ((c >> 28) & 1) == 0) return 0;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & 6) != 6) return 0;  // XMM and YMM state
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  return (int)((b >> 5) & 1);  // AVX2
}

__attribute__((target("avx2,fma"))) void lamina_bilinear_fma(
    const float *p0, const float *p1, const float *p2, const float *p3, long c, float *out,
    float w0, float w1, float w2, float w3) {
  const __m256 v0 = _mm256_set1_ps(w0), v1 = _mm256_set1_ps(w1);
  const __m256 v2 = _mm256_set1_ps(w2), v3 = _mm256_set1_ps(w3);
  long k = 0;
  for (; k + 8 <= c; k += 8) {
    __m256 r = _mm256_mul_ps(_mm256_loadu_ps(p0 + k), v0);
    r = _mm256_fmadd_ps(_mm256_loadu_ps(p1 + k), v1, r);
    r = _mm256_fmadd_ps(_mm256_loadu_ps(p2 + k), v2, r);
    r = _mm256_fmadd_ps(_mm256_loadu_ps(p3 + k), v3, r);
    _mm256_storeu_ps(out + k, r);
  }
  // At most 7 channels (12 is a common C): the vectorizer's version of this loop, with its
  // overlap checks, costs more than it saves.
  _Pragma("clang loop vectorize(disable) unroll(disable)")
  for (; k < c; k++) {
    float r = p0[k] * w0;
    r = __builtin_fmaf(p1[k], w1, r);
    r = __builtin_fmaf(p2[k], w2, r);
    out[k] = __builtin_fmaf(p3[k], w3, r);
  }
}

__attribute__((target("avx2,fma"))) float lamina_interpolate_fma(
    float a0, float a1, float a2, float a3, float w0, float w1, float w2, float w3) {
  float r = a0 * w0;
  r = __builtin_fmaf(a1, w1, r);
  r = __builtin_fmaf(a2, w2, r);
  return __builtin_fmaf(a3, w3, r);
}

#else

int lamina_cpu_has_avx2_fma(void) { return 0; }

// Never called (see `lamina_cpu_has_avx2_fma`).
void lamina_bilinear_fma(
    const float *p0, const float *p1, const float *p2, const float *p3, long c, float *out,
    float w0, float w1, float w2, float w3) {
  (void)p0; (void)p1; (void)p2; (void)p3; (void)c; (void)out;
  (void)w0; (void)w1; (void)w2; (void)w3;
}

// Never called (see `lamina_cpu_has_avx2_fma`).
float lamina_interpolate_fma(
    float a0, float a1, float a2, float a3, float w0, float w1, float w2, float w3) {
  (void)a0; (void)a1; (void)a2; (void)a3; (void)w0; (void)w1; (void)w2; (void)w3;
  return 0;
}

#endif
