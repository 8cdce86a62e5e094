// The score grid of KAN symbolic regression (see symbolic.h). Every (a, b) is scored from
// three sums over the samples, taken in four interleaved partial sums in a fixed order (so
// the loops vectorize without reassociation, and a row gives the same bits whichever call
// computes it). Where f(a x + b) splits into per-a sample arrays and per-b constants
// (exp, sin, cos, tan, tanh, cosh, sigmoid), the per-a arrays are computed once per row and
// each (a, b) costs a few multiplies per sample instead of a transcendental call.
#include "symbolic.h"

#include <float.h>
#include <math.h>

// IEEE operations exactly as written: no fused multiply-adds.
#pragma clang fp contract(off)

double lamina_symbolic_value(int form, double u) {
  switch (form) {
  case LAMINA_SYM_X: return u;
  case LAMINA_SYM_X2: return u * u;
  case LAMINA_SYM_X3: return u * u * u;
  case LAMINA_SYM_X4: { const double q = u * u; return q * q; }
  case LAMINA_SYM_X5: { const double q = u * u; return q * q * u; }
  case LAMINA_SYM_INV: return 1 / u;
  case LAMINA_SYM_INV2: return 1 / (u * u);
  case LAMINA_SYM_INV3: return 1 / (u * u * u);
  case LAMINA_SYM_INV4: { const double q = u * u; return 1 / (q * q); }
  case LAMINA_SYM_INV5: { const double q = u * u; return 1 / (q * q * u); }
  case LAMINA_SYM_SQRT: return sqrt(u);
  case LAMINA_SYM_X1_5: { const double r = sqrt(u); return r * r * r; }
  case LAMINA_SYM_INVSQRT: return 1 / sqrt(u);
  case LAMINA_SYM_EXP: return exp(u);
  case LAMINA_SYM_LOG: return log(u);
  case LAMINA_SYM_ABS: return fabs(u);
  case LAMINA_SYM_SIN: return sin(u);
  case LAMINA_SYM_COS: return cos(u);
  case LAMINA_SYM_TAN: return tan(u);
  case LAMINA_SYM_TANH: return tanh(u);
  case LAMINA_SYM_SGN: return u > 0 ? 1 : u < 0 ? -1 : u == 0 ? 0 : u;
  case LAMINA_SYM_ARCSIN: return asin(u);
  case LAMINA_SYM_ARCCOS: return acos(u);
  case LAMINA_SYM_ARCTAN: return atan(u);
  case LAMINA_SYM_ARCTANH: return atanh(u);
  case LAMINA_SYM_ZERO: return u * 0;
  case LAMINA_SYM_GAUSSIAN: return exp(-(u * u));
  case LAMINA_SYM_COSH: return cosh(u);
  case LAMINA_SYM_SIGMOID: return 1 / (1 + exp(-u));
  default: return NAN;
  }
}

/// pykan's score from s1 = sum f, P = sum (f - mean)^2 and S = sum (f - mean) yc, or 0 where
/// its float32 arithmetic gives NaN or infinity.
static double lamina__symbolic_score(double s1, double P, double S, double syy) {
  if (!(isfinite(s1) && isfinite(P) && isfinite(S)) || fabs(s1) > FLT_MAX) return 0;
  const double den = P * syy;
  if (P > FLT_MAX || den > FLT_MAX) return 0;
  const double r = S * S / (den + 1e-4);
  return isfinite(r) ? r : 0;
}

typedef double lamina__v4d __attribute__((vector_size(32)));

/// Two passes of 4-lane partial sums (combined pairwise; the tail joins lane 0), as pykan
/// centres before it sums: s1 = sum F, then P = sum (F - mean)^2 and S = sum (F - mean) yc.
#define LAMINA_SYM_INLINE static inline __attribute__((always_inline))
LAMINA_SYM_INLINE void lamina__symbolic_sums(
    const double *F, const double *yc, long n, double *s1, double *P, double *S) {
  lamina__v4d p1 = {0, 0, 0, 0};
  long s = 0;
  for (; s + 4 <= n; s += 4) {
    lamina__v4d f;
    __builtin_memcpy(&f, F + s, sizeof f);
    p1 += f;
  }
  for (; s < n; s++) p1[0] += F[s];
  *s1 = (p1[0] + p1[1]) + (p1[2] + p1[3]);
  const double mean = *s1 / (double)n;
  lamina__v4d p2 = {0, 0, 0, 0}, p3 = {0, 0, 0, 0};
  for (s = 0; s + 4 <= n; s += 4) {
    lamina__v4d f, y;
    __builtin_memcpy(&f, F + s, sizeof f);
    __builtin_memcpy(&y, yc + s, sizeof y);
    f -= mean;
    p2 += f * f;
    p3 += f * y;
  }
  for (; s < n; s++) {
    p2[0] += (F[s] - mean) * (F[s] - mean);
    p3[0] += (F[s] - mean) * yc[s];
  }
  *P = (p2[0] + p2[1]) + (p2[2] + p2[3]);
  *S = (p3[0] + p3[1]) + (p3[2] + p3[3]);
}

/// exp(x) for x <= 0 (Cephes' double exp, as selects so that loops of it vectorize): 0
/// below -708, where the result would be subnormal (or 0).
LAMINA_SYM_INLINE double lamina__exp_nonpositive(double x) {
  const int under = x < -708.0;
  x = under ? 0.0 : x;
  const double shifted = x * 1.4426950408889634 + 6755399441055744.0;
  const double k = shifted - 6755399441055744.0;
  const double r = (x - k * 6.93145751953125e-1) - k * 1.42860682030941723212e-6;
  const double rr = r * r;
  const double px = r * ((1.26177193074810590878e-4 * rr + 3.02994407707441961300e-2) * rr +
                         9.99999999999999999910e-1);
  const double qx = ((3.00198505138664455042e-6 * rr + 2.52448340349684104192e-3) * rr +
                     2.27265548208155028766e-1) * rr + 2.00000000000000000009e0;
  const double e = 1.0 + 2.0 * (px / (qx - px));
  // k from the low mantissa bits of `shifted` (no double-to-int64 conversion, which AVX2
  // does not vectorize), then 2^k from its bits.
  long long kb;
  __builtin_memcpy(&kb, &shifted, sizeof kb);
  const long long bits = (kb - 0x4338000000000000LL + 1023) << 52;
  double scale;
  __builtin_memcpy(&scale, &bits, sizeof scale);
  return under ? 0.0 : e * scale;
}

/// atan(x) (Cephes' double atan, as selects so that loops of it vectorize).
LAMINA_SYM_INLINE double lamina__atan(double x) {
  const double ax = fabs(x);
  const int big = ax > 2.41421356237309504880, mid = !big && ax > 0.66;
  const double t = big ? -1.0 / ax : mid ? (ax - 1.0) / (ax + 1.0) : ax;
  const double y0 = big ? 1.57079632679489661923 : mid ? 0.78539816339744830962 : 0.0;
  const double z = t * t;
  const double p = (((-8.750608600031904122785e-1 * z - 1.615753718733365076637e1) * z -
                     7.500855792314704667340e1) * z - 1.228866684490136173410e2) * z -
                   6.485021904942025371773e1;
  const double q = ((((z + 2.485846490142306297962e1) * z + 1.650270098316988542046e2) * z +
                     4.328810604912902668951e2) * z + 4.853903996359136964868e2) * z +
                   1.945506571482613964425e2;
  double w = t * (z * p / q) + t;
  w += big ? 6.123233995736765886130e-17 : mid ? 0.5 * 6.123233995736765886130e-17 : 0.0;
  const double out = y0 + w;
  return x < 0 ? -out : out;
}

/// log(x) for x > 0 (as selects so that loops of it vectorize): x = m 2^e with m in
/// [sqrt(1/2), sqrt(2)), log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.172, by its
/// series to s^25 (the next term is below 2^-60 of the sum). Subnormal x are scaled first.
LAMINA_SYM_INLINE double lamina__log_positive(double x) {
  const int tiny = x < 2.2250738585072014e-308;
  const double xs = tiny ? x * 18014398509481984.0 : x;  // 2^54
  long long bits;
  __builtin_memcpy(&bits, &xs, sizeof bits);
  long long e = ((bits >> 52) & 0x7ff) - 1023;
  const long long mbits = (bits & 0x000fffffffffffffLL) | 0x3ff0000000000000LL;
  double m;
  __builtin_memcpy(&m, &mbits, sizeof m);
  const int high = m > 1.4142135623730951;
  m = high ? 0.5 * m : m;
  e = high ? e + 1 : e;
  const double s = (m - 1.0) / (m + 1.0), z = s * s;
  double p = 1.0 / 25;
  p = p * z + 1.0 / 23;
  p = p * z + 1.0 / 21;
  p = p * z + 1.0 / 19;
  p = p * z + 1.0 / 17;
  p = p * z + 1.0 / 15;
  p = p * z + 1.0 / 13;
  p = p * z + 1.0 / 11;
  p = p * z + 1.0 / 9;
  p = p * z + 1.0 / 7;
  p = p * z + 1.0 / 5;
  p = p * z + 1.0 / 3;
  const double lm = 2.0 * s + 2.0 * s * (z * p);
  // e as a double without an int64-to-double conversion (AVX2 has none): e + 1100 >= 0
  // placed in the mantissa of 2^52.
  const long long eb = (tiny ? e - 54 : e) + 1100 + 0x4330000000000000LL;
  double ed;
  __builtin_memcpy(&ed, &eb, sizeof ed);
  ed -= 4503599627371596.0;  // 2^52 + 1100
  // ln 2 in two parts: ed times the first is exact.
  return ed * 6.93145751953125e-1 + (lm + ed * 1.42860682030941723212e-6);
}

/// asin(x) for |x| <= 1, as atan(x / sqrt((1 - x)(1 + x))) (x / 0 = +-inf gives +-pi/2).
LAMINA_SYM_INLINE double lamina__asin(double x) {
  return lamina__atan(x / __builtin_elementwise_sqrt((1.0 - x) * (1.0 + x)));
}

/// acos(x) for |x| <= 1, as 2 atan(sqrt((1 - x) / (1 + x))) (x = -1 gives pi).
LAMINA_SYM_INLINE double lamina__acos(double x) {
  return 2.0 * lamina__atan(__builtin_elementwise_sqrt((1.0 - x) / (1.0 + x)));
}

/// atanh(x) for |x| < 1, as log((1 + x) / (1 - x)) / 2.
LAMINA_SYM_INLINE double lamina__atanh(double x) {
  return 0.5 * lamina__log_positive((1.0 + x) / (1.0 - x));
}

// Fills F[t] = EXPR for t < n, then sums it.
#define LAMINA_SYM_SUMS(EXPR)                                                               \
  do {                                                                                      \
    for (long t = 0; t < n; t++) F[t] = (EXPR);                                             \
    lamina__symbolic_sums(F, yc, n, &s1, &s2, &s3);                                         \
  } while (0)

// The direct forms: f of u = av x_t + bv.
#define LAMINA_SYM_DIRECT(EXPR) LAMINA_SYM_SUMS(({ const double u = av * x[t] + bv; (EXPR); }))

LAMINA_SYM_INLINE void lamina__symbolic_r2_rows(
    int form, const double *x, const double *yc, long n, double syy, double x_min,
    double x_max, const double *a, long rows, const double *b, long g, double *scratch,
    double *r2) {
  double *const U = scratch, *const V = scratch + n, *const F = scratch + 2 * n;
  for (long r = 0; r < rows; r++) {
    const double av = a[r];
    // Per-row sample arrays of the split forms.
    switch (form) {
    case LAMINA_SYM_EXP:
      for (long t = 0; t < n; t++) U[t] = exp(av * x[t]);
      break;
    case LAMINA_SYM_COSH:
      for (long t = 0; t < n; t++) {
        U[t] = exp(av * x[t]);
        V[t] = exp(-(av * x[t]));
      }
      break;
    case LAMINA_SYM_SIN:
    case LAMINA_SYM_COS:
    case LAMINA_SYM_TAN:
      for (long t = 0; t < n; t++) {
        U[t] = sin(av * x[t]);
        V[t] = cos(av * x[t]);
      }
      break;
    case LAMINA_SYM_TANH:
      for (long t = 0; t < n; t++) U[t] = exp(2 * (av * x[t]));
      break;
    case LAMINA_SYM_SIGMOID:
      for (long t = 0; t < n; t++) U[t] = exp(-(av * x[t]));
      break;
    default: break;
    }
    const double e1 = av * x_min, e2 = av * x_max;
    const double lo0 = e1 < e2 ? e1 : e2, hi0 = e1 < e2 ? e2 : e1;
    for (long k = 0; k < g; k++) {
      const double bv = b[k];
      const double lo = lo0 + bv, hi = hi0 + bv;
      double s1 = 0, s2 = 0, s3 = 0;
      int outside = 0;
      switch (form) {
      case LAMINA_SYM_X: LAMINA_SYM_DIRECT(u); break;
      case LAMINA_SYM_X2: LAMINA_SYM_DIRECT(u * u); break;
      case LAMINA_SYM_X3: LAMINA_SYM_DIRECT(u * u * u); break;
      case LAMINA_SYM_X4: LAMINA_SYM_DIRECT((u * u) * (u * u)); break;
      case LAMINA_SYM_X5: LAMINA_SYM_DIRECT((u * u) * (u * u) * u); break;
      case LAMINA_SYM_INV: LAMINA_SYM_DIRECT(1 / u); break;
      case LAMINA_SYM_INV2: LAMINA_SYM_DIRECT(1 / (u * u)); break;
      case LAMINA_SYM_INV3: LAMINA_SYM_DIRECT(1 / (u * u * u)); break;
      case LAMINA_SYM_INV4: LAMINA_SYM_DIRECT(1 / ((u * u) * (u * u))); break;
      case LAMINA_SYM_INV5: LAMINA_SYM_DIRECT(1 / ((u * u) * (u * u) * u)); break;
      case LAMINA_SYM_SQRT:
        if (lo < 0) outside = 1;
        else LAMINA_SYM_DIRECT(__builtin_elementwise_sqrt(u));
        break;
      case LAMINA_SYM_X1_5:
        if (lo < 0) outside = 1;
        else LAMINA_SYM_DIRECT(({ const double r = __builtin_elementwise_sqrt(u); r * r * r; }));
        break;
      case LAMINA_SYM_INVSQRT:
        if (lo <= 0) outside = 1;
        else LAMINA_SYM_DIRECT(1 / __builtin_elementwise_sqrt(u));
        break;
      case LAMINA_SYM_LOG:
        if (lo <= 0) outside = 1;
        else LAMINA_SYM_DIRECT(lamina__log_positive(u));
        break;
      case LAMINA_SYM_ABS: LAMINA_SYM_DIRECT(fabs(u)); break;
      case LAMINA_SYM_SGN: LAMINA_SYM_DIRECT(u > 0 ? 1.0 : u < 0 ? -1.0 : 0.0); break;
      case LAMINA_SYM_ARCSIN:
        if (lo < -1 || hi > 1) outside = 1;
        else LAMINA_SYM_DIRECT(lamina__asin(u));
        break;
      case LAMINA_SYM_ARCCOS:
        if (lo < -1 || hi > 1) outside = 1;
        else LAMINA_SYM_DIRECT(lamina__acos(u));
        break;
      case LAMINA_SYM_ARCTANH:
        if (lo <= -1 || hi >= 1) outside = 1;
        else LAMINA_SYM_DIRECT(lamina__atanh(u));
        break;
      case LAMINA_SYM_ARCTAN: LAMINA_SYM_DIRECT(lamina__atan(u)); break;
      case LAMINA_SYM_GAUSSIAN: LAMINA_SYM_DIRECT(lamina__exp_nonpositive(-(u * u))); break;
      case LAMINA_SYM_ZERO: break;
      case LAMINA_SYM_EXP: {
        const double eb = exp(bv);
        LAMINA_SYM_SUMS(U[t] * eb);
        break;
      }
      case LAMINA_SYM_COSH: {
        const double eb = exp(bv), emb = exp(-bv);
        LAMINA_SYM_SUMS(0.5 * (U[t] * eb + V[t] * emb));
        break;
      }
      case LAMINA_SYM_SIN: {
        const double cb = cos(bv), sb = sin(bv);
        LAMINA_SYM_SUMS(U[t] * cb + V[t] * sb);
        break;
      }
      case LAMINA_SYM_COS: {
        const double cb = cos(bv), sb = sin(bv);
        LAMINA_SYM_SUMS(V[t] * cb - U[t] * sb);
        break;
      }
      case LAMINA_SYM_TAN: {
        const double cb = cos(bv), sb = sin(bv);
        LAMINA_SYM_SUMS((U[t] * cb + V[t] * sb) / (V[t] * cb - U[t] * sb));
        break;
      }
      case LAMINA_SYM_TANH: {
        // tanh u = 1 - 2 / (1 + e^(2u)): e^(2u) = inf gives 1, 0 gives -1.
        const double eb = exp(2 * bv);
        LAMINA_SYM_SUMS(1 - 2 / (1 + U[t] * eb));
        break;
      }
      case LAMINA_SYM_SIGMOID: {
        const double eb = exp(-bv);
        LAMINA_SYM_SUMS(1 / (1 + U[t] * eb));
        break;
      }
      default: outside = 1; break;
      }
      r2[r * g + k] = outside ? 0 : lamina__symbolic_score(s1, s2, s3, syy);
    }
  }
}

#if defined(__x86_64__) && defined(__clang__)
#define LAMINA_SYM_AVX2 __attribute__((target("avx2")))
#else
#define LAMINA_SYM_AVX2
#endif

void lamina_symbolic_r2_rows(
    int form, const double *x, const double *yc, long n, double syy, double x_min,
    double x_max, const double *a, long rows, const double *b, long g, double *scratch,
    double *r2) {
  lamina__symbolic_r2_rows(form, x, yc, n, syy, x_min, x_max, a, rows, b, g, scratch, r2);
}

LAMINA_SYM_AVX2 void lamina_symbolic_r2_rows_avx2(
    int form, const double *x, const double *yc, long n, double syy, double x_min,
    double x_max, const double *a, long rows, const double *b, long g, double *scratch,
    double *r2) {
  lamina__symbolic_r2_rows(form, x, yc, n, syy, x_min, x_max, a, rows, b, g, scratch, r2);
}
