// The B-spline KAN layer's AVX2 kernels (see kan.h for what each computes).
#include "kan.h"

// Every fused multiply-add below is written out; the compiler must not fuse the others.
#pragma clang fp contract(off)

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

#define LAMINA_KAN_KERNEL __attribute__((target("avx2,fma")))

LAMINA_KAN_KERNEL long lamina_kan_cubic_uniform(
    long count, long padded, const float *x, float first, float last, float inv, long m,
    const float *t, const float *widths, long *interval, float *fb, float *u, float *w,
    float *values, float *derivatives, long cap) {
  const __m256 first8 = _mm256_set1_ps(first), last8 = _mm256_set1_ps(last);
  const __m256 inv8 = _mm256_set1_ps(inv), half = _mm256_set1_ps(0.5f);
  const __m256 magic = _mm256_set1_ps(12582912.0f);
  const __m256i low = _mm256_set1_epi32(0x3FFFFF), top = _mm256_set1_epi32((int)(m - 1));
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 outside = _mm256_set1_ps(-4.0f), three = _mm256_set1_ps(3.0f);
  const __m256 sixth = _mm256_set1_ps(1.0f / 6.0f);
  long bad = 0;
  for (long q = 0; q < padded; q += 8) {
    const __m256 xv = _mm256_loadu_ps(x + q);
    const __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(count - q)), lanes);
    // Ordered compares: NaN is outside, as in the Swift test.
    __m256 inside = _mm256_and_ps(_mm256_cmp_ps(xv, first8, _CMP_GE_OQ),
                                  _mm256_cmp_ps(xv, last8, _CMP_LT_OQ));
    inside = _mm256_and_ps(inside, _mm256_castsi256_ps(live));
    const __m256 shifted =
        _mm256_add_ps(_mm256_sub_ps(_mm256_mul_ps(_mm256_sub_ps(xv, first8), inv8), half), magic);
    __m256i g = _mm256_and_si256(_mm256_castps_si256(shifted), low);
    g = _mm256_min_epi32(g, top);
    // Lanes outside the grid read knot 0 (any finite knot; they are masked below).
    g = _mm256_and_si256(g, _mm256_castps_si256(inside));
    const __m256 t0 = _mm256_i32gather_ps(t, g, 4);
    const __m256 t1 = _mm256_i32gather_ps(t + 1, g, 4);
    const __m256 ok = _mm256_and_ps(
        inside, _mm256_and_ps(_mm256_cmp_ps(t0, xv, _CMP_LE_OQ), _mm256_cmp_ps(xv, t1, _CMP_LT_OQ)));
    const int insideBits = _mm256_movemask_ps(inside), okBits = _mm256_movemask_ps(ok);
    if (insideBits != okBits) bad += __builtin_popcount((unsigned)(insideBits & ~okBits));
    const __m256 wv = _mm256_and_ps(_mm256_i32gather_ps(widths, g, 4), ok);
    const __m256 uv = _mm256_and_ps(_mm256_mul_ps(_mm256_sub_ps(xv, t0), wv), ok);
    // Interval: g where confirmed, -2 where rejected inside the grid, -1 outside.
    __m256i mu = _mm256_blendv_epi8(_mm256_set1_epi32(-1), g, _mm256_castps_si256(ok));
    mu = _mm256_blendv_epi8(
        mu, _mm256_set1_epi32(-2), _mm256_castps_si256(_mm256_andnot_ps(ok, inside)));
    _mm256_storeu_si256((__m256i *)(interval + q), _mm256_cvtepi32_epi64(_mm256_castsi256_si128(mu)));
    _mm256_storeu_si256((__m256i *)(interval + q + 4),
                        _mm256_cvtepi32_epi64(_mm256_extracti128_si256(mu, 1)));
    const __m256 fv = _mm256_blendv_ps(
        outside, _mm256_cvtepi32_ps(_mm256_sub_epi32(g, _mm256_set1_epi32(3))), ok);
    _mm256_storeu_ps(fb + q, fv);
    _mm256_storeu_ps(w + q, wv);
    _mm256_storeu_ps(u + q, uv);
    // The cardinal cubic pieces, in `KANBlock.prepare`'s order of operations.
    const __m256 v = _mm256_sub_ps(one, uv);
    const __m256 u2 = _mm256_mul_ps(uv, uv);
    const __m256 u3 = _mm256_mul_ps(u2, uv);
    _mm256_storeu_ps(values + q, _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(v, v), v), sixth));
    _mm256_storeu_ps(
        values + cap + q,
        _mm256_mul_ps(_mm256_add_ps(_mm256_sub_ps(_mm256_mul_ps(three, u3),
                                                  _mm256_mul_ps(_mm256_set1_ps(6.0f), u2)),
                                    _mm256_set1_ps(4.0f)),
                      sixth));
    _mm256_storeu_ps(
        values + 2 * cap + q,
        _mm256_mul_ps(
            _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(-3.0f), u3),
                                                      _mm256_mul_ps(three, u2)),
                                        _mm256_mul_ps(three, uv)),
                          one),
            sixth));
    _mm256_storeu_ps(values + 3 * cap + q, _mm256_mul_ps(u3, sixth));
    if (derivatives) {
      _mm256_storeu_ps(derivatives + q,
                       _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(-0.5f), v), v), wv));
      _mm256_storeu_ps(
          derivatives + cap + q,
          _mm256_mul_ps(_mm256_sub_ps(_mm256_mul_ps(_mm256_set1_ps(1.5f), u2),
                                      _mm256_mul_ps(_mm256_set1_ps(2.0f), uv)),
                        wv));
      _mm256_storeu_ps(
          derivatives + 2 * cap + q,
          _mm256_mul_ps(
              _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(-1.5f), u2), uv), half),
              wv));
      _mm256_storeu_ps(derivatives + 3 * cap + q,
                       _mm256_mul_ps(_mm256_mul_ps(half, u2), wv));
    }
  }
  return bad;
}

LAMINA_KAN_KERNEL void lamina_kan_cubic_scatter(
    long padded, long nb, const float *fb, const float *values, long cap, float *region) {
  float *basis0 = region + cap;
  for (long q = 0; q < padded; q += 8) {
    const __m256 first = _mm256_loadu_ps(fb + q);
    const __m256 b0 = _mm256_loadu_ps(values + q), b1 = _mm256_loadu_ps(values + cap + q);
    const __m256 b2 = _mm256_loadu_ps(values + 2 * cap + q);
    const __m256 b3 = _mm256_loadu_ps(values + 3 * cap + q);
    __m256 e1 = _mm256_cmp_ps(first, _mm256_set1_ps(-1.0f), _CMP_EQ_OQ);
    __m256 e2 = _mm256_cmp_ps(first, _mm256_set1_ps(-2.0f), _CMP_EQ_OQ);
    __m256 e3 = _mm256_cmp_ps(first, _mm256_set1_ps(-3.0f), _CMP_EQ_OQ);
    for (long j = 0; j < nb; j++) {
      const __m256 e0 = _mm256_cmp_ps(first, _mm256_set1_ps((float)j), _CMP_EQ_OQ);
      const __m256 v = _mm256_or_ps(
          _mm256_or_ps(_mm256_and_ps(b0, e0), _mm256_and_ps(b1, e1)),
          _mm256_or_ps(_mm256_and_ps(b2, e2), _mm256_and_ps(b3, e3)));
      _mm256_storeu_ps(basis0 + j * cap + q, v);
      e3 = e2;
      e2 = e1;
      e1 = e0;
    }
  }
}

LAMINA_KAN_KERNEL void lamina_kan_cubic_dx(
    long count, long nb, const float *fb, const float *d, const float *sd, const float *g,
    long cap, float *dx, long dx_stride) {
  // Column by column (contiguous loads, no gathers): column j takes derivative t = j - fb
  // when 0 <= t <= 3, and lanes without a term keep their total (the term is skipped, not
  // added as a zero), so each lane sums the same terms in the same order as the loop.
  const float *g0 = g + cap;
  for (long q = 0; q < count; q += 8) {
    __m256 total = _mm256_mul_ps(_mm256_loadu_ps(sd + q), _mm256_loadu_ps(g + q));
    const __m256 first = _mm256_loadu_ps(fb + q);
    const __m256 d0 = _mm256_loadu_ps(d + q), d1 = _mm256_loadu_ps(d + cap + q);
    const __m256 d2 = _mm256_loadu_ps(d + 2 * cap + q), d3 = _mm256_loadu_ps(d + 3 * cap + q);
    __m256 e1 = _mm256_cmp_ps(first, _mm256_set1_ps(-1.0f), _CMP_EQ_OQ);
    __m256 e2 = _mm256_cmp_ps(first, _mm256_set1_ps(-2.0f), _CMP_EQ_OQ);
    __m256 e3 = _mm256_cmp_ps(first, _mm256_set1_ps(-3.0f), _CMP_EQ_OQ);
    for (long j = 0; j < nb; j++) {
      const __m256 e0 = _mm256_cmp_ps(first, _mm256_set1_ps((float)j), _CMP_EQ_OQ);
      const __m256 any = _mm256_or_ps(_mm256_or_ps(e0, e1), _mm256_or_ps(e2, e3));
      const __m256 dv = _mm256_or_ps(
          _mm256_or_ps(_mm256_and_ps(d0, e0), _mm256_and_ps(d1, e1)),
          _mm256_or_ps(_mm256_and_ps(d2, e2), _mm256_and_ps(d3, e3)));
      const __m256 sum = _mm256_add_ps(total, _mm256_mul_ps(dv, _mm256_loadu_ps(g0 + j * cap + q)));
      total = _mm256_blendv_ps(total, sum, any);
      e3 = e2;
      e2 = e1;
      e1 = e0;
    }
    float out[8];
    _mm256_storeu_ps(out, total);
    const long n = count - q < 8 ? count - q : 8;
    for (long l = 0; l < n; l++) dx[(q + l) * dx_stride] = out[l];
  }
}

/// dyT[o * ld + q] = dy[q * n_out + o] for q < count, 0 for q in count ..< padded.
static LAMINA_KAN_KERNEL void lamina__kan_transpose(long count, long padded, long n_out,
                                                   const float *dy, float *dyT, long ld) {
  for (long o = 0; o < n_out; o++) {
    for (long q = 0; q < count; q++) dyT[o * ld + q] = dy[q * n_out + o];
    for (long q = count; q < padded; q++) dyT[o * ld + q] = 0;
  }
}

/// The eight lanes' mask of rows q ..< count.
static inline __attribute__((always_inline, target("avx2,fma"))) __m256i lamina__kan_rows(
    long q, long count) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const long left = count - q;
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(left > 8 ? 8 : left)), lanes);
}

static inline __attribute__((always_inline, target("avx2,fma"))) void lamina__kan_forward_tile(
    const int O, long count, long width, const float *a, long lda, const float *w, float *y) {
  for (long q = 0; q < count; q += 8) {
    const __m256i rows = lamina__kan_rows(q, count);
    __m256 acc[12];
    _Pragma("clang loop unroll(full)")
    for (int o = 0; o < O; o++) acc[o] = _mm256_setzero_ps();
    for (long c = 0; c < width; c++) {
      const __m256 av = _mm256_maskload_ps(a + c * lda + q, rows);
      _Pragma("clang loop unroll(full)")
      for (int o = 0; o < O; o++)
        acc[o] = _mm256_fmadd_ps(av, _mm256_broadcast_ss(w + c * O + o), acc[o]);
    }
    float out[12][8];
    _Pragma("clang loop unroll(full)")
    for (int o = 0; o < O; o++) _mm256_storeu_ps(out[o], acc[o]);
    const long n = count - q < 8 ? count - q : 8;
    for (long l = 0; l < n; l++) {
      _Pragma("clang loop unroll(full)")
      for (int o = 0; o < O; o++) y[(q + l) * O + o] = out[o][l];
    }
  }
}

LAMINA_KAN_KERNEL void lamina_kan_dense_forward_small(
    long count, long width, long n_out, const float *a, long lda, const float *w, float *y) {
  switch (n_out) {
#define LAMINA_KAN_CASE(O) \
  case O: lamina__kan_forward_tile(O, count, width, a, lda, w, y); break;
    LAMINA_KAN_CASE(1) LAMINA_KAN_CASE(2) LAMINA_KAN_CASE(3) LAMINA_KAN_CASE(4)
    LAMINA_KAN_CASE(5) LAMINA_KAN_CASE(6) LAMINA_KAN_CASE(7) LAMINA_KAN_CASE(8)
    LAMINA_KAN_CASE(9) LAMINA_KAN_CASE(10) LAMINA_KAN_CASE(11) LAMINA_KAN_CASE(12)
#undef LAMINA_KAN_CASE
    default: break;
  }
}

static inline __attribute__((always_inline, target("avx2,fma"))) void lamina__kan_sums_tile(
    const int O, long count, long width, const float *a, long lda, const float *dyT, long ld,
    float *sums, int accumulate) {
  for (long c = 0; c < width; c++) {
    __m256 acc[12];
    _Pragma("clang loop unroll(full)")
    for (int o = 0; o < O; o++) acc[o] = _mm256_setzero_ps();
    const float *row = a + c * lda;
    long q = 0;
    for (; q + 8 <= count; q += 8) {
      const __m256 av = _mm256_loadu_ps(row + q);
      _Pragma("clang loop unroll(full)")
      for (int o = 0; o < O; o++)
        acc[o] = _mm256_fmadd_ps(av, _mm256_loadu_ps(dyT + o * ld + q), acc[o]);
    }
    if (q < count) {
      const __m256 av = _mm256_maskload_ps(row + q, lamina__kan_rows(q, count));
      _Pragma("clang loop unroll(full)")
      for (int o = 0; o < O; o++)
        acc[o] = _mm256_fmadd_ps(av, _mm256_loadu_ps(dyT + o * ld + q), acc[o]);
    }
    _Pragma("clang loop unroll(full)")
    for (int o = 0; o < O; o++) {
      // Lanes added pairwise in a fixed order.
      const __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc[o]), _mm256_extractf128_ps(acc[o], 1));
      const __m128 h2 = _mm_add_ps(h, _mm_movehl_ps(h, h));
      const float total = _mm_cvtss_f32(_mm_add_ss(h2, _mm_shuffle_ps(h2, h2, 1)));
      sums[c * O + o] = accumulate ? sums[c * O + o] + total : total;
    }
  }
}

LAMINA_KAN_KERNEL void lamina_kan_dense_sums_small(
    long count, long width, long n_out, const float *a, long lda, const float *dy, float *sums,
    int accumulate, float *scratch) {
  const long padded = (count + 7) & ~7L;
  lamina__kan_transpose(count, padded, n_out, dy, scratch, padded);
  switch (n_out) {
#define LAMINA_KAN_CASE(O) \
  case O: lamina__kan_sums_tile(O, count, width, a, lda, scratch, padded, sums, accumulate); break;
    LAMINA_KAN_CASE(1) LAMINA_KAN_CASE(2) LAMINA_KAN_CASE(3) LAMINA_KAN_CASE(4)
    LAMINA_KAN_CASE(5) LAMINA_KAN_CASE(6) LAMINA_KAN_CASE(7) LAMINA_KAN_CASE(8)
    LAMINA_KAN_CASE(9) LAMINA_KAN_CASE(10) LAMINA_KAN_CASE(11) LAMINA_KAN_CASE(12)
#undef LAMINA_KAN_CASE
    default: break;
  }
}

static inline __attribute__((always_inline, target("avx2,fma"))) void lamina__kan_input_tile(
    const int O, long padded, long width, const float *w, const float *dyT, float *dA, long lda) {
  for (long q = 0; q < padded; q += 8) {
    __m256 g[12];
    _Pragma("clang loop unroll(full)")
    for (int o = 0; o < O; o++) g[o] = _mm256_loadu_ps(dyT + o * padded + q);
    for (long c = 0; c < width; c++) {
      __m256 acc = _mm256_mul_ps(_mm256_broadcast_ss(w + c * O), g[0]);
      _Pragma("clang loop unroll(full)")
      for (int o = 1; o < O; o++) acc = _mm256_fmadd_ps(_mm256_broadcast_ss(w + c * O + o), g[o], acc);
      _mm256_storeu_ps(dA + c * lda + q, acc);
    }
  }
}

LAMINA_KAN_KERNEL void lamina_kan_dense_input_small(
    long count, long width, long n_out, const float *w, const float *dy, float *dA, long lda,
    float *scratch) {
  const long padded = (count + 7) & ~7L;
  lamina__kan_transpose(count, padded, n_out, dy, scratch, padded);
  switch (n_out) {
#define LAMINA_KAN_CASE(O) \
  case O: lamina__kan_input_tile(O, padded, width, w, scratch, dA, lda); break;
    LAMINA_KAN_CASE(1) LAMINA_KAN_CASE(2) LAMINA_KAN_CASE(3) LAMINA_KAN_CASE(4)
    LAMINA_KAN_CASE(5) LAMINA_KAN_CASE(6) LAMINA_KAN_CASE(7) LAMINA_KAN_CASE(8)
    LAMINA_KAN_CASE(9) LAMINA_KAN_CASE(10) LAMINA_KAN_CASE(11) LAMINA_KAN_CASE(12)
#undef LAMINA_KAN_CASE
    default: break;
  }
}

#undef LAMINA_KAN_KERNEL

#else
// No AVX2 kernels on this architecture: never called (`lamina_cpu_has_avx2_fma` is 0).

long lamina_kan_cubic_uniform(
    long count, long padded, const float *x, float first, float last, float inv, long m,
    const float *t, const float *widths, long *interval, float *fb, float *u, float *w,
    float *values, float *derivatives, long cap) {
  (void)count; (void)padded; (void)x; (void)first; (void)last; (void)inv; (void)m; (void)t;
  (void)widths; (void)interval; (void)fb; (void)u; (void)w; (void)values; (void)derivatives;
  (void)cap;
  return 0;
}

void lamina_kan_cubic_scatter(
    long padded, long nb, const float *fb, const float *values, long cap, float *region) {
  (void)padded; (void)nb; (void)fb; (void)values; (void)cap; (void)region;
}

void lamina_kan_cubic_dx(
    long count, long nb, const float *fb, const float *d, const float *sd, const float *g,
    long cap, float *dx, long dx_stride) {
  (void)count; (void)nb; (void)fb; (void)d; (void)sd; (void)g; (void)cap; (void)dx;
  (void)dx_stride;
}

void lamina_kan_dense_forward_small(
    long count, long width, long n_out, const float *a, long lda, const float *w, float *y) {
  (void)count; (void)width; (void)n_out; (void)a; (void)lda; (void)w; (void)y;
}

void lamina_kan_dense_sums_small(
    long count, long width, long n_out, const float *a, long lda, const float *dy, float *sums,
    int accumulate, float *scratch) {
  (void)count; (void)width; (void)n_out; (void)a; (void)lda; (void)dy; (void)sums;
  (void)accumulate; (void)scratch;
}

void lamina_kan_dense_input_small(
    long count, long width, long n_out, const float *w, const float *dy, float *dA, long lda,
    float *scratch) {
  (void)count; (void)width; (void)n_out; (void)w; (void)dy; (void)dA; (void)lda; (void)scratch;
}

#endif
