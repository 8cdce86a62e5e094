// The Dense layer's AVX2/FMA kernels (see dense.h for what each computes).
#include "dense.h"

// Every fused multiply-add below is written out; the compiler must not fuse the others.
#pragma clang fp contract(off)

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

#define LAMINA_DENSE_KERNEL __attribute__((target("avx2,fma")))
#define LAMINA_DENSE_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

/// A lane mask selecting lanes 0 ..< n (n in 1...8) for masked loads and stores.
LAMINA_DENSE_INLINE __m256i lamina__dense_mask(long n) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), lanes);
}

/// Stores the first `n` lanes of `v` (all eight when n >= 8).
LAMINA_DENSE_INLINE void lamina__dense_store(float *p, __m256 v, long n) {
  if (n >= 8) {
    _mm256_storeu_ps(p, v);
  } else {
    _mm256_maskstore_ps(p, lamina__dense_mask(n), v);
  }
}

/// max(v, 0) as Swift's `max(v, 0)` gives it: NaN stays NaN, -0 becomes +0.
LAMINA_DENSE_INLINE __m256 lamina__dense_relu(__m256 v) {
  return _mm256_and_ps(v, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NLE_UQ));
}

/// One register tile of `lamina_dense_rows_fma`: R rows (<= 6) by V vectors (<= 2) of 8
/// outputs, in R * V accumulators that start at the bias; each step over p broadcasts one
/// value of each row of A and multiplies it into V vectors of B.
LAMINA_DENSE_INLINE void lamina__dense_rows_tile(
    const int R, const int V, const float *a, long lda, long p_count, const float *b, long ldb,
    const float *bias, float *c, long ldc, float *act, long q_left) {
  __m256 acc[6][2];
  _Pragma("clang loop unroll(full)")
  for (int v = 0; v < V; v++) {
    const __m256 start = bias ? _mm256_loadu_ps(bias + 8 * v) : _mm256_setzero_ps();
    _Pragma("clang loop unroll(full)")
    for (int r = 0; r < R; r++) acc[r][v] = start;
  }
  for (long p = 0; p < p_count; p++) {
    __m256 bv[2];
    _Pragma("clang loop unroll(full)")
    for (int v = 0; v < V; v++) bv[v] = _mm256_loadu_ps(b + p * ldb + 8 * v);
    _Pragma("clang loop unroll(full)")
    for (int r = 0; r < R; r++) {
      const __m256 av = _mm256_broadcast_ss(a + r * lda + p);
      _Pragma("clang loop unroll(full)")
      for (int v = 0; v < V; v++) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
  _Pragma("clang loop unroll(full)")
  for (int r = 0; r < R; r++) {
    _Pragma("clang loop unroll(full)")
    for (int v = 0; v < V; v++) {
      lamina__dense_store(c + r * ldc + 8 * v, acc[r][v], q_left - 8 * v);
      if (act) {
        lamina__dense_store(act + r * ldc + 8 * v, lamina__dense_relu(acc[r][v]), q_left - 8 * v);
      }
    }
  }
}

/// Rows of one tile column (16 or fewer outputs) in tiles of 6 rows and the remainder.
LAMINA_DENSE_INLINE void lamina__dense_rows_column(
    const int V, long rows, const float *a, long lda, long p_count, const float *b, long ldb,
    const float *bias, float *c, long ldc, float *act, long q_left) {
  long r = 0;
  for (; r + 6 <= rows; r += 6) {
    lamina__dense_rows_tile(
        6, V, a + r * lda, lda, p_count, b, ldb, bias, c + r * ldc, ldc, act ? act + r * ldc : 0,
        q_left);
  }
  const float *ar = a + r * lda;
  float *cr = c + r * ldc;
  float *actr = act ? act + r * ldc : 0;
  switch (rows - r) {
  case 5: lamina__dense_rows_tile(5, V, ar, lda, p_count, b, ldb, bias, cr, ldc, actr, q_left); break;
  case 4: lamina__dense_rows_tile(4, V, ar, lda, p_count, b, ldb, bias, cr, ldc, actr, q_left); break;
  case 3: lamina__dense_rows_tile(3, V, ar, lda, p_count, b, ldb, bias, cr, ldc, actr, q_left); break;
  case 2: lamina__dense_rows_tile(2, V, ar, lda, p_count, b, ldb, bias, cr, ldc, actr, q_left); break;
  case 1: lamina__dense_rows_tile(1, V, ar, lda, p_count, b, ldb, bias, cr, ldc, actr, q_left); break;
  default: break;
  }
}

LAMINA_DENSE_KERNEL void lamina_dense_rows_fma(
    long rows, long p_count, long q_count, const float *a, long lda, const float *b, long ldb,
    const float *bias, float *c, long ldc, float *act) {
  // Rows in chunks whose A (about 24 KB) stays in L1 while every tile column passes over
  // it: 96 rows of 64 inputs, 48 of 128.
  long chunk = 24576 / (4 * (p_count > 0 ? p_count : 1)) / 6 * 6;
  chunk = chunk < 6 ? 6 : chunk > 96 ? 96 : chunk;
  for (long r0 = 0; r0 < rows; r0 += chunk) {
    const long m = rows - r0 < chunk ? rows - r0 : chunk;
    const float *ar = a + r0 * lda;
    float *cr = c + r0 * ldc;
    float *actr = act ? act + r0 * ldc : 0;
    for (long q0 = 0; q0 < q_count; q0 += 16) {
      const long left = q_count - q0;
      const float *bq = b + q0;
      const float *biasq = bias ? bias + q0 : 0;
      if (left > 8) {
        lamina__dense_rows_column(
            2, m, ar, lda, p_count, bq, ldb, biasq, cr + q0, ldc, actr ? actr + q0 : 0, left);
      } else {
        lamina__dense_rows_column(
            1, m, ar, lda, p_count, bq, ldb, biasq, cr + q0, ldc, actr ? actr + q0 : 0, left);
      }
    }
  }
}

/// The sum of the eight lanes of v.
LAMINA_DENSE_INLINE float lamina__dense_hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/// R rows (<= 4) of `lamina_dense_dot_fma`: each output a vector dot product along p.
LAMINA_DENSE_INLINE void lamina__dense_dot_tile(
    const int R, const float *a, long lda, long p_count, long q_count, const float *w, long ldw,
    const float *bias, float *c, long ldc, float *act) {
  const long whole = p_count & ~7L;
  const __m256i tail = lamina__dense_mask(p_count - whole);
  for (long q = 0; q < q_count; q++) {
    const float *wq = w + q * ldw;
    __m256 acc[4];
    _Pragma("clang loop unroll(full)")
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    long p = 0;
    for (; p < whole; p += 8) {
      const __m256 wv = _mm256_loadu_ps(wq + p);
      _Pragma("clang loop unroll(full)")
      for (int r = 0; r < R; r++) {
        acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(a + r * lda + p), wv, acc[r]);
      }
    }
    if (p < p_count) {
      const __m256 wv = _mm256_maskload_ps(wq + p, tail);
      _Pragma("clang loop unroll(full)")
      for (int r = 0; r < R; r++) {
        acc[r] = _mm256_fmadd_ps(_mm256_maskload_ps(a + r * lda + p, tail), wv, acc[r]);
      }
    }
    _Pragma("clang loop unroll(full)")
    for (int r = 0; r < R; r++) {
      const float z = lamina__dense_hsum(acc[r]) + (bias ? bias[q] : 0.0f);
      c[r * ldc + q] = z;
      // As Swift's max(z, 0): NaN stays, -0 becomes +0.
      if (act) act[r * ldc + q] = !(z <= 0.0f) ? z : 0.0f;
    }
  }
}

LAMINA_DENSE_KERNEL void lamina_dense_dot_fma(
    long rows, long p_count, long q_count, const float *a, long lda, const float *w, long ldw,
    const float *bias, float *c, long ldc, float *act) {
  long r = 0;
  for (; r + 4 <= rows; r += 4) {
    lamina__dense_dot_tile(
        4, a + r * lda, lda, p_count, q_count, w, ldw, bias, c + r * ldc, ldc,
        act ? act + r * ldc : 0);
  }
  const float *ar = a + r * lda;
  float *cr = c + r * ldc;
  float *actr = act ? act + r * ldc : 0;
  switch (rows - r) {
  case 3: lamina__dense_dot_tile(3, ar, lda, p_count, q_count, w, ldw, bias, cr, ldc, actr); break;
  case 2: lamina__dense_dot_tile(2, ar, lda, p_count, q_count, w, ldw, bias, cr, ldc, actr); break;
  case 1: lamina__dense_dot_tile(1, ar, lda, p_count, q_count, w, ldw, bias, cr, ldc, actr); break;
  default: break;
  }
}

/// One register tile of `lamina_dense_outer_fma`: R values of p (<= 6) by V vectors of q
/// (R * V <= 12), accumulated over all rows in registers, then added to (or stored in) C.
/// `masked`: the last vector covers only `q_left - 8 * (V - 1)` lanes of q.
LAMINA_DENSE_INLINE void lamina__dense_outer_tile(
    const int R, const int V, const int masked, long rows, const float *a, long lda,
    const float *b, long ldb, float *c, long ldc, int accumulate, long q_left) {
  __m256 acc[6][4];
  _Pragma("clang loop unroll(full)")
  for (int r = 0; r < R; r++) {
    _Pragma("clang loop unroll(full)")
    for (int v = 0; v < V; v++) acc[r][v] = _mm256_setzero_ps();
  }
  const __m256i mask = lamina__dense_mask(masked ? q_left - 8 * (V - 1) : 8);
  for (long i = 0; i < rows; i++) {
    const float *bi = b + i * ldb;
    __m256 bv[4];
    _Pragma("clang loop unroll(full)")
    for (int v = 0; v < V; v++) {
      bv[v] = (masked && v == V - 1) ? _mm256_maskload_ps(bi + 8 * v, mask)
                                     : _mm256_loadu_ps(bi + 8 * v);
    }
    const float *ai = a + i * lda;
    _Pragma("clang loop unroll(full)")
    for (int r = 0; r < R; r++) {
      const __m256 av = _mm256_broadcast_ss(ai + r);
      _Pragma("clang loop unroll(full)")
      for (int v = 0; v < V; v++) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
  _Pragma("clang loop unroll(full)")
  for (int r = 0; r < R; r++) {
    _Pragma("clang loop unroll(full)")
    for (int v = 0; v < V; v++) {
      float *cp = c + r * ldc + 8 * v;
      const long n = q_left - 8 * v;
      __m256 sum = acc[r][v];
      if (accumulate) {
        const __m256 old =
            n >= 8 ? _mm256_loadu_ps(cp) : _mm256_maskload_ps(cp, lamina__dense_mask(n));
        sum = _mm256_add_ps(old, sum);
      }
      lamina__dense_store(cp, sum, n);
    }
  }
}

/// The p tiles of one tile column of `lamina_dense_outer_fma` (V vectors of q).
LAMINA_DENSE_INLINE void lamina__dense_outer_column(
    const int V, const int masked, long rows, long p_count, const float *a, long lda,
    const float *b, long ldb, float *c, long ldc, int accumulate, long q_left) {
  // 12 accumulators: 6 p by 2 vectors, 3 by 4.
  const int tile = V > 2 ? 3 : 6;
  long p = 0;
  for (; p + tile <= p_count; p += tile) {
    if (V > 2) {
      lamina__dense_outer_tile(3, V, masked, rows, a + p, lda, b, ldb, c + p * ldc, ldc,
                               accumulate, q_left);
    } else {
      lamina__dense_outer_tile(6, V, masked, rows, a + p, lda, b, ldb, c + p * ldc, ldc,
                               accumulate, q_left);
    }
  }
  const float *ap = a + p;
  float *cp = c + p * ldc;
  switch (p_count - p) {
  case 5: lamina__dense_outer_tile(5, V, masked, rows, ap, lda, b, ldb, cp, ldc, accumulate, q_left); break;
  case 4: lamina__dense_outer_tile(4, V, masked, rows, ap, lda, b, ldb, cp, ldc, accumulate, q_left); break;
  case 3: lamina__dense_outer_tile(3, V, masked, rows, ap, lda, b, ldb, cp, ldc, accumulate, q_left); break;
  case 2: lamina__dense_outer_tile(2, V, masked, rows, ap, lda, b, ldb, cp, ldc, accumulate, q_left); break;
  case 1: lamina__dense_outer_tile(1, V, masked, rows, ap, lda, b, ldb, cp, ldc, accumulate, q_left); break;
  default: break;
  }
}

LAMINA_DENSE_KERNEL void lamina_dense_outer_fma(
    long rows, long p_count, long q_count, const float *a, long lda, const float *b, long ldb,
    float *c, long ldc, int accumulate) {
  const int wide = p_count <= 3;
  const long step = wide ? 32 : 16;
  for (long q0 = 0; q0 < q_count; q0 += step) {
    const long left = q_count - q0;
    const long vectors = left >= step ? step / 8 : (left + 7) / 8;
    const int masked = left < 8 * vectors;
    const float *bq = b + q0;
    float *cq = c + q0;
#define LAMINA__OUTER(V)                                                                   \
  do {                                                                                     \
    if (masked) {                                                                          \
      lamina__dense_outer_column(V, 1, rows, p_count, a, lda, bq, ldb, cq, ldc, accumulate, \
                                 left);                                                    \
    } else {                                                                               \
      lamina__dense_outer_column(V, 0, rows, p_count, a, lda, bq, ldb, cq, ldc, accumulate, \
                                 left);                                                    \
    }                                                                                      \
  } while (0)
    switch (vectors) {
    case 4: LAMINA__OUTER(4); break;
    case 3: LAMINA__OUTER(3); break;
    case 2: LAMINA__OUTER(2); break;
    default: LAMINA__OUTER(1); break;
    }
#undef LAMINA__OUTER
  }
}

LAMINA_DENSE_KERNEL void lamina_dense_colsum_fma(
    long rows, long q_count, const float *a, long lda, float *out, int accumulate) {
  for (long q = 0; q < q_count; q += 8) {
    const long n = q_count - q;
    const __m256i mask = lamina__dense_mask(n);
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    const float *aq = a + q;
    long i = 0;
    if (n >= 8) {
      for (; i + 4 <= rows; i += 4) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(aq + i * lda));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(aq + (i + 1) * lda));
        s2 = _mm256_add_ps(s2, _mm256_loadu_ps(aq + (i + 2) * lda));
        s3 = _mm256_add_ps(s3, _mm256_loadu_ps(aq + (i + 3) * lda));
      }
      for (; i < rows; i++) s0 = _mm256_add_ps(s0, _mm256_loadu_ps(aq + i * lda));
    } else {
      for (; i + 4 <= rows; i += 4) {
        s0 = _mm256_add_ps(s0, _mm256_maskload_ps(aq + i * lda, mask));
        s1 = _mm256_add_ps(s1, _mm256_maskload_ps(aq + (i + 1) * lda, mask));
        s2 = _mm256_add_ps(s2, _mm256_maskload_ps(aq + (i + 2) * lda, mask));
        s3 = _mm256_add_ps(s3, _mm256_maskload_ps(aq + (i + 3) * lda, mask));
      }
      for (; i < rows; i++) s0 = _mm256_add_ps(s0, _mm256_maskload_ps(aq + i * lda, mask));
    }
    __m256 sum = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    if (accumulate) {
      const __m256 old = n >= 8 ? _mm256_loadu_ps(out + q) : _mm256_maskload_ps(out + q, mask);
      sum = _mm256_add_ps(old, sum);
    }
    lamina__dense_store(out + q, sum, n);
  }
}

LAMINA_DENSE_KERNEL void lamina_dense_matvec_fma(
    long p_count, long q_count, const float *x, const float *w, long ldw, const float *bias,
    float *y) {
  const long whole = p_count & ~7L;
  const __m256i tail = lamina__dense_mask(p_count - whole);
  long q = 0;
  for (; q + 4 <= q_count; q += 4) {
    const float *w0 = w + q * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    long p = 0;
    for (; p < whole; p += 8) {
      const __m256 xv = _mm256_loadu_ps(x + p);
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + p), xv, a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + p), xv, a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + p), xv, a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + p), xv, a3);
    }
    if (p < p_count) {
      const __m256 xv = _mm256_maskload_ps(x + p, tail);
      a0 = _mm256_fmadd_ps(_mm256_maskload_ps(w0 + p, tail), xv, a0);
      a1 = _mm256_fmadd_ps(_mm256_maskload_ps(w1 + p, tail), xv, a1);
      a2 = _mm256_fmadd_ps(_mm256_maskload_ps(w2 + p, tail), xv, a2);
      a3 = _mm256_fmadd_ps(_mm256_maskload_ps(w3 + p, tail), xv, a3);
    }
    // Lanes of each accumulator summed pairwise: s holds the four sums of each half.
    const __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    __m128 r = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    if (bias) r = _mm_add_ps(r, _mm_loadu_ps(bias + q));
    _mm_storeu_ps(y + q, r);
  }
  if (q < q_count) {
    lamina_dense_dot_fma(1, p_count, q_count - q, x, p_count, w + q * ldw, ldw,
                         bias ? bias + q : 0, y + q, q_count - q, 0);
  }
}

#undef LAMINA_DENSE_KERNEL
#undef LAMINA_DENSE_INLINE

#else
// No AVX2/FMA kernels on this architecture: never called (`lamina_cpu_has_avx2_fma` is 0).

void lamina_dense_rows_fma(
    long rows, long p_count, long q_count, const float *a, long lda, const float *b, long ldb,
    const float *bias, float *c, long ldc, float *act) {
  (void)rows; (void)p_count; (void)q_count; (void)a; (void)lda; (void)b; (void)ldb;
  (void)bias; (void)c; (void)ldc; (void)act;
}

void lamina_dense_dot_fma(
    long rows, long p_count, long q_count, const float *a, long lda, const float *w, long ldw,
    const float *bias, float *c, long ldc, float *act) {
  (void)rows; (void)p_count; (void)q_count; (void)a; (void)lda; (void)w; (void)ldw;
  (void)bias; (void)c; (void)ldc; (void)act;
}

void lamina_dense_outer_fma(
    long rows, long p_count, long q_count, const float *a, long lda, const float *b, long ldb,
    float *c, long ldc, int accumulate) {
  (void)rows; (void)p_count; (void)q_count; (void)a; (void)lda; (void)b; (void)ldb;
  (void)c; (void)ldc; (void)accumulate;
}

void lamina_dense_colsum_fma(
    long rows, long q_count, const float *a, long lda, float *out, int accumulate) {
  (void)rows; (void)q_count; (void)a; (void)lda; (void)out; (void)accumulate;
}

void lamina_dense_matvec_fma(
    long p_count, long q_count, const float *x, const float *w, long ldw, const float *bias,
    float *y) {
  (void)p_count; (void)q_count; (void)x; (void)w; (void)ldw; (void)bias; (void)y;
}
#endif
