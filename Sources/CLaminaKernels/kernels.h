// Private shim, not API: small C helpers the Swift core cannot express itself (prefetch
// hints, and kernels built for AVX2/FMA while the Swift code targets baseline x86-64,
// called only after `lamina_cpu_has_avx2_fma` says the CPU runs them).
//
// The kernels are defined in the target's .c files (kernels.c, dense.c, kan.c, triplane.c,
// gemm.c), not in these headers: SwiftPM rebuilds a C source when a header it includes
// changes, and the Swift code that calls a kernel is relinked against the new object. A
// kernel body in a header would be compiled into the Swift objects that import it, which
// SwiftPM does not rebuild when only the header changes. Clang never inlines an AVX2
// function into the baseline Swift code anyway, so each call was a call already. Only
// `lamina_prefetch` (one instruction, no target attribute) stays inline here.
#ifndef LAMINA_KERNELS_H
#define LAMINA_KERNELS_H

/// The kernels are internal to liblamina: never exported (the linker script exports
/// lamina_* symbols).
#define LAMINA_KERNEL_API __attribute__((visibility("hidden")))

/// Asks the CPU to start loading the cache line holding `p` (for reading) without waiting
/// for it. A hint only: it never faults, so any address may be passed.
static inline void lamina_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

/// 1 when the CPU has AVX2 and FMA and the OS saves the AVX registers, else 0 (always 0
/// where the kernels are not built: other architectures, compilers other than clang).
LAMINA_KERNEL_API int lamina_cpu_has_avx2_fma(void);

/// out[k] = fma(p3[k], w3, fma(p2[k], w2, fma(p1[k], w1, p0[k] * w0))) for k < c: one
/// bilinear sample of C contiguous channels, with the rounding of PyTorch's grid_sample
/// CPU kernel (built with FMA contraction). Needs AVX2 and FMA.
LAMINA_KERNEL_API void lamina_bilinear_fma(
    const float *p0, const float *p1, const float *p2, const float *p3, long c, float *out,
    float w0, float w1, float w2, float w3);

/// fma(a3, w3, fma(a2, w2, fma(a1, w1, a0 * w0))): `lamina_bilinear_fma` for one channel.
/// Needs FMA.
LAMINA_KERNEL_API float lamina_interpolate_fma(
    float a0, float a1, float a2, float a3, float w0, float w1, float w2, float w3);

#endif
