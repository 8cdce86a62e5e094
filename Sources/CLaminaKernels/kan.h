// Private shim, not API: AVX2 kernels of the B-spline KAN layer's uniform cubic basis
// blocks (`KANBlock.prepare`) and of the dense path's row scatter (`fillDenseColumns`).
// Built for AVX2 while the Swift code targets baseline x86-64; the Swift side calls them
// only after `lamina_cpu_has_avx2_fma` (kernels.h) says the CPU runs them.
//
// Both do, lane by lane, the same IEEE operations in the same order as the Swift SIMD8 code
// they replace (separate multiplies and adds, no fused multiply-add), so their results are
// the same bits on any CPU.
//
// Defined in kan.c; on other architectures they are never called and do nothing.
#ifndef LAMINA_KAN_H
#define LAMINA_KAN_H

#include "kernels.h"

/// Intervals, local coordinates, inverse widths, first-basis indices, cubic basis values and
/// (when `derivatives` is non-null) derivatives of `padded` rows (a multiple of 8) of `x` on
/// a uniform knot vector `t` of `m` intervals on [first, last), `inv` = m / (last - first)
/// (> 0), `widths` = the reciprocal interval widths. Rows `count` ..< padded are outside.
/// The interval of a row inside the grid is the direct guess round((x - first) inv - 1/2)
/// (at most m - 1) when the knots confirm it (t[g] <= x < t[g + 1]); rows whose guess the
/// knots reject get interval -2 and the outside row's values, for the caller to redo with
/// its search. Returns the number of such rows.
///
/// Planes: `values` and `derivatives` hold four planes of `cap` floats each.
LAMINA_KERNEL_API long lamina_kan_cubic_uniform(
    long count, long padded, const float *x, float first, float last, float inv, long m,
    const float *t, const float *widths, long *interval, float *fb, float *u, float *w,
    float *values, float *derivatives, long cap);

/// The dense rows of one input for `padded` rows (a multiple of 8) from its cubic basis
/// block: region[(1 + j) * cap + q] = values[t * cap + q] where j = fb[q] + t (t in 0...3),
/// else 0, for the `nb` bases j; the base column (region[0 ..< cap]: b(x), SiLU or the
/// layer's "base_fun") is the caller's.
LAMINA_KERNEL_API void lamina_kan_cubic_scatter(
    long padded, long nb, const float *fb, const float *values, long cap, float *region);

/// dx of one input for `count` rows on the dense path: dx[q * dx_stride] = sd[q] g[q] + the
/// terms d[t * cap + q] g[(1 + j) * cap + q] for t = 0 ... 3 in that order, j = fb[q] + t,
/// over the j in 0 ..< nb (the others skipped, not added as zeros), as the Swift loop of
/// `fillDenseColumns` sums them. `g` is the input's dA region (`cap` floats per column).
LAMINA_KERNEL_API void lamina_kan_cubic_dx(
    long count, long nb, const float *fb, const float *d, const float *sd, const float *g,
    long cap, float *dx, long dx_stride);

/// y (count x n_out, row-major) = A W for the dense rows `a` stored transposed (a[c * lda
/// + q] = A[q, c], `width` columns) and W (width x n_out, row-major), n_out in 1 ... 12,
/// without sgemm's packing (which dominates for so few outputs). Each y[q, o] is the fused
/// sum over c = 0, 1, ... in order.
LAMINA_KERNEL_API void lamina_kan_dense_forward_small(
    long count, long width, long n_out, const float *a, long lda, const float *w, float *y);

/// sums (width x n_out, row-major) = A^T dy (added to them when `accumulate`) for the dense
/// rows `a` stored transposed as in `lamina_kan_dense_forward_small` and dy (count x n_out,
/// row-major), n_out in 1 ... 12. `scratch` holds n_out * ((count + 7) & ~7) floats (dy
/// transposed). Each sum runs over q in eight fused lanes (q mod 8), added pairwise at the
/// end: an order fixed by the shape.
LAMINA_KERNEL_API void lamina_kan_dense_sums_small(
    long count, long width, long n_out, const float *a, long lda, const float *dy, float *sums,
    int accumulate, float *scratch);

/// dA^T = W dy^T: dA[c * lda + q] = sum over o of W[c, o] dy[q, o] (o in order, fused) for
/// q < (count + 7) & ~7 (rows past count get 0), W (width x n_out) and dy (count x n_out)
/// row-major, n_out in 1 ... 12. `scratch` as in `lamina_kan_dense_sums_small`.
LAMINA_KERNEL_API void lamina_kan_dense_input_small(
    long count, long width, long n_out, const float *w, const float *dy, float *dA, long lda,
    float *scratch);

#endif
