// Private shim, not API: small C helpers the Swift core cannot express itself (prefetch
// hints, and kernels built for AVX2/FMA while the Swift code targets baseline x86-64,
// called only after `lamina_cpu_has_avx2_fma` says the CPU runs them).
#ifndef LAMINA_KERNELS_H
#define LAMINA_KERNELS_H

/// Asks the CPU to start loading the cache line holding `p` (for reading) without waiting
/// for it. A hint only: it never faults, so any address may be passed.
static inline void lamina_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#if defined(__x86_64__) && defined(__clang__)
#include <cpuid.h>
#include <immintrin.h>

/// 1 when the CPU has AVX2 and FMA and the OS saves the AVX registers, else 0.
static inline int lamina_cpu_has_avx2_fma(void) {
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

/// out[k] = fma(p3[k], w3, fma(p2[k], w2, fma(p1[k], w1, p0[k] * w0))) for k < c: one
/// bilinear sample of C contiguous channels, with the rounding of PyTorch's grid_sample
/// CPU kernel (built with FMA contraction). Needs AVX2 and FMA.
__attribute__((target("avx2,fma"))) static void lamina_bilinear_fma(
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
  for (; k < c; k++) {
    float r = p0[k] * w0;
    r = __builtin_fmaf(p1[k], w1, r);
    r = __builtin_fmaf(p2[k], w2, r);
    out[k] = __builtin_fmaf(p3[k], w3, r);
  }
}

/// fma(a3, w3, fma(a2, w2, fma(a1, w1, a0 * w0))): `lamina_bilinear_fma` for one channel.
/// Needs FMA.
__attribute__((target("avx2,fma"))) static float lamina_interpolate_fma(
    float a0, float a1, float a2, float a3, float w0, float w1, float w2, float w3) {
  float r = a0 * w0;
  r = __builtin_fmaf(a1, w1, r);
  r = __builtin_fmaf(a2, w2, r);
  return __builtin_fmaf(a3, w3, r);
}
#else
/// 0: no AVX2/FMA kernels on this architecture.
static inline int lamina_cpu_has_avx2_fma(void) { return 0; }

/// Never called (see `lamina_cpu_has_avx2_fma`); present so that the Swift code compiles.
static inline void lamina_bilinear_fma(
    const float *p0, const float *p1, const float *p2, const float *p3, long c, float *out,
    float w0, float w1, float w2, float w3) {
  (void)p0; (void)p1; (void)p2; (void)p3; (void)c; (void)out;
  (void)w0; (void)w1; (void)w2; (void)w3;
}

/// Never called (see `lamina_cpu_has_avx2_fma`).
static inline float lamina_interpolate_fma(
    float a0, float a1, float a2, float a3, float w0, float w1, float w2, float w3) {
  (void)a0; (void)a1; (void)a2; (void)a3; (void)w0; (void)w1; (void)w2; (void)w3;
  return 0;
}
#endif

#endif
