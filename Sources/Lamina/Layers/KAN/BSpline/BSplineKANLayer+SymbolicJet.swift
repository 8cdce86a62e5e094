/// The symbolic branch of a B-spline KAN layer in jet passes, so that a model with edges
/// fixed to symbolic functions can go on training on derivative losses (pykan's PDE tutorial
/// fixes edges, then trains their affine parameters on the PDE loss again).
///
/// A symbolic edge adds m (c f(a x + b) + d), so its derivatives are
/// phi^(p) = m c a^p f^(p)(u), u = a x + b, with
///
///     d phi^(p) / dc = m a^p f^(p)(u),   d phi^(p) / db = m c a^p f^(p+1)(u),
///     d phi^(p) / da = m c (p a^(p-1) f^(p)(u) + a^p x f^(p+1)(u)),   d phi^(p) / dd = 0.
///
/// The library holds each function's value and first derivative (`SymbolicFunction`); f''
/// and f''' are central differences of f' in Double with a step h = 1e-4 (1 + |u|): their
/// truncation (h^2) and rounding (1e-16 / h^2 for f''') errors stay far below Float's for
/// the library's smooth functions. In a trainer step with "singularity_avoiding" they are
/// those of the singularity-avoiding forms; where such a form has a kink (the patches of
/// 1/x, log, sqrt, ...) the differences smooth it over that step. Cost: O(1)
/// per active symbolic edge and row.
extension BSplineKANLayer {
  /// f'(u), f''(u), f'''(u).
  @inline(__always)
  static func symbolicDerivatives(_ f: SymbolicFunction, _ u: Double, yTh: Double? = nil)
    -> SIMD4<Double>
  {
    let h = 1e-4 * (1 + abs(u))
    let (d0, dm, dp) = (
      f.evaluate(u, yTh: yTh).1, f.evaluate(u - h, yTh: yTh).1, f.evaluate(u + h, yTh: yTh).1
    )
    return SIMD4(0, d0, (dp - dm) / (2 * h), (dp - 2 * d0 + dm) / (h * h))
  }

  /// Adds the symbolic edges of input i to the edge derivative table (see `edgeDerivatives`).
  func addSymbolicEdgeDerivatives(
    input i: Int, x xs: UnsafePointer<Float>, count m: Int, orders: Int,
    into table: UnsafeMutablePointer<Float>
  ) {
    guard let st = symbolicTensors else { return }
    let nOut = outputDim
    for j in 0..<nOut {
      let e = i * nOut + j
      let mask = Double(st.mask.value[e])
      guard mask != 0, let f = SymbolicLibrary.function(at: st.function.value[e]) else {
        continue
      }
      let (a, b, c) = (
        Double(st.affine.value[4 * e]), Double(st.affine.value[4 * e + 1]),
        Double(st.affine.value[4 * e + 2])
      )
      for r in 0..<m {
        let d = Self.symbolicDerivatives(f, a * Double(xs[r]) + b, yTh: st.singularityThreshold)
        var power = mask * c
        for p in 1...orders {
          power *= a
          table[((p - 1) * m + r) * nOut + j] += Float(power * d[p])
        }
      }
    }
  }

  /// Adds the symbolic edges' affine gradients (see `addEdgeDerivativeGradients`).
  func addSymbolicEdgeDerivativeGradients(
    input i: Int, x xs: UnsafePointer<Float>, count m: Int, orders: Int,
    adjoints: UnsafePointer<Float>
  ) {
    guard let st = symbolicTensors else { return }
    let nOut = outputDim
    for j in 0..<nOut {
      let e = i * nOut + j
      let mask = Double(st.mask.value[e])
      guard mask != 0, let f = SymbolicLibrary.function(at: st.function.value[e]) else {
        continue
      }
      let (a, b, c) = (
        Double(st.affine.value[4 * e]), Double(st.affine.value[4 * e + 1]),
        Double(st.affine.value[4 * e + 2])
      )
      var (ga, gb, gc) = (0.0, 0.0, 0.0)
      for r in 0..<m {
        let x = Double(xs[r])
        let d = Self.symbolicDerivatives(f, a * x + b, yTh: st.singularityThreshold)
        var lower = 1.0  // a^(p-1)
        for p in 1...orders {
          let w = mask * Double(adjoints[((p - 1) * m + r) * nOut + j])
          let power = lower * a  // a^p
          gc += w * power * d[p]
          gb += w * c * power * d[p + 1]
          ga += w * c * (Double(p) * lower * d[p] + power * x * d[p + 1])
          lower = power
        }
      }
      st.affine.gradient[4 * e] += Float(ga)
      st.affine.gradient[4 * e + 1] += Float(gb)
      st.affine.gradient[4 * e + 2] += Float(gc)
    }
  }
}
