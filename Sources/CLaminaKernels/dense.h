// Private shim, not API: AVX2/FMA kernels of a Dense layer with small widths (the products
// of a small MLP's training step), without sgemm's packing and call overhead. Built for
// AVX2/FMA while the Swift code targets baseline x86-64; the Swift side calls them only
// after `lamina_cpu_has_avx2_fma` (kernels.h) says the CPU runs them.
//
// Every kernel sums each output in a fixed order that depends on the shape of its call
// only (never on threads), so callers that split work into fixed calls get the same bits
// on any number of cores.
//
// Defined in dense.c; on other architectures they are never called and do nothing.
#ifndef LAMINA_DENSE_H
#define LAMINA_DENSE_H

#include "kernels.h"

/// C = bias + A B for `rows` rows: C[r*ldc + q] = bias[q] + sum_{p < p_count} A[r*lda + p] *
/// B[p*ldb + q] for q < q_count, summed in order of p with fused multiply-adds. B is packed:
/// ldb is a multiple of 8, at least q_count, and lanes q_count ..< ldb of each row are read
/// (but never stored), so should be zero; `bias` is NULL (zeros) or ldb floats. With `act`
/// (same layout as C; it may be C itself), also act = relu(C) from the same registers.
/// A Dense layer's forward pass is B = W^T padded, and its input gradient dx = dz W is
/// B = W padded, no bias.
LAMINA_KERNEL_API void lamina_dense_rows_fma(
    long rows, long p_count, long q_count, const float *a, long lda, const float *b, long ldb,
    const float *bias, float *c, long ldc, float *act);

/// C = bias + A W^T for layers with few outputs: C[r*ldc + q] = bias[q] + dot(A row r,
/// W row q), W being [q_count, p_count] with row stride ldw (a Dense weight as stored), each
/// dot product in eight lanes along p then summed across them. Where the outputs are fewer
/// than a vector (a 64 -> 1 layer), this does one multiply-add per eight products, where
/// `lamina_dense_rows_fma` would fill one vector per p with mostly padding. `bias` is NULL
/// or q_count floats; `act` as in `lamina_dense_rows_fma`.
LAMINA_KERNEL_API void lamina_dense_dot_fma(
    long rows, long p_count, long q_count, const float *a, long lda, const float *w, long ldw,
    const float *bias, float *c, long ldc, float *act);

/// C (+)= A^T B over `rows` rows: C[p*ldc + q] (+)= sum_{i < rows} A[i*lda + p] *
/// B[i*ldb + q] for p < p_count, q < q_count, each element summed over i in order with
/// fused multiply-adds, then added to C's value (`accumulate`) or stored. B's rows need not
/// be padded (the last vector is a masked load). A Dense layer's weight gradient is
/// A = dz, B = x (C = dW, [out, in]); with few inputs, A = x, B = dz gives dW^T.
/// Vectors of q: 16 at a time where p has more than two values, else 32 (fewer p, more
/// independent accumulators).
LAMINA_KERNEL_API void lamina_dense_outer_fma(
    long rows, long p_count, long q_count, const float *a, long lda, const float *b, long ldb,
    float *c, long ldc, int accumulate);

/// out[q] (+)= sum_{i < rows} A[i*lda + q] for q < q_count (a bias gradient): eight columns
/// at a time, rows in four interleaved partial sums (one chain would wait on the adder's
/// latency) added as (s0 + s1) + (s2 + s3), then added to out (`accumulate`) or stored.
LAMINA_KERNEL_API void lamina_dense_colsum_fma(
    long rows, long q_count, const float *a, long lda, float *out, int accumulate);

/// y = bias + W x for one row: x has p_count values, W is q_count x p_count (row-major,
/// leading dimension ldw), `bias` NULL or q_count values. The one-sample (latency) path:
/// four outputs at a time in independent accumulators (a single chain of multiply-adds
/// would wait on the adder's latency; `lamina_dense_dot_fma` keeps one per output), reduced
/// together by horizontal adds; no packing, so nothing is copied per call.
LAMINA_KERNEL_API void lamina_dense_matvec_fma(
    long p_count, long q_count, const float *x, const float *w, long ldw, const float *bias,
    float *y);

#endif
