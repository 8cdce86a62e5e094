/// B-splines on a knot vector, as pykan defines them (`kan/spline.py`).
///
/// Conventions (pykan's, so weights move between the two unchanged):
/// - `order` k is the polynomial degree (pykan's `k`; cubic = 3).
/// - A grid of G intervals on [lo, hi] is extended by k knots on each side with the same
///   spacing h = (hi - lo) / G (pykan's `extend_grid`), giving G + 2k + 1 knots
///   t_0 < ... < t_M (M = G + 2k) and G + k bases B_0 ... B_{G+k-1}; B_m is supported on
///   [t_m, t_{m+k+1}). After a grid update the knots may be non-uniform; they must stay sorted.
/// - Knot intervals are half-open, [t_mu, t_{mu+1}): outside [t_0, t_M) **every basis is
///   exactly 0** (pykan's behaviour, its most asked question), so a KAN edge there reduces to
///   its SiLU branch. The bases sum to 1 on [lo, hi] = [t_k, t_{M-k}] (partition of unity)
///   and to less than 1 on the k extension intervals each side.
/// - At any x only the k + 1 bases B_{mu-k} ... B_mu can be non-zero, where mu is the
///   interval holding x; `evaluate` computes just those (Cox-de Boor, triangular scheme), so
///   the cost is O(k^2) per point whatever G is.
public enum BSpline {
  /// Number of bases for `intervals` grid intervals and `order` k: G + k.
  public static func basisCount(intervals: Int, order: Int) -> Int { intervals + order }

  /// Number of knots for `intervals` grid intervals and `order` k: G + 2k + 1.
  public static func knotCount(intervals: Int, order: Int) -> Int { intervals + 2 * order + 1 }

  /// The uniform extended knot vector of pykan's `KANLayer`: `intervals` + 1 points evenly
  /// spaced on `range`, extended by `order` points each side with the same spacing. Computed
  /// in Double and rounded once (pykan computes in float32, so the two can differ in the
  /// last bit).
  public static func uniformKnots(intervals g: Int, order k: Int, range: (Double, Double))
    -> [Float]
  {
    let h = (range.1 - range.0) / Double(g)
    return (0..<knotCount(intervals: g, order: k)).map { j in
      let p = j - k
      // Interior points as linspace does (exact ends); extensions step out by h.
      if p >= 0 && p <= g {
        return Float(range.0 + (range.1 - range.0) * Double(p) / Double(g))
      }
      return Float(p < 0 ? range.0 + Double(p) * h : range.1 + Double(p - g) * h)
    }
  }

  /// Finds x's knot interval on one knot vector, quickly when the knots are (near) uniform.
  ///
  /// Built per call from the current knots (they are a buffer anyone may overwrite), so it
  /// holds no state between calls.
  struct Locator {
    /// The knots t_0 ... t_M.
    let knots: UnsafePointer<Float>
    /// M: the number of intervals of the extended grid.
    let intervals: Int
    let first: Float
    let last: Float
    /// M / (t_M - t_0): exact index of x's interval on a uniform grid; 0 when unusable.
    let inverseSpacing: Float

    init(knots: UnsafePointer<Float>, count: Int) {
      self.knots = knots
      intervals = count - 1
      first = knots[0]
      last = knots[count - 1]
      let inv = Float(intervals) / (last - first)
      inverseSpacing = inv.isFinite && inv > 0 ? inv : 0
    }

    /// mu with t_mu <= x < t_{mu+1}, or -1 when x is outside [t_0, t_M) (or NaN).
    ///
    /// On a uniform grid the direct guess floor((x - t_0) M / (t_M - t_0)) is right or one
    /// off (rounding); otherwise (a grid adapted to samples) binary search, O(log G). The
    /// answer always comes from comparisons with the stored knots, so it is exact.
    @inline(__always)
    func interval(_ x: Float) -> Int {
      guard x >= first, x < last else { return -1 }
      let t = knots
      let m = intervals
      if inverseSpacing > 0 {
        // x - first >= 0 and < last - first, so the product is finite and small.
        let guess = min(Int((x - first) * inverseSpacing), m - 1)
        if t[guess] <= x {
          if x < t[guess + 1] { return guess }
          if guess + 2 <= m, x < t[guess + 2] { return guess + 1 }
        } else if guess > 0, t[guess - 1] <= x {
          return guess - 1
        }
      }
      var lo = 0
      var hi = m  // invariant: t[lo] <= x < t[hi]
      while hi - lo > 1 {
        let mid = (lo + hi) >> 1
        if t[mid] <= x { lo = mid } else { hi = mid }
      }
      return lo
    }
  }

  /// The fast evaluator of the layers: one input's knots plus reciprocal tables, so that
  /// evaluating the k + 1 bases needs no division.
  ///
  /// Two paths, chosen per input when the tables are built:
  /// - **uniform** knots (every interval within `uniformTolerance` of the mean spacing —
  ///   any grid made from "grid_range", up to float rounding): the bases are the cardinal
  ///   B-spline polynomials of the local coordinate u = (x - t_mu) / (t_{mu+1} - t_mu), in
  ///   closed form for cubics and by the division-free uniform recursion otherwise. Using
  ///   each interval's own width keeps the spline exactly continuous at every knot; the
  ///   values differ from Cox-de Boor on the stored knots only at the level of the knots'
  ///   own rounding;
  /// - **general** knots (after a grid update): the Cox-de Boor triangle with the
  ///   reciprocals 1 / (t_{a+d} - t_a) read from a table instead of divided.
  struct InputBasis {
    /// Relative spread of interval widths under which knots count as uniform.
    static let uniformTolerance: Float = 1e-4

    let locator: Locator
    let order: Int
    let uniform: Bool
    /// Whether the knots are sorted (non-decreasing, no NaN), so that x's interval is the
    /// count of knots at or below it (`KANBlock.prepareGeneral`).
    let sorted: Bool
    /// reciprocal[(d - 1) * stride + a + k] = 1 / (t_{a+d} - t_a) (clamped knots; 0 for an
    /// empty span), d = 1 ... k, a = -k ..< M + k.
    let reciprocal: UnsafePointer<Float>
    let stride: Int

    /// Floats of table one input needs (`tableCount(knots:order:)`).
    static func tableCount(knots count: Int, order k: Int) -> Int {
      max(k, 1) * (count - 1 + 2 * k)
    }

    /// Fills `table` (tableCount floats) for the knots and returns the evaluator.
    init(knots: UnsafePointer<Float>, count: Int, order k: Int, table: UnsafeMutablePointer<Float>)
    {
      locator = Locator(knots: knots, count: count)
      order = k
      let m = count - 1
      stride = m + 2 * k
      reciprocal = UnsafePointer(table)
      let mean = (knots[m] - knots[0]) / Float(m)
      var isUniform = mean.isFinite && mean > 0
      for a in 0..<m where isUniform {
        isUniform = abs((knots[a + 1] - knots[a]) - mean) <= InputBasis.uniformTolerance * mean
      }
      uniform = isUniform
      var isSorted = true
      for a in 0..<m where isSorted { isSorted = knots[a] <= knots[a + 1] }
      sorted = isSorted
      // The uniform path reads only the widths (d = 1).
      for d in 1...(isUniform ? 1 : max(k, 1)) {
        let row = table + (d - 1) * stride
        for a in -k..<(m + k) {
          let width = BSpline.knot(knots, a + d, m) - BSpline.knot(knots, a, m)
          let r = 1 / width
          row[a + k] = r.isFinite ? r : 0
        }
      }
    }

    /// The k + 1 bases B_{mu-k} ... B_mu at x (mu = x's interval) into `n`, their
    /// derivatives into `d` when non-nil; `scratch` holds 3(k + 1) floats. Entries for
    /// bases that do not exist are finite and meet zero weights in the padded tables.
    @inline(__always)
    func evaluate(
      _ x: Float, interval mu: Int, values n: UnsafeMutablePointer<Float>,
      derivatives d: UnsafeMutablePointer<Float>?, scratch: UnsafeMutablePointer<Float>
    ) {
      let k = order
      n[0] = 1
      guard k > 0 else {
        d?[0] = 0
        return
      }
      let t = locator.knots
      if uniform {
        let inverseWidth = reciprocal[mu + k]  // d = 1 row: 1 / (t_{mu+1} - t_mu)
        let u = (x - t[mu]) * inverseWidth
        if k == 3 {
          // Cardinal cubic B-spline pieces.
          let v = 1 - u
          let u2 = u * u
          let u3 = u2 * u
          let sixth: Float = 1.0 / 6.0
          n[0] = v * v * v * sixth
          n[1] = (3 * u3 - 6 * u2 + 4) * sixth
          n[2] = (-3 * u3 + 3 * u2 + 3 * u + 1) * sixth
          n[3] = u3 * sixth
          if let d {
            d[0] = -0.5 * v * v * inverseWidth
            d[1] = (1.5 * u2 - 2 * u) * inverseWidth
            d[2] = (-1.5 * u2 + u + 0.5) * inverseWidth
            d[3] = 0.5 * u2 * inverseWidth
          }
          return
        }
        // Uniform Cox-de Boor in units of the spacing: left_j = u + j - 1, right_j = j - u,
        // every denominator j.
        let lower = scratch
        for j in 1...k {
          if j == k, d != nil {
            for r in 0..<k { lower[r] = n[r] }
          }
          let inverse = 1 / Float(j)
          var saved: Float = 0
          for r in 0..<j {
            let temp = n[r] * inverse
            n[r] = saved + (Float(r + 1) - u) * temp
            saved = (u + Float(j - r - 1)) * temp
          }
          n[j] = saved
        }
        if let d {
          for r in 0...k {
            let a: Float = r >= 1 ? lower[r - 1] : 0
            let b: Float = r < k ? lower[r] : 0
            d[r] = (a - b) * inverseWidth
          }
        }
        return
      }
      let m = locator.intervals
      let left = scratch
      let right = scratch + (k + 1)
      let lower = scratch + 2 * (k + 1)
      for j in 1...k {
        left[j] = x - BSpline.knot(t, mu + 1 - j, m)
        right[j] = BSpline.knot(t, mu + j, m) - x
        if j == k, d != nil {
          for r in 0..<k { lower[r] = n[r] }
        }
        // 1 / (t_{a+j} - t_a), a = mu+1-j+r
        let row = reciprocal + (j - 1) * stride + k + mu + 1 - j
        var saved: Float = 0
        for r in 0..<j {
          let temp = n[r] * row[r]
          n[r] = saved + right[r + 1] * temp
          saved = left[j - r] * temp
        }
        n[j] = saved
      }
      guard let d else { return }
      let row = reciprocal + (k - 1) * stride + k + mu - k  // a = mu - k + r
      let kf = Float(k)
      for r in 0...k {
        var v: Float = 0
        if r >= 1 { v += lower[r - 1] * row[r] }
        if r < k { v -= lower[r] * row[r + 1] }
        d[r] = kf * v
      }
    }
  }

  /// The knot t_i, clamped to the ends for indices outside the vector. Only bases that do
  /// not exist (index < 0 or >= G + k) ever read a clamped knot; see `evaluate`.
  @inline(__always)
  static func knot(_ t: UnsafePointer<Float>, _ i: Int, _ m: Int) -> Float {
    t[i < 0 ? 0 : (i > m ? m : i)]
  }

  /// Writes the k + 1 bases B_{mu-k} ... B_mu at x into `values[0...k]` and, when
  /// `derivatives` is non-nil, their derivatives d/dx into `derivatives[0...k]`.
  ///
  /// `mu` must be x's interval on `knots` (t_0 ... t_M). Entries for bases that do not exist
  /// (index < 0 or > M - k - 1, near the ends of the vector) are finite and meaningless;
  /// callers skip or zero-weight them. Every existing basis depends only on real knots, so
  /// its value is exact Cox-de Boor. A zero denominator (repeated knots) makes its term 0,
  /// as pykan's `nan_to_num`. `scratch` holds at least 3(k + 1) floats.
  @inline(__always)
  static func evaluate(
    _ x: Float, interval mu: Int, knots t: UnsafePointer<Float>, lastKnot m: Int, order k: Int,
    values n: UnsafeMutablePointer<Float>, derivatives d: UnsafeMutablePointer<Float>?,
    scratch: UnsafeMutablePointer<Float>
  ) {
    n[0] = 1
    guard k > 0 else {
      d?[0] = 0
      return
    }
    let left = scratch  // left[j] = x - t_{mu+1-j}
    let right = scratch + (k + 1)  // right[j] = t_{mu+j} - x
    let lower = scratch + 2 * (k + 1)  // bases of order k - 1, for the derivatives
    for j in 1...k {
      left[j] = x - knot(t, mu + 1 - j, m)
      right[j] = knot(t, mu + j, m) - x
      if j == k, d != nil {
        for r in 0..<k { lower[r] = n[r] }
      }
      // After this pass n[r] = B_{mu-j+r, j}: each is a blend of the two order j - 1 bases
      // that overlap it (the triangular Cox-de Boor scheme).
      var saved: Float = 0
      for r in 0..<j {
        let den = right[r + 1] + left[j - r]
        let temp = den != 0 ? n[r] / den : 0
        n[r] = saved + right[r + 1] * temp
        saved = left[j - r] * temp
      }
      n[j] = saved
    }
    guard let d else { return }
    // d/dx B_{i,k} = k (B_{i,k-1} / (t_{i+k} - t_i) - B_{i+1,k-1} / (t_{i+k+1} - t_{i+1})),
    // with lower[r] = B_{mu-k+1+r, k-1}, r = 0 ..< k.
    let kf = Float(k)
    for r in 0...k {
      var v: Float = 0
      if r >= 1 {
        let den = knot(t, mu + r, m) - knot(t, mu - k + r, m)
        if den != 0 { v += lower[r - 1] / den }
      }
      if r < k {
        let den = knot(t, mu + r + 1, m) - knot(t, mu - k + r + 1, m)
        if den != 0 { v -= lower[r] / den }
      }
      d[r] = kf * v
    }
  }

  /// All G + k bases at x (and their derivatives), dense: the slow, obvious form, for tests,
  /// plotting and least-squares fits. `knots` is t_0 ... t_M of one input.
  public static func denseBases(at x: Float, knots: [Float], order k: Int) -> (
    values: [Float], derivatives: [Float]
  ) {
    let count = max(knots.count - k - 1, 0)
    var values = [Float](repeating: 0, count: count)
    var derivatives = values
    guard count > 0 else { return (values, derivatives) }
    knots.withUnsafeBufferPointer { tb in
      guard let t = tb.baseAddress else { return }
      let locator = Locator(knots: t, count: knots.count)
      let mu = locator.interval(x)
      guard mu >= 0 else { return }
      var n = [Float](repeating: 0, count: k + 1)
      var d = n
      var scratch = [Float](repeating: 0, count: 3 * (k + 1))
      n.withUnsafeMutableBufferPointer { nb in
        d.withUnsafeMutableBufferPointer { db in
          scratch.withUnsafeMutableBufferPointer { sb in
            evaluate(
              x, interval: mu, knots: t, lastKnot: knots.count - 1, order: k,
              values: nb.baseAddress!, derivatives: db.baseAddress!, scratch: sb.baseAddress!)
          }
        }
      }
      for r in 0...k {
        let index = mu - k + r
        if index >= 0 && index < count {
          values[index] = n[r]
          derivatives[index] = d[r]
        }
      }
    }
    return (values, derivatives)
  }

  /// Least-squares B-spline coefficients: for each of `columns` right-hand sides, the c
  /// minimising sum_s (sum_m c_m B_m(x_s) - y_{s,col})^2 + ridge ||c||^2 over the samples
  /// `x` (`y` is samples x columns, row-major). Returns (G + k) x columns, row-major.
  ///
  /// B-spline design matrices are banded (each row has k + 1 non-zeros), so the normal
  /// equations are banded with half-width k and are solved by a banded Cholesky in Double:
  /// O(samples k^2 + (G + k) k^2) time, nothing dense. The tiny ridge (`relativeRidge`
  /// times the largest diagonal entry) keeps rank-deficient systems solvable — too few
  /// samples, empty knot intervals, more bases than points — where it picks (in the limit)
  /// the minimum-norm solution, as LAPACK's `gelsy` does in pykan's `curve2coef`.
  public static func fit(
    x: [Float], y: [Float], columns: Int, knots: [Float], order k: Int,
    relativeRidge: Double = 1e-10
  ) -> [Float] {
    let nb = max(knots.count - k - 1, 0)
    let band = k + 1
    var a = [Double](repeating: 0, count: nb * band)  // a[m * band + d] = AtA[m][m - d]
    var rhs = [Double](repeating: 0, count: nb * columns)
    guard nb > 0, columns > 0 else { return [] }
    knots.withUnsafeBufferPointer { tb in
      let t = tb.baseAddress!
      let locator = Locator(knots: t, count: knots.count)
      var n = [Float](repeating: 0, count: k + 1)
      var scratch = [Float](repeating: 0, count: 3 * (k + 1))
      for s in 0..<x.count {
        let mu = locator.interval(x[s])
        guard mu >= 0 else { continue }
        n.withUnsafeMutableBufferPointer { nb in
          scratch.withUnsafeMutableBufferPointer { sb in
            evaluate(
              x[s], interval: mu, knots: t, lastKnot: knots.count - 1, order: k,
              values: nb.baseAddress!, derivatives: nil, scratch: sb.baseAddress!)
          }
        }
        for r in 0...k {
          let i = mu - k + r
          guard i >= 0, i < nb else { continue }
          let bi = Double(n[r])
          for q in 0...r {
            let j = mu - k + q
            guard j >= 0 else { continue }
            a[i * band + (i - j)] += bi * Double(n[q])
          }
          for c in 0..<columns { rhs[i * columns + c] += bi * Double(y[s * columns + c]) }
        }
      }
    }
    var largest = 0.0
    for m in 0..<nb { largest = max(largest, a[m * band]) }
    let ridge = relativeRidge * max(largest, 1e-30)
    for m in 0..<nb { a[m * band] += ridge }
    // Banded Cholesky in place: a becomes L (same band layout), A = L L^T.
    for j in 0..<nb {
      var s = a[j * band]
      for p in max(0, j - k)..<j { s -= a[j * band + (j - p)] * a[j * band + (j - p)] }
      let pivot = s > ridge * 1e-6 ? s.squareRoot() : (ridge * 1e-6).squareRoot()
      a[j * band] = pivot
      if j + 1 <= min(nb - 1, j + k) {
        for i in (j + 1)...min(nb - 1, j + k) {
          var v = a[i * band + (i - j)]
          for p in max(0, i - k)..<j { v -= a[i * band + (i - p)] * a[j * band + (j - p)] }
          a[i * band + (i - j)] = v / pivot
        }
      }
    }
    var out = [Float](repeating: 0, count: nb * columns)
    var z = [Double](repeating: 0, count: nb)
    for c in 0..<columns {
      for i in 0..<nb {  // L z = b
        var v = rhs[i * columns + c]
        for p in max(0, i - k)..<i { v -= a[i * band + (i - p)] * z[p] }
        z[i] = v / a[i * band]
      }
      for i in stride(from: nb - 1, through: 0, by: -1) {  // L^T c = z
        var v = z[i]
        if i + 1 <= min(nb - 1, i + k) {
          for q in (i + 1)...min(nb - 1, i + k) { v -= a[q * band + (q - i)] * z[q] }
        }
        z[i] = v / a[i * band]
      }
      for i in 0..<nb { out[i * columns + c] = Float(z[i]) }
    }
    return out
  }
}
