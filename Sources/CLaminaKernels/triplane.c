// The tri-plane block kernels (see triplane.h for what each computes).
#include "triplane.h"

// Every product below is rounded before it is added, as the Swift code does; the one
// fused multiply-add of the gather is written out as an intrinsic.
#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

/// One axis's sample (the Swift `LevelGeometry.sample`): lower texel, fraction, and
/// whether each of the two texels is on the grid.
typedef struct {
  long index;
  float fraction;
  int low_in, high_in;
} lamina_tri_axis;

__attribute__((target("avx2,fma"))) static inline lamina_tri_axis lamina_tri_sample(
    const lamina_tri_geometry *g, float x, int axis) {
  float i0 = x - g->lo[axis];
  float s = g->scale[axis];
  // The Swift code emulates this fused multiply-add in Double; so does this.
  float i = g->half ? (float)((double)i0 * (double)s + (-0.5)) : i0 * s;
  long r = g->resolution;
  if (g->border) {
    float top = (float)(r - 1);
    float low = i > 0 ? i : 0;
    i = low < top ? low : top;
  } else {
    float limit = (float)r + 0.5f;
    i = i >= -1.5f ? (i <= limit ? i : limit) : -1.5f;
  }
  float f = __builtin_floorf(i);
  lamina_tri_axis a;
  a.index = (long)f;
  a.fraction = i - f;
  a.low_in = a.index >= 0 && a.index < r;
  a.high_in = a.index + 1 >= 0 && a.index + 1 < r;
  return a;
}

/// One plane's corners (channel-last source: off-grid corners point at the zero row) and
/// weights.
typedef struct {
  const float *p[4];
  float w[4];
} lamina_tri_corners;

__attribute__((target("avx2,fma"))) static inline void lamina_tri_corners_of(
    lamina_tri_axis a, lamina_tri_axis b, const float *plane, long r, long c,
    lamina_tri_corners *out) {
  float w = a.fraction, e = 1 - w, n = b.fraction, s = 1 - n;
  out->w[0] = s * e;
  out->w[1] = s * w;
  out->w[2] = n * e;
  out->w[3] = n * w;
  long rr = r * r;
  long nw = b.index * r + a.index;
  out->p[0] = plane + ((a.low_in && b.low_in) ? nw : rr) * c;
  out->p[1] = plane + ((a.high_in && b.low_in) ? nw + 1 : rr) * c;
  out->p[2] = plane + ((a.low_in && b.high_in) ? nw + r : rr) * c;
  out->p[3] = plane + ((a.high_in && b.high_in) ? nw + r + 1 : rr) * c;
}

/// The three planes' corners of one point (planes xy, xz, yz), prefetched.
__attribute__((target("avx2,fma"))) static inline void lamina_tri_row_corners(
    const lamina_tri_geometry *g, const float *xr, const float *base, long c,
    lamina_tri_corners out[3]) {
  long r = g->resolution;
  long stride = (r * r + 1) * c;
  lamina_tri_axis ax = lamina_tri_sample(g, xr[0], 0);
  lamina_tri_axis ay = lamina_tri_sample(g, xr[1], 1);
  lamina_tri_axis az = lamina_tri_sample(g, xr[2], 2);
  lamina_tri_corners_of(ax, ay, base, r, c, &out[0]);
  lamina_tri_corners_of(ax, az, base + stride, r, c, &out[1]);
  lamina_tri_corners_of(ay, az, base + 2 * stride, r, c, &out[2]);
  // A corner's c floats span one cache line or two (with c = 16 and the copies 64-byte
  // aligned, always one): a second prefetch only where they span two.
  for (int q = 0; q < 3; q++) {
    for (int k = 0; k < 4; k++) {
      const float *first = out[q].p[k], *last = out[q].p[k] + c - 1;
      __builtin_prefetch(first, 0, 3);
      if ((((unsigned long)first ^ (unsigned long)last) >> 6) != 0) __builtin_prefetch(last, 0, 3);
    }
  }
}

__attribute__((target("avx2,fma"))) void lamina_triplane_gather(
    const lamina_tri_geometry *g, const float *x, long n, const float *base, long c,
    int mean, float *y, long ystride) {
  lamina_tri_corners ring[2 * LAMINA_TRI_AHEAD][3];
  const long mask = 2 * LAMINA_TRI_AHEAD - 1;
  long pre = n < LAMINA_TRI_AHEAD ? n : LAMINA_TRI_AHEAD;
  for (long r = 0; r < pre; r++) lamina_tri_row_corners(g, x + r * 3, base, c, ring[r & mask]);
  const __m256 three = _mm256_set1_ps(3.0f);
  for (long r = 0; r < n; r++) {
    if (r + LAMINA_TRI_AHEAD < n) {
      long a = r + LAMINA_TRI_AHEAD;
      lamina_tri_row_corners(g, x + a * 3, base, c, ring[a & mask]);
    }
    const lamina_tri_corners *q = ring[r & mask];
    float *out = y + r * ystride;
    for (long k = 0; k < c; k += 8) {
      __m256 f[3];
      for (int p = 0; p < 3; p++) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(q[p].p[0] + k), _mm256_set1_ps(q[p].w[0]));
        v = _mm256_fmadd_ps(_mm256_loadu_ps(q[p].p[1] + k), _mm256_set1_ps(q[p].w[1]), v);
        v = _mm256_fmadd_ps(_mm256_loadu_ps(q[p].p[2] + k), _mm256_set1_ps(q[p].w[2]), v);
        v = _mm256_fmadd_ps(_mm256_loadu_ps(q[p].p[3] + k), _mm256_set1_ps(q[p].w[3]), v);
        f[p] = v;
      }
      __m256 v = _mm256_add_ps(_mm256_add_ps(f[0], f[1]), f[2]);
      if (mean) v = _mm256_div_ps(v, three);
      _mm256_storeu_ps(out + k, v);
    }
  }
}

/// One listed row of a scatter band: its upstream gradient's row, the four corners'
/// offsets in the band's accumulator (-1 where a corner is off the grid or outside the
/// band) and their weights.
typedef struct {
  long row;
  long at[4];
  float weight[4];
} lamina_tri_scatter_entry;

/// Fills `e` for input row `row` and prefetches the accumulator lines it will add into.
__attribute__((target("avx2,fma"))) static inline void lamina_tri_scatter_prepare(
    const lamina_tri_geometry *g, const float *x, long xstride, int ia, int ib, long row,
    long h0, long h1, long c, float *acc, lamina_tri_scatter_entry *e) {
  long r = g->resolution;
  const float *p = x + row * xstride;
  lamina_tri_axis a = lamina_tri_sample(g, p[ia], ia);
  lamina_tri_axis b = lamina_tri_sample(g, p[ib], ib);
  float w = a.fraction, ew = 1 - w, n = b.fraction, s = 1 - n;
  e->row = row;
  e->weight[0] = s * ew;
  e->weight[1] = s * w;
  e->weight[2] = n * ew;
  e->weight[3] = n * w;
  long nw = (b.index - h0) * r + a.index;
  int top = b.index >= h0 && b.index < h1;
  int bottom = b.index + 1 >= h0 && b.index + 1 < h1;
  e->at[0] = (a.low_in && b.low_in && top) ? nw * c : -1;
  e->at[1] = (a.high_in && b.low_in && top) ? (nw + 1) * c : -1;
  e->at[2] = (a.low_in && b.high_in && bottom) ? (nw + r) * c : -1;
  e->at[3] = (a.high_in && b.high_in && bottom) ? (nw + r + 1) * c : -1;
  for (int q = 0; q < 4; q++) {
    if (e->at[q] < 0) continue;
    const float *first = acc + e->at[q], *last = acc + e->at[q] + c - 1;
    __builtin_prefetch(first, 1, 3);
    if ((((unsigned long)first ^ (unsigned long)last) >> 6) != 0) __builtin_prefetch(last, 1, 3);
  }
}

__attribute__((target("avx2,fma"))) void lamina_triplane_scatter_band(
    const lamina_tri_geometry *g, const float *x, long xstride, int ia, int ib,
    const float *grad, long gstride, const long *rows, long count, long h0, long h1,
    long c, float *acc) {
  long r = g->resolution;
  __builtin_memset(acc, 0, sizeof(float) * (size_t)((h1 - h0) * r * c));
  lamina_tri_scatter_entry ring[2 * LAMINA_TRI_AHEAD];
  const long mask = 2 * LAMINA_TRI_AHEAD - 1;
  for (long i = LAMINA_TRI_AHEAD; i < count && i < 2 * LAMINA_TRI_AHEAD; i++) {
    __builtin_prefetch(x + rows[i] * xstride, 0, 3);
    __builtin_prefetch(grad + rows[i] * gstride, 0, 3);
  }
  for (long i = 0; i < count && i < LAMINA_TRI_AHEAD; i++) {
    __builtin_prefetch(grad + rows[i] * gstride, 0, 3);
    lamina_tri_scatter_prepare(g, x, xstride, ia, ib, rows[i], h0, h1, c, acc, &ring[i]);
  }
  for (long i = 0; i < count; i++) {
    if (i + 2 * LAMINA_TRI_AHEAD < count) {
      long far = rows[i + 2 * LAMINA_TRI_AHEAD];
      __builtin_prefetch(x + far * xstride, 0, 3);
      const float *gf = grad + far * gstride;
      __builtin_prefetch(gf, 0, 3);
      __builtin_prefetch(gf + c - 1, 0, 3);
    }
    if (i + LAMINA_TRI_AHEAD < count) {
      long a = i + LAMINA_TRI_AHEAD;
      lamina_tri_scatter_prepare(g, x, xstride, ia, ib, rows[a], h0, h1, c, acc, &ring[a & mask]);
    }
    const lamina_tri_scatter_entry *e = &ring[i & mask];
    const float *gr = grad + e->row * gstride;
    for (int q = 0; q < 4; q++) {
      if (e->at[q] < 0) continue;
      float *t = acc + e->at[q];
      __m256 wv = _mm256_set1_ps(e->weight[q]);
      for (long k = 0; k < c; k += 8) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(gr + k), wv);
        _mm256_storeu_ps(t + k, _mm256_add_ps(_mm256_loadu_ps(t + k), v));
      }
    }
  }
}

__attribute__((target("avx2,fma"))) void lamina_triplane_add_band(
    const float *acc, long texels, long c, float *dest, long plane) {
  long t = 0;
  for (; t + 8 <= texels; t += 8) {
    long ch = 0;
    for (; ch + 8 <= c; ch += 8) {
      const float *s = acc + t * c + ch;
      __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + c);
      __m256 r2 = _mm256_loadu_ps(s + 2 * c), r3 = _mm256_loadu_ps(s + 3 * c);
      __m256 r4 = _mm256_loadu_ps(s + 4 * c), r5 = _mm256_loadu_ps(s + 5 * c);
      __m256 r6 = _mm256_loadu_ps(s + 6 * c), r7 = _mm256_loadu_ps(s + 7 * c);
      __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
      __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
      __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
      __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
      __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
      __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
      __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
      __m256 col[8];
      col[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
      col[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
      col[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
      col[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
      col[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
      col[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
      col[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
      col[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
      for (int j = 0; j < 8; j++) {
        float *d = dest + (ch + j) * plane + t;
        _mm256_storeu_ps(d, _mm256_add_ps(_mm256_loadu_ps(d), col[j]));
      }
    }
    for (; ch < c; ch++) {
      for (long u = t; u < t + 8; u++) dest[ch * plane + u] += acc[u * c + ch];
    }
  }
  for (; t < texels; t++) {
    for (long ch = 0; ch < c; ch++) dest[ch * plane + t] += acc[t * c + ch];
  }
}

#else

// No AVX2/FMA kernels on this architecture: never called (`lamina_cpu_has_avx2_fma` is 0).

void lamina_triplane_gather(
    const lamina_tri_geometry *g, const float *x, long n, const float *base, long c,
    int mean, float *y, long ystride) {
  (void)g; (void)x; (void)n; (void)base; (void)c; (void)mean; (void)y; (void)ystride;
}

void lamina_triplane_scatter_band(
    const lamina_tri_geometry *g, const float *x, long xstride, int ia, int ib,
    const float *grad, long gstride, const long *rows, long count, long h0, long h1,
    long c, float *acc) {
  (void)g; (void)x; (void)xstride; (void)ia; (void)ib; (void)grad; (void)gstride;
  (void)rows; (void)count; (void)h0; (void)h1; (void)c; (void)acc;
}

void lamina_triplane_add_band(const float *acc, long texels, long c, float *dest, long plane) {
  (void)acc; (void)texels; (void)c; (void)dest; (void)plane;
}

#endif
