/// Group-rational KAN layers in jet passes (`KANEdgeJet`): phi_ij(x) = W_ji F_g(x)
/// (+ bias_j / in, value stream only), F_g = P / Q with Q = 1 + |s|, g the group of input i.
///
/// Derivatives of F and of its parameter derivatives come from truncated Taylor series in
/// Double around each x (coefficients f_k = f^(k)(x) / k!, k <= 3): P and s are polynomials,
/// so their series are exact shifts; Q = 1 + sign(s) s where s != 0; F = P / Q by series
/// division; dF/da_m = x^m / Q and dF/db_m = -sign(s) F x^m / Q are series products and
/// quotients of the same pieces. As in `backward`, F's input derivatives take sign(0) = 0
/// and the coefficient gradients sign(0) = +1, so an identity start (b = 0) can train its
/// denominator. |s| has no second derivative where s changes sign; the series take the
/// side of x's own sign. O(1) per row and input for F's series, O(10) for the gradients'.
extension RationalKANLayer: KANEdgeJet {
  /// Per row and order: F^(p) (one Double each).
  func edgeJetScratchCount(rows: Int) -> Int {
    KANLinearEdgeJet.scratchFloats(rows: rows, width: 1)
  }

  /// A truncated Taylor series: f^(k)(x) / k! for k = 0 ... 3.
  typealias Series = SIMD4<Double>

  /// c / d as series (d.x != 0).
  @inline(__always)
  static func quotient(_ c: Series, _ d: Series) -> Series {
    var f = Series()
    for k in 0..<4 {
      var v = c[k]
      if k > 0 { for l in 1...k { v -= d[l] * f[k - l] } }
      f[k] = v / d[0]
    }
    return f
  }

  /// c * d as series.
  @inline(__always)
  static func product(_ c: Series, _ d: Series) -> Series {
    var f = Series()
    for k in 0..<4 {
      var v = 0.0
      for l in 0...k { v += c[l] * d[k - l] }
      f[k] = v
    }
    return f
  }

  /// The series of x^m around v: C(m, k) v^(m - k).
  @inline(__always)
  static func powerSeries(_ v: Double, _ m: Int) -> Series {
    var s = Series()
    var binomial = 1.0
    for k in 0...min(m, 3) {
      var power = 1.0
      for _ in 0..<(m - k) { power *= v }
      s[k] = binomial * power
      binomial = binomial * Double(m - k) / Double(k + 1)
    }
    return s
  }

  /// Input i's group coefficients (a_0 ... a_5, b_1 ... b_4) in Double.
  @inline(__always)
  private func groupCoefficients(
    _ i: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>
  ) -> (SIMD8<Double>, SIMD4<Double>) {
    let g = i / (inputDim / groups)
    var na = SIMD8<Double>()
    for m in 0..<6 { na[m] = Double(a[6 * g + m]) }
    var nb = SIMD4<Double>()
    for m in 0..<4 { nb[m] = Double(b[4 * g + m]) }
    return (na, nb)
  }

  /// The series of P, of s, and sign(s) at v.
  @inline(__always)
  private static func pieces(_ v: Double, _ a: SIMD8<Double>, _ b: SIMD4<Double>) -> (
    p: Series, s: Series
  ) {
    // Taylor coefficients of a polynomial: sum_n C(n, k) c_n v^(n - k).
    var p = Series()
    var s = Series()
    var binomials = SIMD8<Double>(1, 1, 1, 1, 1, 1, 0, 0)  // C(n, k) for the current k
    for k in 0..<4 {
      var (pv, sv) = (0.0, 0.0)
      var power = 1.0  // v^(n - k)
      for n in k..<6 {
        pv += binomials[n] * a[n] * power
        if n >= 1 && n <= 4 { sv += binomials[n] * b[n - 1] * power }
        power *= v
      }
      p[k] = pv
      s[k] = sv
      // C(n, k + 1) = C(n, k) (n - k) / (k + 1).
      for n in 0..<6 { binomials[n] = n > k ? binomials[n] * Double(n - k) / Double(k + 1) : 0 }
    }
    return (p, s)
  }

  /// F^(p)(x_r) for p = 1 ... orders at bases[r * orders + p - 1].
  private func rationalDerivatives(
    input i: Int, _ column: UnsafePointer<Float>, stride: Int, count: Int, orders: Int,
    into bases: UnsafeMutablePointer<Double>
  ) {
    numerator.value.withUnsafeBufferPointer { nb in
      denominator.value.withUnsafeBufferPointer { db in
        let (a, b) = groupCoefficients(i, nb.baseAddress!, db.baseAddress!)
        for r in 0..<count {
          let (p, s) = Self.pieces(Double(column[r * stride]), a, b)
          let sign: Double = s[0] > 0 ? 1 : (s[0] < 0 ? -1 : 0)
          var q = sign * s
          q[0] = 1 + abs(s[0])
          let f = Self.quotient(p, q)
          var factorial = 1.0
          for k in 1...orders {
            factorial *= Double(k)
            bases[r * orders + k - 1] = factorial * f[k]
          }
        }
      }
    }
  }

  func edgeDerivatives(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count: Int, orders: Int,
    into table: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let (inp, out) = (inputDim, outputDim)
    let bases = KANLinearEdgeJet.doubles(scratch, count: count * 3)
    rationalDerivatives(
      input: i, column, stride: stride, count: count, orders: orders, into: bases)
    table.update(repeating: 0, count: orders * count * out)
    weight.value.withUnsafeBufferPointer { wb in
      KANLinearEdgeJet.contract(
        bases: bases, rowStride: 1, width: 1, count: count, orders: orders,
        coefficients: wb.baseAddress! + i, outputs: out, outputStride: inp, into: table)
    }
  }

  func addEdgeDerivativeGradients(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count: Int, orders: Int,
    adjoints: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let (inp, out) = (inputDim, outputDim)
    let bases = KANLinearEdgeJet.doubles(scratch, count: count * 3)
    rationalDerivatives(
      input: i, column, stride: stride, count: count, orders: orders, into: bases)
    weight.gradient.withUnsafeMutableBufferPointer { gb in
      KANLinearEdgeJet.accumulate(
        bases: bases, rowStride: 1, width: 1, count: count, orders: orders,
        adjoints: adjoints, outputs: out, outputStride: inp, into: gb.baseAddress! + i)
    }
    // The numerator and denominator: S_p = sum_j adjoint_p W_ji, times d F^(p) / d theta.
    let g = i / (inp / groups)
    weight.value.withUnsafeBufferPointer { wb in
      numerator.value.withUnsafeBufferPointer { nb in
        denominator.value.withUnsafeBufferPointer { db in
          numerator.gradient.withUnsafeMutableBufferPointer { ga in
            denominator.gradient.withUnsafeMutableBufferPointer { gd in
              let (a, b) = groupCoefficients(i, nb.baseAddress!, db.baseAddress!)
              let w = wb.baseAddress! + i
              var totals = SIMD16<Double>()  // a_0 ... a_5, then b_1 ... b_4
              for r in 0..<count {
                var weights = Series()  // S_p p!, at index p
                var factorial = 1.0
                for p in 1...orders {
                  factorial *= Double(p)
                  var sum = 0.0
                  for j in 0..<out {
                    sum += Double(adjoints[((p - 1) * count + r) * out + j]) * Double(w[j * inp])
                  }
                  weights[p] = sum * factorial
                }
                let v = Double(column[r * stride])
                let (p, s) = Self.pieces(v, a, b)
                let sign: Double = s[0] < 0 ? -1 : 1  // sign(0) = +1 for the coefficients
                var q = sign * s
                q[0] = 1 + abs(s[0])
                let f = Self.quotient(p, q)
                for m in 0..<6 {
                  let d = Self.quotient(Self.powerSeries(v, m), q)
                  totals[m] += (weights * d).sum()
                }
                let minusSignF = -sign * f
                for m in 1...4 {
                  let d = Self.quotient(Self.product(minusSignF, Self.powerSeries(v, m)), q)
                  totals[5 + m] += (weights * d).sum()
                }
              }
              for m in 0..<6 { ga[6 * g + m] += Float(totals[m]) }
              for m in 0..<4 { gd[4 * g + m] += Float(totals[6 + m]) }
            }
          }
        }
      }
    }
  }
}
