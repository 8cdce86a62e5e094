// Private shim, not API: Lamina's own single-threaded sgemm for small products.
//
// OpenBLAS sends products of at most 100^3 multiply-adds to "small-matrix" kernels chosen
// by the CPU it runs on (SkylakeX and Cooperlake on x86-64, SVE on Arm, POWER10), and some
// of those allocate on every call; which one runs is OpenBLAS's choice, not Lamina's. So
// `BLAS.call` sends every product that small here instead, and Lamina's promise of no
// allocation per training step holds whatever kernels OpenBLAS picked.
//
// Both entry points compute C = alpha op(A) op(B) + beta C for row-major matrices (op
// transposes when asked; op(A) is m x k, op(B) is k x n), as cblas_sgemm does: with beta =
// 0, C is written without being read. They allocate nothing and use at most a few KB of
// stack. How each element of C is summed depends on the shape and transposes of the call
// only, never on threads or data, so a fixed split of a product gives the same bits on any
// number of cores.
#ifndef LAMINA_GEMM_H
#define LAMINA_GEMM_H

/// Products of at most this many multiply-adds (m n k) are small: the largest bound any
/// OpenBLAS small-matrix kernel permits (its x86-64, Arm SVE and POWER10 kernels all stop at
/// 100 x 100 x 100).
#define LAMINA_SMALL_GEMM_WORK 1000000.0

/// The AVX2/FMA kernels. Each element's sum is one fused multiply-add per term, in order of
/// k; where rows of op(A) meet contiguous rows of op(B)^T (A B^T with k > 64 or fewer than 8
/// columns, A B with one contiguous column) the terms run in eight lanes instead (term p in
/// lane p mod 8), added in a fixed tree. Then alpha times the sum, plus beta C when beta is
/// not 0, each rounded. Call only after `lamina_cpu_has_avx2_fma` (kernels.h) returned 1.
__attribute__((visibility("hidden"))) void lamina_kernel_sgemm_fma(
    int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
    const float *b, long ldb, float beta, float *c, long ldc);

/// The same product for any CPU: each element's sum in order of k, one rounded multiply and
/// one rounded add per term (no fused multiply-add), then alpha and beta as above.
__attribute__((visibility("hidden"))) void lamina_kernel_sgemm_portable(
    int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
    const float *b, long ldb, float beta, float *c, long ldc);

#endif
