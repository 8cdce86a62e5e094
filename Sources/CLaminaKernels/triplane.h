#ifndef LAMINA_TRIPLANE_H
#define LAMINA_TRIPLANE_H

// Block kernels of the tri-plane encoding (Layers/Triplane): the gather of a run of rows
// and the scatter of one band. They compute exactly what the Swift loops compute (same
// operations in the same order, no contraction), only with AVX2 and without re-deriving
// each row's corners twice, so results are bit-identical to the Swift paths. Gated at run
// time by `lamina_cpu_has_avx2_fma()` (kernels.h). Defined in triplane.c (a compiled
// source, so that a change to a kernel rebuilds what calls it); on other architectures
// they are never called and do nothing.

#include "kernels.h"

/// Sampling constants of one level (the Swift `LevelGeometry`, for the fields the kernels
/// read).
typedef struct {
  float lo[3];
  float scale[3];
  long resolution;
  int half;    // align_corners false: fma(x - lo, s, -0.5)
  int border;  // border padding, else zeros
} lamina_tri_geometry;

/// Rows ahead whose corners the gather prefetches (as `TriplaneEncoding.lookahead`).
#define LAMINA_TRI_AHEAD 8

/// The forward pass of a one-level, one-field encoding with sum (`mean` 0) or mean
/// (`mean` 1) aggregation over rows [0, n) of `x` (3 floats a row): y[row * ystride + k]
/// for k < c, sampling the channel-last planes at `base` (3 planes of R*R + 1 rows of c).
/// Each plane's sample is fma(p3, w3, fma(p2, w2, fma(p1, w1, p0 * w0))) and the level's
/// feature (f0 + f1) + f2 (divided by 3 for mean), as `TriplaneEncoding.forwardRow`.
/// Needs AVX2 and FMA, c a multiple of 8.
LAMINA_KERNEL_API void lamina_triplane_gather(
    const lamina_tri_geometry *g, const float *x, long n, const float *base, long c,
    int mean, float *y, long ystride);

/// One band of the scatter (`TriplaneEncoding.scatterBand` without mean): zeroes `acc`
/// (texel rows [h0, h1) of one plane, channel-last, c floats a texel), then for each listed
/// row in order adds g * w (rounded product, then sum) into the corners of its sample that
/// lie in the band. The row's point is x[row * xstride + ia], x[row * xstride + ib] (the
/// plane's W and H columns); its upstream gradient is g[row * gstride + k], k < c. Rows'
/// x and g are prefetched 2 x LAMINA_TRI_AHEAD rows ahead, their accumulator lines
/// LAMINA_TRI_AHEAD rows ahead (the band's accumulator is in L2, not L1).
/// Needs AVX2, c a multiple of 8.
LAMINA_KERNEL_API void lamina_triplane_scatter_band(
    const lamina_tri_geometry *g, const float *x, long xstride, int ia, int ib,
    const float *grad, long gstride, const long *rows, long count, long h0, long h1,
    long c, float *acc);

/// dest[ch * plane + t] += acc[t * c + ch] for t < texels, ch < c: a band's channel-last
/// sums added into the NCHW gradient (`plane` = R * R floats between channels), 8 x 8
/// blocks transposed in registers. Needs AVX2.
LAMINA_KERNEL_API void lamina_triplane_add_band(
    const float *acc, long texels, long c, float *dest, long plane);

#endif
