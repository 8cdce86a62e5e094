#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Fourier KAN layers in jet passes (`KANEdgeJet`): phi_ij(x) = sum_g a_jig cos(g x) +
/// b_jig sin(g x) (+ bias_j / in, which only the value stream sees), so
/// phi^(p)_ij = sum_g g^p (a_jig cos(g x + p pi / 2) + b_jig sin(g x + p pi / 2)). The
/// harmonics come from sin x and cos x by angle-addition rotations in Double, as `forward`'s.
/// O(G) per row and input plus O(G) per output and order.
extension FourierKANLayer: KANEdgeJet {
  /// Per row and order: the G cosine-coefficient derivatives, then the G sine ones.
  func edgeJetScratchCount(rows: Int) -> Int {
    KANLinearEdgeJet.scratchFloats(rows: rows, width: 2 * grid)
  }

  /// d^p/dx^p cos(g x) at [(r * orders + p - 1) * 2G + g - 1] and sin(g x) G further on.
  private func fourierDerivatives(
    _ column: UnsafePointer<Float>, stride: Int, count: Int, orders: Int,
    into bases: UnsafeMutablePointer<Double>
  ) {
    let g = grid
    for r in 0..<count {
      let v = Double(column[r * stride])
      let (s1, c1) = (sin(v), cos(v))
      var (s, c) = (s1, c1)
      let row = bases + r * orders * 2 * g
      for k in 1...g {
        let f = Double(k)
        // The p-th derivatives of cos and sin: (-sin, cos), (-cos, -sin), (sin, -cos).
        row[k - 1] = -f * s
        row[g + k - 1] = f * c
        if orders >= 2 {
          row[2 * g + k - 1] = -f * f * c
          row[3 * g + k - 1] = -f * f * s
        }
        if orders >= 3 {
          row[4 * g + k - 1] = f * f * f * s
          row[5 * g + k - 1] = -f * f * f * c
        }
        (s, c) = (s * c1 + c * s1, c * c1 - s * s1)
      }
    }
  }

  func edgeDerivatives(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count: Int, orders: Int,
    into table: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let (g, inp, out) = (grid, inputDim, outputDim)
    let bases = KANLinearEdgeJet.doubles(scratch, count: count * 3 * 2 * g)
    fourierDerivatives(column, stride: stride, count: count, orders: orders, into: bases)
    table.update(repeating: 0, count: orders * count * out)
    coefficients.value.withUnsafeBufferPointer { cb in
      for half in 0..<2 {
        KANLinearEdgeJet.contract(
          bases: bases + half * g, rowStride: 2 * g, width: g, count: count, orders: orders,
          coefficients: cb.baseAddress! + (half * out * inp + i) * g, outputs: out,
          outputStride: inp * g, into: table)
      }
    }
  }

  func addEdgeDerivativeGradients(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count: Int, orders: Int,
    adjoints: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let (g, inp, out) = (grid, inputDim, outputDim)
    let bases = KANLinearEdgeJet.doubles(scratch, count: count * 3 * 2 * g)
    fourierDerivatives(column, stride: stride, count: count, orders: orders, into: bases)
    coefficients.gradient.withUnsafeMutableBufferPointer { gb in
      for half in 0..<2 {
        KANLinearEdgeJet.accumulate(
          bases: bases + half * g, rowStride: 2 * g, width: g, count: count, orders: orders,
          adjoints: adjoints, outputs: out, outputStride: inp * g,
          into: gb.baseAddress! + (half * out * inp + i) * g)
      }
    }
  }
}
