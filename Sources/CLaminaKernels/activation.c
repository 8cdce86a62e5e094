// Softplus kernels (see activation.h). Written as plain loops of selects, which clang
// vectorizes: four lanes on baseline x86-64, eight in the AVX2 builds.
#include "activation.h"

#include <stdint.h>
#include <string.h>

// IEEE operations exactly as written: no fused multiply-adds, so both builds agree.
#pragma clang fp contract(off)

#define LAMINA_ACT_INLINE static inline __attribute__((always_inline))
#if defined(__x86_64__) && defined(__clang__)
#define LAMINA_ACT_AVX2 __attribute__((target("avx2")))
#else
#define LAMINA_ACT_AVX2
#endif

/// 2^k for integer k in [-126, 127], from its bits.
LAMINA_ACT_INLINE float lamina__power2(int32_t k) {
  const int32_t bits = (k + 127) << 23;
  float out;
  memcpy(&out, &bits, sizeof out);
  return out;
}

/// exp(x) for x <= 0 (Cephes' expf): 0 below -104, where the result has underflowed;
/// subnormal results are formed in two scalings of at least 2^-76 each.
LAMINA_ACT_INLINE float lamina__exp_nonpositive(float x) {
  const int under = x < -104.0f;
  x = under ? -104.0f : x;
  // n = round(x / ln 2): adding 1.5 * 2^23 leaves n in the sum's low mantissa bits.
  const float shifted = x * 1.44269504f + 12582912.0f;
  const float n = shifted - 12582912.0f;
  // r = x - n ln 2, ln 2 in two parts so that n times the first is exact.
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  int32_t bits;
  memcpy(&bits, &shifted, sizeof bits);
  const int32_t k = bits - 0x4B400000;
  const int32_t half = k >> 1;
  const float out = e * lamina__power2(half) * lamina__power2(k - half);
  return under ? 0.0f : out;
}

/// log(1 + e) for e in [0, 1] (Cephes' logf of u = 1 + e rounded, plus the rounding's
/// first-order correction, so that tiny e keep their relative accuracy).
LAMINA_ACT_INLINE float lamina__log1p_unit(float e) {
  const float u = 1.0f + e;
  const float correction = (e - (u - 1.0f)) / u;
  const int high = u > 1.4142135624f;  // log(u) = log(u / 2) + log 2 above sqrt(2)
  const float m = high ? u * 0.5f : u;
  const float k = high ? 1.0f : 0.0f;
  const float f = m - 1.0f;
  const float z = f * f;
  float p = 7.0376836292e-2f;
  p = p * f - 1.1514610310e-1f;
  p = p * f + 1.1676998740e-1f;
  p = p * f - 1.2420140846e-1f;
  p = p * f + 1.4249322787e-1f;
  p = p * f - 1.6668057665e-1f;
  p = p * f + 2.0000714765e-1f;
  p = p * f - 2.4999993993e-1f;
  p = p * f + 3.3333331174e-1f;
  float y = p * f * z;
  y = y - k * 2.12194440e-4f - z * 0.5f;
  return f + y + k * 0.693359375f + correction;
}

/// sigmoid(z) into *s and 1 - sigmoid(z) into *c from one exp of -|z|: the smaller keeps
/// its relative accuracy where the larger has rounded to 1.
LAMINA_ACT_INLINE void lamina__sigmoid_pair(float z, float *s, float *c) {
  const float e = lamina__exp_nonpositive(z > 0.0f ? -z : z);
  const float d = 1.0f + e;
  const float big = 1.0f / d, small = e / d;
  *s = z >= 0.0f ? big : small;
  *c = z >= 0.0f ? small : big;
}

LAMINA_ACT_INLINE void lamina__softplus_forward(
    const float *x, float *y, long n, float beta, float threshold) {
  for (long i = 0; i < n; i++) {
    const float v = x[i], z = v * beta;
    const float e = lamina__exp_nonpositive(z > 0.0f ? -z : z);
    const float sp = ((z > 0.0f ? z : 0.0f) + lamina__log1p_unit(e)) / beta;
    y[i] = z > threshold ? v : sp;
  }
}

LAMINA_ACT_INLINE void lamina__softplus_backward(
    const float *x, const float *dy, float *dx, long n, float beta, float threshold) {
  for (long i = 0; i < n; i++) {
    const float z = x[i] * beta;
    float s, c;
    lamina__sigmoid_pair(z, &s, &c);
    dx[i] = z > threshold ? dy[i] : s * dy[i];
  }
}

LAMINA_ACT_INLINE void lamina__softplus_derivatives(
    const float *x, long n, float beta, float threshold, float *d1, float *d2, float *d3) {
  for (long i = 0; i < n; i++) {
    const float z = x[i] * beta;
    float s, c;
    lamina__sigmoid_pair(z, &s, &c);
    const float q = s * c;
    const int linear = z > threshold;
    d1[i] = linear ? 1.0f : s;
    d2[i] = linear ? 0.0f : beta * q;
    if (d3) d3[i] = linear ? 0.0f : beta * beta * q * (c - s);
  }
}

void lamina_softplus_forward(const float *x, float *y, long n, float beta, float threshold) {
  lamina__softplus_forward(x, y, n, beta, threshold);
}

LAMINA_ACT_AVX2 void lamina_softplus_forward_avx2(
    const float *x, float *y, long n, float beta, float threshold) {
  lamina__softplus_forward(x, y, n, beta, threshold);
}

void lamina_softplus_backward(
    const float *x, const float *dy, float *dx, long n, float beta, float threshold) {
  lamina__softplus_backward(x, dy, dx, n, beta, threshold);
}

LAMINA_ACT_AVX2 void lamina_softplus_backward_avx2(
    const float *x, const float *dy, float *dx, long n, float beta, float threshold) {
  lamina__softplus_backward(x, dy, dx, n, beta, threshold);
}

void lamina_softplus_derivatives(
    const float *x, long n, float beta, float threshold, float *d1, float *d2, float *d3) {
  lamina__softplus_derivatives(x, n, beta, threshold, d1, d2, d3);
}

LAMINA_ACT_AVX2 void lamina_softplus_derivatives_avx2(
    const float *x, long n, float beta, float threshold, float *d1, float *d2, float *d3) {
  lamina__softplus_derivatives(x, n, beta, threshold, d1, d2, d3);
}
