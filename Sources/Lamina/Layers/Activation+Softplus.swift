import CLaminaKernels

/// Softplus, f(x) = log(1 + exp(beta x)) / beta (x itself where beta x > threshold, as
/// PyTorch), through the vectorized kernels of `CLaminaKernels/activation.c`: the
/// activation of SDF networks, whose forward, backward and derivative table were otherwise
/// a scalar `expf` and `log1pf` per hidden feature. The AVX2 and baseline kernels give the
/// same bits, so the choice between them changes only the speed.
extension Activation {
  /// Whether the softplus kernels take their AVX2 builds (the tests call both directly).
  static let softplusUsesAVX2 = CPUFeatures.hasAVX2FMA

  /// y = softplus(x) for `count` elements (`y` may be `x`).
  static func softplusForward(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, beta: Float,
    threshold: Float
  ) {
    if softplusUsesAVX2 {
      lamina_softplus_forward_avx2(x, y, count, beta, threshold)
    } else {
      lamina_softplus_forward(x, y, count, beta, threshold)
    }
  }

  /// dx = sigmoid(beta x) dy (dy where beta x > threshold) for `count` elements.
  static func softplusBackward(
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
    count: Int, beta: Float, threshold: Float
  ) {
    if softplusUsesAVX2 {
      lamina_softplus_backward_avx2(x, dy, dx, count, beta, threshold)
    } else {
      lamina_softplus_backward(x, dy, dx, count, beta, threshold)
    }
  }

  /// f' = s, f'' = beta s c, f''' = beta^2 s c (c - s) (s = sigmoid(beta x), c = 1 - s), or
  /// 1, 0, 0 above the threshold, for `count` elements; `d3` may be nil.
  static func softplusDerivatives(
    _ x: UnsafePointer<Float>, count: Int, beta: Float, threshold: Float,
    d1: UnsafeMutablePointer<Float>, d2: UnsafeMutablePointer<Float>,
    d3: UnsafeMutablePointer<Float>?
  ) {
    if softplusUsesAVX2 {
      lamina_softplus_derivatives_avx2(x, count, beta, threshold, d1, d2, d3)
    } else {
      lamina_softplus_derivatives(x, count, beta, threshold, d1, d2, d3)
    }
  }
}
