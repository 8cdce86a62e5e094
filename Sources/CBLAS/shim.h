// Private shim: OpenBLAS's CBLAS interface plus the Fortran LAPACK symbols Lamina uses.
// Debian's libopenblas-dev ships no lapacke.h, so the prototypes are declared here.
#ifndef LAMINA_CBLAS_SHIM_H
#define LAMINA_CBLAS_SHIM_H
#include <cblas.h>

/// Minimum-norm least squares by SVD (rank revealing). Fortran calling convention.
void sgelsd_(const int *m, const int *n, const int *nrhs, float *a, const int *lda, float *b,
             const int *ldb, float *s, const float *rcond, int *rank, float *work,
             const int *lwork, int *iwork, int *info);
#endif
