// Lamina's small-product sgemm (see gemm.h for the contract).
//
// Most products are computed in "broadcast" form: a register tile of up to 6 rows by 16
// columns of C, where each step over p broadcasts one value of op(A) per row and multiplies
// it into one or two 8-float vectors of a row of op(B). Every element then has its own
// accumulator, summed in order of p. Which operand plays which part depends on the
// transposes, so that the vector loads are always contiguous:
//   A B      rows of A broadcast, rows of B loaded;
//   A^T B    columns of A broadcast, rows of B loaded;
//   A^T B^T  computed as its transpose B A (rows of B broadcast, rows of A loaded) and
//            stored transposed; so is A^T B with fewer than 8 columns;
//   A B^T    with k <= 64, op(B) is copied into a 16-column panel on the stack, then as A B.
// Where a tile would be mostly padding or the panel would not fit (A B^T with fewer than 8
// columns or k > 64, A B with one contiguous column), each element is a dot product of a
// row of A and a row of op(B)^T in eight lanes.
#include "gemm.h"

#include <stddef.h>

// Every fused multiply-add below is written out; the compiler must not fuse the others
// (alpha times the sum plus beta C), or the kernels' results would depend on the compiler.
#pragma clang fp contract(off)

/// alpha * sum + beta * *c, with *c read only when beta is not 0 (as BLAS).
static inline float lamina__gemm_finish(float sum, float alpha, float beta, const float *c) {
  float t = alpha * sum;
  if (beta != 0) {
    float s = beta * *c;
    t = t + s;
  }
  return t;
}

void lamina_kernel_sgemm_portable(int trans_a, int trans_b, long m, long n, long k,
                                  float alpha, const float *a, long lda, const float *b,
                                  long ldb, float beta, float *c, long ldc) {
  enum { W = 64 };
  float acc[W];
  for (long i = 0; i < m; i++) {
    for (long j0 = 0; j0 < n; j0 += W) {
      long w = n - j0 < W ? n - j0 : W;
      for (long jj = 0; jj < w; jj++) acc[jj] = 0;
      for (long p = 0; p < k; p++) {
        float x = trans_a ? a[p * lda + i] : a[i * lda + p];
        if (trans_b) {
          for (long jj = 0; jj < w; jj++) {
            float t = x * b[(j0 + jj) * ldb + p];
            acc[jj] = acc[jj] + t;
          }
        } else {
          const float *row = b + p * ldb + j0;
          for (long jj = 0; jj < w; jj++) {
            float t = x * row[jj];
            acc[jj] = acc[jj] + t;
          }
        }
      }
      float *ci = c + i * ldc + j0;
      for (long jj = 0; jj < w; jj++) ci[jj] = lamina__gemm_finish(acc[jj], alpha, beta, ci + jj);
    }
  }
}

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

#define LAMINA_GEMM_INLINE static inline __attribute__((always_inline, target("avx2,fma")))
#define LAMINA_GEMM_KERNEL static __attribute__((target("avx2,fma")))

enum {
  /// Rows and 8-float vectors of one broadcast-form register tile (12 accumulators).
  LAMINA_GEMM_ROWS = 6,
  LAMINA_GEMM_VECTORS = 2,
  LAMINA_GEMM_PANEL = 8 * LAMINA_GEMM_VECTORS,
  /// Longest k for which A B^T copies op(B) into a stack panel (16 x 64 floats, 4 KB).
  LAMINA_GEMM_PACK_K = 64,
  /// Rows of A and of B of one dot-product register tile (12 accumulators).
  LAMINA_GEMM_DOT_ROWS = 4,
  LAMINA_GEMM_DOT_COLUMNS = 3,
};

/// Lanes 0 ..< n (n in 1...8).
LAMINA_GEMM_INLINE __m256i lamina__gemm_mask(long n) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), lanes);
}

/// One broadcast-form tile: sum[r][8 q + lane] = sum_p s[r * s_r + p * s_p] *
/// v[p * v_p + 8 q + lane] for r < R, q < V; the last vector loads only the lanes of `last`
/// (the others read as 0) unless FULL. With `out`, the sums go there (row r at out[r]);
/// otherwise they are finished into C (row r at c + r * ldc; the last vector's store masked
/// by `last` unless FULL). Inlined into one small function per (R, V, FULL), so that its
/// accumulators, row pointers and strides all stay in registers.
LAMINA_GEMM_INLINE void lamina__gemm_tile(const long R, const long V, const int FULL, long k,
                                          const float *s, long s_r, long s_p, const float *v,
                                          long v_p, __m256i last, float alpha, float beta,
                                          float *c, long ldc,
                                          float (*out)[LAMINA_GEMM_PANEL]) {
  __m256 acc[LAMINA_GEMM_ROWS][LAMINA_GEMM_VECTORS];
  const float *rows[LAMINA_GEMM_ROWS];
  for (long r = 0; r < R; r++) {
    rows[r] = s + r * s_r;
    for (long q = 0; q < V; q++) acc[r][q] = _mm256_setzero_ps();
  }
  long offset = 0;
  for (long p = 0; p < k; p++, offset += s_p, v += v_p) {
    __m256 x[LAMINA_GEMM_VECTORS];
    for (long q = 0; q < V; q++) {
      x[q] = (FULL || q < V - 1) ? _mm256_loadu_ps(v + 8 * q) : _mm256_maskload_ps(v + 8 * q, last);
    }
    for (long r = 0; r < R; r++) {
      const __m256 y = _mm256_broadcast_ss(rows[r] + offset);
      for (long q = 0; q < V; q++) acc[r][q] = _mm256_fmadd_ps(y, x[q], acc[r][q]);
    }
  }
  if (out) {
    for (long r = 0; r < R; r++)
      for (long q = 0; q < V; q++) _mm256_storeu_ps(out[r] + 8 * q, acc[r][q]);
    return;
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  for (long r = 0; r < R; r++) {
    float *cr = c + r * ldc;
    for (long q = 0; q < V; q++) {
      const int whole = FULL || q < V - 1;
      __m256 t = _mm256_mul_ps(va, acc[r][q]);
      if (beta != 0) {
        const __m256 old = whole ? _mm256_loadu_ps(cr + 8 * q) : _mm256_maskload_ps(cr + 8 * q, last);
        t = _mm256_add_ps(t, _mm256_mul_ps(vb, old));
      }
      if (whole) _mm256_storeu_ps(cr + 8 * q, t);
      else _mm256_maskstore_ps(cr + 8 * q, last, t);
    }
  }
}

/// The broadcast-form tile for one (R, V, FULL); `lamina__gemm_tiles` lists them all.
typedef void (*lamina__gemm_tile_fn)(long k, const float *s, long s_r, long s_p,
                                     const float *v, long v_p, __m256i last, float alpha,
                                     float beta, float *c, long ldc,
                                     float (*out)[LAMINA_GEMM_PANEL]);

#define LAMINA_GEMM_TILE(RR, VV, FF)                                                        \
  LAMINA_GEMM_KERNEL void lamina__gemm_tile_##RR##_##VV##_##FF(                             \
      long k, const float *s, long s_r, long s_p, const float *v, long v_p, __m256i last,   \
      float alpha, float beta, float *c, long ldc, float (*out)[LAMINA_GEMM_PANEL]) {       \
    lamina__gemm_tile(RR, VV, FF, k, s, s_r, s_p, v, v_p, last, alpha, beta, c, ldc, out);  \
  }
#define LAMINA_GEMM_TILES(RR) \
  LAMINA_GEMM_TILE(RR, 1, 0) LAMINA_GEMM_TILE(RR, 1, 1) LAMINA_GEMM_TILE(RR, 2, 0) LAMINA_GEMM_TILE(RR, 2, 1)
LAMINA_GEMM_TILES(1)
LAMINA_GEMM_TILES(2)
LAMINA_GEMM_TILES(3)
LAMINA_GEMM_TILES(4)
LAMINA_GEMM_TILES(5)
LAMINA_GEMM_TILES(6)
#undef LAMINA_GEMM_TILES
#undef LAMINA_GEMM_TILE

/// lamina__gemm_tiles[R - 1][V - 1][FULL].
#define LAMINA_GEMM_ENTRY(RR) \
  {{lamina__gemm_tile_##RR##_1_0, lamina__gemm_tile_##RR##_1_1}, \
   {lamina__gemm_tile_##RR##_2_0, lamina__gemm_tile_##RR##_2_1}}
static const lamina__gemm_tile_fn lamina__gemm_tiles[LAMINA_GEMM_ROWS][2][2] = {
    LAMINA_GEMM_ENTRY(1), LAMINA_GEMM_ENTRY(2), LAMINA_GEMM_ENTRY(3),
    LAMINA_GEMM_ENTRY(4), LAMINA_GEMM_ENTRY(5), LAMINA_GEMM_ENTRY(6),
};
#undef LAMINA_GEMM_ENTRY

/// Finishes a tile of R rows by `width` columns whose sums are in `out` into C stored
/// transposed: row r, column j at c[j * ldc + r].
static void lamina__gemm_store_transposed(long R, long width,
                                          float out[LAMINA_GEMM_ROWS][LAMINA_GEMM_PANEL],
                                          float alpha, float beta, float *c, long ldc) {
  for (long r = 0; r < R; r++) {
    for (long j = 0; j < width; j++) {
      float *cij = c + j * ldc + r;
      *cij = lamina__gemm_finish(out[r][j], alpha, beta, cij);
    }
  }
}

/// C (rows x cols, or its transpose) from broadcast-form tiles: s gives the rows (row r,
/// step p at s[r * s_r + p * s_p]), v the columns (step p, column j at v[p * v_p + j]).
/// With `pack_b`, v is instead read transposed (v[j * v_p + p]) and copied a panel at a
/// time into a stack buffer; then k must be at most LAMINA_GEMM_PACK_K.
LAMINA_GEMM_KERNEL void lamina__gemm_broadcast(long rows, long cols, long k, const float *s,
                                               long s_r, long s_p, const float *v, long v_p,
                                               int pack_b, float alpha, float beta, float *c,
                                               long ldc, int transposed) {
  float panel[LAMINA_GEMM_PANEL * LAMINA_GEMM_PACK_K];
  float out[LAMINA_GEMM_ROWS][LAMINA_GEMM_PANEL];
  for (long j = 0; j < cols; j += LAMINA_GEMM_PANEL) {
    const long width = cols - j < LAMINA_GEMM_PANEL ? cols - j : LAMINA_GEMM_PANEL;
    const float *vj = v + j;
    long vj_p = v_p;
    if (pack_b) {
      for (long p = 0; p < k; p++) {
        for (long jj = 0; jj < LAMINA_GEMM_PANEL; jj++) {
          panel[p * LAMINA_GEMM_PANEL + jj] = jj < width ? v[(j + jj) * v_p + p] : 0.0f;
        }
      }
      vj = panel;
      vj_p = LAMINA_GEMM_PANEL;
    }
    const long vectors = width > 8 ? 2 : 1;
    const int full = width == 8 * vectors;
    const __m256i last = lamina__gemm_mask(width - 8 * (vectors - 1));
    for (long i = 0; i < rows; i += LAMINA_GEMM_ROWS) {
      const long R = rows - i < LAMINA_GEMM_ROWS ? rows - i : LAMINA_GEMM_ROWS;
      float *ct = transposed ? c + j * ldc + i : c + i * ldc + j;
      lamina__gemm_tiles[R - 1][vectors - 1][full](k, s + i * s_r, s_r, s_p, vj, vj_p, last,
                                                   alpha, beta, ct, ldc,
                                                   transposed ? out : NULL);
      if (transposed) lamina__gemm_store_transposed(R, width, out, alpha, beta, ct, ldc);
    }
  }
}

/// The eight lanes of v added in a fixed tree: (l + l+4), then (+2), then (+1).
LAMINA_GEMM_INLINE float lamina__gemm_hsum(__m256 v) {
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
  return _mm_cvtss_f32(h);
}

/// One dot-product tile: out[r][q] = sum_p a[r * lda + p] * b[q * ldb + p] for r < R,
/// q < Q, term p in lane p mod 8 (the last partial vector masked), lanes added by `hsum`.
LAMINA_GEMM_INLINE void lamina__gemm_dot_tile(const long R, const long Q, long k,
                                              const float *a, long lda, const float *b,
                                              long ldb,
                                              float out[LAMINA_GEMM_DOT_ROWS]
                                                       [LAMINA_GEMM_DOT_COLUMNS]) {
  __m256 acc[LAMINA_GEMM_DOT_ROWS][LAMINA_GEMM_DOT_COLUMNS];
  for (long r = 0; r < R; r++)
    for (long q = 0; q < Q; q++) acc[r][q] = _mm256_setzero_ps();
  long p = 0;
  for (; p + 8 <= k; p += 8) {
    __m256 y[LAMINA_GEMM_DOT_COLUMNS];
    for (long q = 0; q < Q; q++) y[q] = _mm256_loadu_ps(b + q * ldb + p);
    for (long r = 0; r < R; r++) {
      const __m256 x = _mm256_loadu_ps(a + r * lda + p);
      for (long q = 0; q < Q; q++) acc[r][q] = _mm256_fmadd_ps(x, y[q], acc[r][q]);
    }
  }
  if (p < k) {
    const __m256i mask = lamina__gemm_mask(k - p);
    __m256 y[LAMINA_GEMM_DOT_COLUMNS];
    for (long q = 0; q < Q; q++) y[q] = _mm256_maskload_ps(b + q * ldb + p, mask);
    for (long r = 0; r < R; r++) {
      const __m256 x = _mm256_maskload_ps(a + r * lda + p, mask);
      for (long q = 0; q < Q; q++) acc[r][q] = _mm256_fmadd_ps(x, y[q], acc[r][q]);
    }
  }
  for (long r = 0; r < R; r++)
    for (long q = 0; q < Q; q++) out[r][q] = lamina__gemm_hsum(acc[r][q]);
}

/// C = alpha A B^T + beta C by dot products of rows of A (m x k) and rows of B (n x k).
LAMINA_GEMM_KERNEL void lamina__gemm_dots(long m, long n, long k, float alpha, const float *a,
                                          long lda, const float *b, long ldb, float beta,
                                          float *c, long ldc) {
  for (long j = 0; j < n; j += LAMINA_GEMM_DOT_COLUMNS) {
    const long Q = n - j < LAMINA_GEMM_DOT_COLUMNS ? n - j : LAMINA_GEMM_DOT_COLUMNS;
    const float *bj = b + j * ldb;
    for (long i = 0; i < m; i += LAMINA_GEMM_DOT_ROWS) {
      const long R = m - i < LAMINA_GEMM_DOT_ROWS ? m - i : LAMINA_GEMM_DOT_ROWS;
      const float *ai = a + i * lda;
      float out[LAMINA_GEMM_DOT_ROWS][LAMINA_GEMM_DOT_COLUMNS];
#define LAMINA_GEMM_DOT_CASE(RR)                                                           \
  case RR:                                                                                 \
    if (Q == 3) lamina__gemm_dot_tile(RR, 3, k, ai, lda, bj, ldb, out);                   \
    else if (Q == 2) lamina__gemm_dot_tile(RR, 2, k, ai, lda, bj, ldb, out);              \
    else lamina__gemm_dot_tile(RR, 1, k, ai, lda, bj, ldb, out);                          \
    break;
      switch (R) {
        LAMINA_GEMM_DOT_CASE(1)
        LAMINA_GEMM_DOT_CASE(2)
        LAMINA_GEMM_DOT_CASE(3)
        LAMINA_GEMM_DOT_CASE(4)
      }
#undef LAMINA_GEMM_DOT_CASE
      for (long r = 0; r < R; r++) {
        float *cr = c + (i + r) * ldc + j;
        for (long q = 0; q < Q; q++) cr[q] = lamina__gemm_finish(out[r][q], alpha, beta, cr + q);
      }
    }
  }
}

void lamina_kernel_sgemm_fma(int trans_a, int trans_b, long m, long n, long k, float alpha,
                             const float *a, long lda, const float *b, long ldb, float beta,
                             float *c, long ldc) {
  if (m <= 0 || n <= 0) return;
  if (!trans_a && ((trans_b && (k > LAMINA_GEMM_PACK_K || n < 8)) || (n == 1 && ldb == 1))) {
    // Rows of A against rows of B, or against B's one contiguous column: a tile of fewer
    // than 8 columns would be mostly padding, and with long k the panel would not fit.
    lamina__gemm_dots(m, n, k, alpha, a, lda, b, trans_b ? ldb : 0, beta, c, ldc);
  } else if (trans_a && (trans_b || n < 8)) {
    // op(A)^T = A has contiguous rows: C^T = op(B)^T A from rows of op(B)^T broadcast (B's
    // rows with trans_b, else its columns) and rows of A loaded, stored transposed.
    lamina__gemm_broadcast(n, m, k, b, trans_b ? ldb : 1, trans_b ? 1 : ldb, a, lda, 0, alpha,
                           beta, c, ldc, 1);
  } else if (!trans_b) {
    // Rows of op(A) broadcast: A's rows (s_r = lda, s_p = 1) or columns (1, lda).
    lamina__gemm_broadcast(m, n, k, a, trans_a ? 1 : lda, trans_a ? lda : 1, b, ldb, 0, alpha,
                           beta, c, ldc, 0);
  } else {
    // A B^T with short k: op(B) copied into panels.
    lamina__gemm_broadcast(m, n, k, a, lda, 1, b, ldb, 1, alpha, beta, c, ldc, 0);
  }
}

#else

void lamina_kernel_sgemm_fma(int trans_a, int trans_b, long m, long n, long k, float alpha,
                             const float *a, long lda, const float *b, long ldb, float beta,
                             float *c, long ldc) {
  // No AVX2/FMA kernels on this architecture; never called (see gemm.h), kept correct.
  lamina_kernel_sgemm_portable(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

#endif
