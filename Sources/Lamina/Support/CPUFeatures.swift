import CLaminaKernels

/// What the processor running this process offers, probed once: the layers choose their
/// kernels from it, and tests compare the paths by switching the layers' own flags.
enum CPUFeatures {
  /// Whether the CPU has AVX2 and FMA, which every vectorized kernel of `CLaminaKernels`
  /// needs (their portable counterparts run elsewhere).
  static let hasAVX2FMA = lamina_cpu_has_avx2_fma() != 0
}
