// Private shim, not API: the score grid of KAN symbolic regression (pykan's fit_params),
// the R^2 of y on f(a x + b) for every (a, b) of a grid, computed in double.
#ifndef LAMINA_SYMBOLIC_H
#define LAMINA_SYMBOLIC_H

#include "kernels.h"

/// The library functions the kernel evaluates, in SymbolicLibrary's order (the "x^0.5" and
/// "1/x^0.5" aliases use the "sqrt" and "1/sqrt(x)" forms).
enum lamina_symbolic_form {
  LAMINA_SYM_X, LAMINA_SYM_X2, LAMINA_SYM_X3, LAMINA_SYM_X4, LAMINA_SYM_X5,
  LAMINA_SYM_INV, LAMINA_SYM_INV2, LAMINA_SYM_INV3, LAMINA_SYM_INV4, LAMINA_SYM_INV5,
  LAMINA_SYM_SQRT, LAMINA_SYM_X1_5, LAMINA_SYM_INVSQRT, LAMINA_SYM_EXP, LAMINA_SYM_LOG,
  LAMINA_SYM_ABS, LAMINA_SYM_SIN, LAMINA_SYM_COS, LAMINA_SYM_TAN, LAMINA_SYM_TANH,
  LAMINA_SYM_SGN, LAMINA_SYM_ARCSIN, LAMINA_SYM_ARCCOS, LAMINA_SYM_ARCTAN,
  LAMINA_SYM_ARCTANH, LAMINA_SYM_ZERO, LAMINA_SYM_GAUSSIAN, LAMINA_SYM_COSH,
  LAMINA_SYM_SIGMOID, LAMINA_SYM_FORM_COUNT
};

/// f(u) for form `form`, the plain function as pykan's SYMBOLIC_LIB[name][0] (NaN outside
/// the domain: sqrt, log, arcsin, ... of arguments they do not take).
LAMINA_KERNEL_API double lamina_symbolic_value(int form, double u);

/// r2[r * g + k] = pykan's fit_params score of y on f(a[r] x + b[k]) over the n samples, for
/// r < rows and k < g:
///     S = sum_s (f_s - mean f) yc_s,  P = sum_s (f_s - mean f)^2,
///     r2 = S^2 / (P * syy + 1e-4),
/// with yc = y - mean y and syy = sum yc^2 given. 0 where pykan's float32 search gets NaN
/// and maps it to 0: a sample outside f's domain or at a pole (f NaN or infinite), or
/// P * syy (or P) beyond the float32 range. `x_min` and `x_max` are the extremes of x (they
/// decide the domain checks without a pass over the samples). `scratch` holds 3 n doubles.
/// Each r2 depends only on its own (a, b) and the samples, summed in a fixed order, so
/// splitting rows between calls gives the same values.
LAMINA_KERNEL_API void lamina_symbolic_r2_rows(
    int form, const double *x, const double *yc, long n, double syy, double x_min,
    double x_max, const double *a, long rows, const double *b, long g, double *scratch,
    double *r2);
/// `lamina_symbolic_r2_rows` for AVX2 CPUs (`lamina_cpu_has_avx2_fma`), with the same
/// results: the same IEEE operations in the same order, in more lanes at once.
LAMINA_KERNEL_API void lamina_symbolic_r2_rows_avx2(
    int form, const double *x, const double *yc, long n, double syy, double x_min,
    double x_max, const double *a, long rows, const double *b, long g, double *scratch,
    double *r2);

#endif
