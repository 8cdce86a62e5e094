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

  /// d^p/dx^p of the cubic bases B_{mu-3} ... B_mu at x for p = 1 ... `orders` (at most 3)
  /// into `ders[p * 4 + r]`, on a uniform grid: the cardinal pieces `InputBasis.evaluate`
  /// takes for the values, in u = (x - t_mu) / w with w the interval's own width
  /// (`inverseWidth` = 1 / w), differentiated in u and scaled by 1 / w^p. What A2.3 gives
  /// on those knots, with no division and no branch.
  @inline(__always)
  static func uniformCubicDerivatives(
    _ x: Double, left: Double, inverseWidth h: Double, orders: Int,
    into ders: UnsafeMutablePointer<Double>
  ) {
    let u = (x - left) * h
    let v = 1 - u
    let u2 = u * u
    ders[4] = -0.5 * v * v * h
    ders[5] = (1.5 * u2 - 2 * u) * h
    ders[6] = (-1.5 * u2 + u + 0.5) * h
    ders[7] = 0.5 * u2 * h
    guard orders >= 2 else { return }
    let h2 = h * h
    ders[8] = v * h2
    ders[9] = (3 * u - 2) * h2
    ders[10] = (1 - 3 * u) * h2
    ders[11] = u * h2
    guard orders >= 3 else { return }
    let h3 = h2 * h
    ders[12] = -h3
    ders[13] = 3 * h3
    ders[14] = -3 * h3
    ders[15] = h3
  }
}
