// Private shim, not API: small C helpers the Swift core cannot express itself.
#ifndef LAMINA_KERNELS_H
#define LAMINA_KERNELS_H

/// Asks the CPU to start loading the cache line holding `p` (for reading) without waiting
/// for it. A hint only: it never faults, so any address may be passed.
static inline void lamina_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

/// As `lamina_prefetch`, for a line about to be written.
static inline void lamina_prefetch_write(const void *p) { __builtin_prefetch(p, 1, 3); }

#endif
