/// Higher derivatives of B-spline bases, for jet passes (second derivatives of a KAN's output
/// need phi'', and their backward pass phi''').
///
/// A degree-k B-spline is a polynomial of degree k on each knot interval, so derivatives of
/// order p <= k exist inside every interval and those above k are 0; at the knots the p-th
/// derivative is continuous only for p < k (a cubic's second derivative is continuous, its
/// third piecewise constant and jumping at every knot). At a knot these formulas take the
/// right-hand interval's polynomial, as the half-open intervals of the values do.
extension BSpline {
  /// Doubles of `work` that `derivatives(_:interval:knots:lastKnot:order:orders:into:work:)`
  /// needs for order `k`.
  static func derivativeWorkCount(order k: Int) -> Int { (k + 1) * (k + 1) + 6 * (k + 1) }

  /// d^p/dx^p of the k + 1 bases B_{mu-k} ... B_mu at x for p = 0 ... `orders` into
  /// `ders[p * (k + 1) + r]` (orders above k are 0).
  ///
  /// `mu` is x's interval on the knots t_0 ... t_m (m = `lastKnot`). The algorithm is Piegl
  /// and Tiller's A2.3 (The NURBS Book): the Cox-de Boor triangle of every degree below k,
  /// then each derivative as a combination of the degree k - p bases. Knots outside the
  /// vector are clamped and a zero knot span makes its term 0 (as `evaluate`): only bases
  /// that do not exist read them, and callers give those zero weight. Runs in Double:
  /// O(k^2 + orders k) per point.
  static func derivatives(
    _ x: Double, interval mu: Int, knots t: UnsafePointer<Float>, lastKnot m: Int, order k: Int,
    orders: Int, into ders: UnsafeMutablePointer<Double>, work: UnsafeMutablePointer<Double>
  ) {
    let w = k + 1
    // ndu[j * w + r]: the upper triangle holds basis values, the lower one knot spans.
    let ndu = work
    let left = work + w * w
    let right = left + w
    let a = right + w  // two rows of w coefficients
    ndu[0] = 1
    if k > 0 {
      for j in 1...k {
        left[j] = x - Double(knot(t, mu + 1 - j, m))
        right[j] = Double(knot(t, mu + j, m)) - x
        var saved = 0.0
        for r in 0..<j {
          ndu[j * w + r] = right[r + 1] + left[j - r]
          let span = ndu[j * w + r]
          let temp = span != 0 ? ndu[r * w + j - 1] / span : 0
          ndu[r * w + j] = saved + right[r + 1] * temp
          saved = left[j - r] * temp
        }
        ndu[j * w + j] = saved
      }
    }
    for r in 0...k { ders[r] = ndu[r * w + k] }
    guard orders > 0 else { return }
    let top = min(orders, k)
    for p in 1...orders where p > top {
      for r in 0...k { ders[p * w + r] = 0 }
    }
    guard top > 0 else { return }
    @inline(__always) func divide(_ u: Double, _ v: Double) -> Double { v != 0 ? u / v : 0 }
    for r in 0...k {
      var (s1, s2) = (0, w)
      a[0] = 1
      for p in 1...top {
        var d = 0.0
        let (rk, pk) = (r - p, k - p)
        if r >= p {
          a[s2] = divide(a[s1], ndu[(pk + 1) * w + rk])
          d = a[s2] * ndu[rk * w + pk]
        }
        let j1 = rk >= -1 ? 1 : -rk
        let j2 = r - 1 <= pk ? p - 1 : k - r
        if j1 <= j2 {
          for j in j1...j2 {
            a[s2 + j] = divide(a[s1 + j] - a[s1 + j - 1], ndu[(pk + 1) * w + rk + j])
            d += a[s2 + j] * ndu[(rk + j) * w + pk]
          }
        }
        if r <= pk {
          a[s2 + p] = divide(-a[s1 + p - 1], ndu[(pk + 1) * w + r])
          d += a[s2 + p] * ndu[r * w + pk]
        }
        ders[p * w + r] = d
        swap(&s1, &s2)
      }
    }
    // The factors k! / (k - p)!.
    var factor = Double(k)
    for p in 1...top {
      for r in 0...k { ders[p * w + r] *= factor }
      factor *= Double(k - p)
    }
  }

  /// The derivatives (d1, d2, d3, 0) of the cubic bases B_{mu-3+t}, t = 0 ... 3, at x into
  /// `ders[t]`, on a uniform grid: the cardinal pieces `InputBasis.evaluate` takes for the
  /// values, in u = (x - t_mu) / w with w the interval's own width (`inverseWidth` = 1 / w),
  /// differentiated in u and scaled by 1 / w^p. What A2.3 gives on those knots, with no
  /// division and no branch.
  @inline(__always)
  static func uniformCubicDerivatives(
    _ x: Double, left: Double, inverseWidth h: Double,
    into ders: UnsafeMutablePointer<SIMD4<Double>>
  ) {
    let u = (x - left) * h
    let v = 1 - u
    let u2 = u * u
    let scale = SIMD4<Double>(h, h * h, h * h * h, 0)
    ders[0] = SIMD4(-0.5 * v * v, v, -1, 0) * scale
    ders[1] = SIMD4(1.5 * u2 - 2 * u, 3 * u - 2, 3, 0) * scale
    ders[2] = SIMD4(-1.5 * u2 + u + 0.5, 1 - 3 * u, -3, 0) * scale
    ders[3] = SIMD4(0.5 * u2, u, 1, 0) * scale
  }
}
