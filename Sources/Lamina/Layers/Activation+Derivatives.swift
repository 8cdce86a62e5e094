#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// First, second and third derivatives of every activation, for jet passes (derivative
/// losses need f' to carry first derivatives, f'' for second derivatives and for the
/// gradient of first-derivative losses, f''' for the gradient of second-derivative losses).
///
/// The first derivative is the one `backward` uses, with PyTorch's values at kinks. At the
/// kinks of the piecewise activations (relu, leaky_relu, prelu, elu, selu and celu at 0,
/// hardtanh, hardsigmoid, hardswish at their bounds) higher derivatives are those of the
/// piece `backward` takes, so a jet pass is exact everywhere but on a set of measure zero.
/// ReLU, leaky ReLU, PReLU and hardtanh have zero second derivative: a ReLU network's
/// Laplacian is 0 almost everywhere, so Laplacian losses cannot train one (use softplus,
/// silu, tanh or sine).
extension Activation {
  /// For `count` elements of `x`: f'(x) into `d1`, f''(x) into `d2`, and f'''(x) into `d3`
  /// when it is non-nil. `slope` is PReLU's current slope.
  func derivatives(
    _ x: UnsafePointer<Float>, count: Int, slope: Float = 0, d1: UnsafeMutablePointer<Float>,
    d2: UnsafeMutablePointer<Float>, d3: UnsafeMutablePointer<Float>?
  ) {
    @inline(__always) func put(_ i: Int, _ a: Float, _ b: Float, _ c: Float) {
      d1[i] = a
      d2[i] = b
      d3?[i] = c
    }
    switch self {
    case .identity:
      for i in 0..<count { put(i, 1, 0, 0) }
    case .relu:
      for i in 0..<count { put(i, x[i] > 0 ? 1 : 0, 0, 0) }
    case .leakyReLU(let negativeSlope):
      let a = Float(negativeSlope)
      for i in 0..<count { put(i, x[i] > 0 ? 1 : a, 0, 0) }
    case .prelu:
      for i in 0..<count { put(i, x[i] > 0 ? 1 : slope, 0, 0) }
    case .elu(let alpha):
      let a = Float(alpha)
      for i in 0..<count {
        if x[i] > 0 {
          put(i, 1, 0, 0)
        } else {
          let e = a * expf(x[i])
          put(i, e, e, e)
        }
      }
    case .selu:
      let scale = Float(Activation.seluScale)
      let scaledAlpha = Float(Activation.seluScale * Activation.seluAlpha)
      for i in 0..<count {
        if x[i] > 0 {
          put(i, scale, 0, 0)
        } else {
          let e = scaledAlpha * expf(x[i])
          put(i, e, e, e)
        }
      }
    case .celu(let alpha):
      let inverse = Float(1 / alpha)
      for i in 0..<count {
        if x[i] > 0 {
          put(i, 1, 0, 0)
        } else {
          let e = expf(x[i] * inverse)
          put(i, e, e * inverse, e * inverse * inverse)
        }
      }
    case .gelu(.erf):
      for i in 0..<count {
        let v = x[i]
        let cdf = 0.5 * erfcf(-v * inverseSqrt2)
        // phi(v); for huge |v|, v * v is inf and exp gives 0, so every product below is 0.
        let density = inverseSqrt2Pi * expf(-0.5 * v * v)
        guard density > 0 else {
          put(i, cdf, 0, 0)
          continue
        }
        put(i, cdf + v * density, density * (2 - v * v), density * (v * v * v - 4 * v))
      }
    case .gelu(.tanh):
      for i in 0..<count { geluTanhDerivatives(x[i], i, put) }
    case .silu:
      for i in 0..<count {
        let v = x[i]
        let (s, c) = sigmoidPair(v)
        let q = s * c
        let q2 = q * (c - s)
        let q3 = q * (1 - 6 * q)
        put(i, s + v * q, 2 * q + v * q2, 3 * q2 + v * q3)
      }
    case .mish:
      for i in 0..<count {
        let v = x[i]
        let sp = softplusStable(v)
        let (s, c) = sigmoidPair(v)
        let q = s * c
        let t = tanhf(sp)
        let w = sechSquared(sp)
        // h = tanh(sp(x)): chain rule with sp' = s, sp'' = q, sp''' = q (1 - 2s).
        let t2 = -2 * t * w
        let t3 = -2 * w * (1 - 3 * t * t)
        let h1 = w * s
        let h2 = t2 * s * s + w * q
        let h3 = t3 * s * s * s + 3 * t2 * s * q + w * q * (c - s)
        put(i, t + v * h1, 2 * h1 + v * h2, 3 * h2 + v * h3)
      }
    case .softplus(let beta, let threshold):
      Activation.softplusDerivatives(
        x, count: count, beta: Float(beta), threshold: Float(threshold), d1: d1, d2: d2, d3: d3)
    case .tanh:
      for i in 0..<count {
        let t = tanhf(x[i])
        let w = sechSquared(x[i])
        put(i, w, -2 * t * w, -2 * w * (1 - 3 * t * t))
      }
    case .sigmoid:
      for i in 0..<count {
        let (s, c) = sigmoidPair(x[i])
        let q = s * c
        put(i, q, q * (c - s), q * (1 - 6 * q))
      }
    case .hardtanh(let minVal, let maxVal):
      let low = Float(minVal)
      let high = Float(maxVal)
      for i in 0..<count { put(i, x[i] > low && x[i] < high ? 1 : 0, 0, 0) }
    case .hardsigmoid:
      for i in 0..<count { put(i, x[i] > -3 && x[i] < 3 ? 1 / 6 : 0, 0, 0) }
    case .hardswish:
      for i in 0..<count {
        let v = x[i]
        if v <= -3 {
          put(i, 0, 0, 0)
        } else if v < 3 {
          put(i, v / 3 + 0.5, 1 / 3, 0)
        } else {
          put(i, 1, 0, 0)
        }
      }
    case .softsign:
      for i in 0..<count {
        let v = x[i]
        let d = 1 + abs(v)
        // Divide step by step: d^4 overflows for |x| > 1.8e9.
        let first = 1 / d / d
        let sign: Float = v > 0 ? 1 : (v < 0 ? -1 : 0)
        put(i, first, -2 * sign * first / d, 6 * first / d / d)
      }
    case .sine(let omega0):
      let w = Float(omega0)
      for i in 0..<count {
        let z = w * x[i]
        let (s, c) = (sinf(z), cosf(z))
        put(i, w * c, -w * w * s, -w * w * w * c)
      }
    }
  }

  /// GELU with the tanh approximation: y = x g(x), g = sigmoid(2u), u = beta (x + kappa x^3),
  /// so y' = g + x g', y'' = 2 g' + x g'', y''' = 3 g'' + x g'''.
  @inline(__always)
  private func geluTanhDerivatives(
    _ v: Float, _ i: Int, _ put: (Int, Float, Float, Float) -> Void
  ) {
    let (beta, kappa) = (geluTanhBeta, geluTanhKappa)
    let u = beta * (v + kappa * v * v * v)
    let (s, c) = sigmoidPair(2 * u)
    // Beyond |x| = 20 the correction terms are below 1e-300 and would form inf * 0.
    guard abs(v) < geluTanhSaturation else {
      put(i, s, 0, 0)
      return
    }
    let q = s * c
    let u1 = beta * (1 + 3 * kappa * v * v)
    let u2 = 6 * beta * kappa * v
    let u3 = 6 * beta * kappa
    let m = c - s  // 1 - 2s
    let g1 = 2 * q * u1
    let inner = 2 * m * u1 * u1 + u2
    let g2 = 2 * q * inner
    let g3 = 4 * m * q * u1 * inner + 2 * q * (-8 * q * u1 * u1 * u1 + 4 * m * u1 * u2 + u3)
    put(i, s + v * g1, 2 * g1 + v * g2, 3 * g2 + v * g3)
  }
}
