#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Chebyshev KAN layers in jet passes (`KANEdgeJet`): phi_ij(x) = sum_d c_ijd T_d(u(x)) with
/// u = tanh x, so phi^(p)_ij = sum_d c_ijd (T_d o u)^(p) with
///
///     (T o u)'   = T'(u) u'
///     (T o u)''  = T''(u) u'^2 + T'(u) u''
///     (T o u)''' = T'''(u) u'^3 + 3 T''(u) u' u'' + T'(u) u'''
///
/// u' = sech^2 x, u'' = -2 u u', u''' = -2 (u'^2 + u u''), and T_d's derivatives in u by the
/// differentiated recurrence T^(q)_{d+1} = 2 u T^(q)_d + 2 q T^(q-1)_d - T^(q)_{d-1}:
/// polynomials, finite where tanh saturates (where every derivative goes to 0 with sech^2).
/// In Double; O(D) per row and input plus O(D) per output.
extension ChebyshevKANLayer: KANEdgeJet {
  /// Per row: the composed derivatives of every T_d; then T^(q)_d for one row (4 (D + 1)).
  func edgeJetScratchCount(rows: Int) -> Int {
    KANLinearEdgeJet.scratchFloats(rows: rows + 2, width: degree + 1)
  }

  /// (T_d o tanh)^(p)(x_r) for p = 1 ... orders into bases[(r * orders + p - 1) * (D + 1) + d].
  private func chebyshevDerivatives(
    _ column: UnsafePointer<Float>, stride: Int, count: Int, orders: Int,
    into bases: UnsafeMutablePointer<Double>
  ) {
    let w = degree + 1
    let t = bases + count * orders * w  // T^(q)_d, q = 0 ... 3
    for r in 0..<count {
      let v = Double(column[r * stride])
      let u = tanh(v)
      let e = exp(-2 * abs(v))
      let u1 = 4 * e / ((1 + e) * (1 + e))  // sech^2, accurate where tanh saturates
      let u2 = -2 * u * u1
      let u3 = -2 * (u1 * u1 + u * u2)
      for q in 0..<4 {
        t[q * w] = q == 0 ? 1 : 0
        if w > 1 { t[q * w + 1] = q == 0 ? u : (q == 1 ? 1 : 0) }
      }
      if w > 2 {
        for d in 1..<(w - 1) {
          for q in 0..<4 {
            let lower = q > 0 ? 2 * Double(q) * t[(q - 1) * w + d] : 0
            t[q * w + d + 1] = 2 * u * t[q * w + d] + lower - t[q * w + d - 1]
          }
        }
      }
      let row = bases + r * orders * w
      for d in 0..<w {
        let (d1, d2, d3) = (t[w + d], t[2 * w + d], t[3 * w + d])
        row[d] = d1 * u1
        if orders >= 2 { row[w + d] = d2 * u1 * u1 + d1 * u2 }
        if orders >= 3 { row[2 * w + d] = d3 * u1 * u1 * u1 + 3 * d2 * u1 * u2 + d1 * u3 }
      }
    }
  }

  func edgeDerivatives(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count: Int, orders: Int,
    into table: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let (w, out) = (degree + 1, outputDim)
    let bases = KANLinearEdgeJet.doubles(scratch, count: (count + 2) * 3 * w)
    chebyshevDerivatives(column, stride: stride, count: count, orders: orders, into: bases)
    table.update(repeating: 0, count: orders * count * out)
    coefficients.value.withUnsafeBufferPointer { cb in
      KANLinearEdgeJet.contract(
        bases: bases, rowStride: w, width: w, count: count, orders: orders,
        coefficients: cb.baseAddress! + i * out * w, outputs: out, outputStride: w, into: table)
    }
  }

  func addEdgeDerivativeGradients(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count: Int, orders: Int,
    adjoints: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let (w, out) = (degree + 1, outputDim)
    let bases = KANLinearEdgeJet.doubles(scratch, count: (count + 2) * 3 * w)
    chebyshevDerivatives(column, stride: stride, count: count, orders: orders, into: bases)
    coefficients.gradient.withUnsafeMutableBufferPointer { gb in
      KANLinearEdgeJet.accumulate(
        bases: bases, rowStride: w, width: w, count: count, orders: orders, adjoints: adjoints,
        outputs: out, outputStride: w, into: gb.baseAddress! + i * out * w)
    }
  }
}
