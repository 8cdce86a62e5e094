// Private shim: OpenBLAS's CBLAS interface plus the Fortran LAPACK symbols Lamina uses.
// Debian's libopenblas-dev ships no lapacke.h, so the prototypes are declared here.
#ifndef LAMINA_CBLAS_SHIM_H
#define LAMINA_CBLAS_SHIM_H
#include <cblas.h>

/// Minimum-norm least squares by SVD (rank revealing). Fortran calling convention.
void sgelsd_(const int *m, const int *n, const int *nrhs, float *a, const int *lda, float *b,
             const int *ldb, float *s, const float *rcond, int *rank, float *work,
             const int *lwork, int *iwork, int *info);

/// glibc's sched_getaffinity under another name: its declaration in <sched.h> needs
/// _GNU_SOURCE, which Swift's Glibc module is not built with. `mask` is a cpu_set_t.
extern int lamina_sched_getaffinity(int pid, unsigned long size, void *mask)
    __asm__("sched_getaffinity");

/// A spin-wait hint to the core (x86 `pause`, Arm `yield`) for Lamina's worker pool, so a
/// spinning thread yields its pipeline to a hyper-threaded sibling. Here because Swift
/// cannot call the compiler builtin, and `_mm_pause` is not inlined in debug builds.
static inline void lamina_spin_hint(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/// The calling thread's floating-point control bits: rounding mode and flush-to-zero /
/// denormals-are-zero (x86 MXCSR without its sticky exception flags; Arm FPCR), 0 where
/// unknown. Lamina's worker pool copies the caller's bits to the threads that run its tasks,
/// so a host that sets flush-to-zero gets the same results on one core as on several.
static inline unsigned long lamina_float_control(void) {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_ia32_stmxcsr() & ~0x3Fu;
#elif defined(__aarch64__)
  unsigned long fpcr;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
  return fpcr;
#else
  return 0;
#endif
}

/// Sets the calling thread's floating-point control bits to `bits` from
/// `lamina_float_control` (clearing x86's sticky exception flags).
static inline void lamina_set_float_control(unsigned long bits) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_ldmxcsr((unsigned)bits & ~0x3Fu);
#elif defined(__aarch64__)
  __asm__ __volatile__("msr fpcr, %0" : : "r"(bits));
#else
  (void)bits;
#endif
}
#endif
