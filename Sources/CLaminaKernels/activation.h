// Private shim, not API: elementwise activation kernels (see kernels.h for why they live in
// C). Each kernel comes twice, built for baseline x86-64 and (`_avx2`) for AVX2; both do
// the same IEEE operations in the same order, so they give the same bits, and the AVX2 one
// only runs more lanes at once. Call `_avx2` only when `lamina_cpu_has_avx2_fma` says so.
#ifndef LAMINA_ACTIVATION_H
#define LAMINA_ACTIVATION_H

#include "kernels.h"

/// y[i] = softplus(x[i]) = log(1 + exp(beta x)) / beta, or x[i] where beta x > threshold
/// (PyTorch's rule), for i < n; y may be x. exp and log1p are Cephes' single-precision
/// polynomials, within 2 ulp; exp is only taken of -|beta x|, so nothing overflows.
LAMINA_KERNEL_API void lamina_softplus_forward(
    const float *x, float *y, long n, float beta, float threshold);
/// `lamina_softplus_forward` for AVX2 CPUs, with the same results.
LAMINA_KERNEL_API void lamina_softplus_forward_avx2(
    const float *x, float *y, long n, float beta, float threshold);

/// dx[i] = sigmoid(beta x[i]) dy[i], or dy[i] where beta x > threshold, for i < n.
LAMINA_KERNEL_API void lamina_softplus_backward(
    const float *x, const float *dy, float *dx, long n, float beta, float threshold);
/// `lamina_softplus_backward` for AVX2 CPUs, with the same results.
LAMINA_KERNEL_API void lamina_softplus_backward_avx2(
    const float *x, const float *dy, float *dx, long n, float beta, float threshold);

/// Softplus's first three derivatives for i < n: with s = sigmoid(beta x), c = 1 - s and
/// q = s c, d1 = s, d2 = beta q, d3 = beta^2 q (c - s) (1, 0, 0 where beta x > threshold);
/// d3 may be NULL.
LAMINA_KERNEL_API void lamina_softplus_derivatives(
    const float *x, long n, float beta, float threshold, float *d1, float *d2, float *d3);
/// `lamina_softplus_derivatives` for AVX2 CPUs, with the same results.
LAMINA_KERNEL_API void lamina_softplus_derivatives_avx2(
    const float *x, long n, float beta, float threshold, float *d1, float *d2, float *d3);

#endif
