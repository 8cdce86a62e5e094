#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// RBF (FastKAN) layers in jet passes (`KANEdgeJet`): without LayerNorm, phi_ij(x) =
/// sum_m W_j,(i,m) exp(-t_m^2) + Wb_ji silu(x) (+ bias_j / in, value stream only), with
/// t_m = (x - c_m) / h, so the Gaussians' derivatives are Hermite polynomials,
///
///     d^p/dx^p exp(-t^2) = (-1)^p H_p(t) exp(-t^2) / h^p,
///     H_1 = 2t, H_2 = 4t^2 - 2, H_3 = 8t^3 - 12t,
///
/// and silu's come from `Activation.silu`. A layer with "normalize" (a LayerNorm over the
/// row's inputs) is not a sum of per-edge functions of one input each and is refused
/// (`jetRefusal`). O(G) per row and input plus O(G) per output and order.
extension RBFKANLayer: KANEdgeJet {
  /// Refuses layers with a LayerNorm ("normalize").
  public var jetRefusal: String? {
    options.normalize
      ? "is an RBF KAN layer with \"normalize\" (a LayerNorm mixing its inputs), which jet "
        + "passes do not support"
      : nil
  }

  /// Per row and order: G Gaussian derivatives and the SiLU's; then the column (4 rows).
  func edgeJetScratchCount(rows: Int) -> Int {
    KANLinearEdgeJet.scratchFloats(rows: rows, width: gridCount + 1) + 4 * rows
  }

  /// d^p/dx^p of the G bumps then of silu at [(r * orders + p - 1) * (G + 1) + m].
  private func rbfDerivatives(
    _ column: UnsafePointer<Float>, stride: Int, count: Int, orders: Int,
    into bases: UnsafeMutablePointer<Double>, work: UnsafeMutablePointer<Float>
  ) {
    let g = gridCount
    let w = g + 1
    let invH = 1 / Double(denominator)
    if options.base {
      for r in 0..<count { work[r] = column[r * stride] }
      let s = work + count
      Activation.silu.derivatives(
        work, count: count, d1: s, d2: s + count, d3: orders >= 3 ? s + 2 * count : nil)
    }
    centres.value.withUnsafeBufferPointer { cb in
      let c = cb.baseAddress!
      for r in 0..<count {
        let v = Double(column[r * stride])
        let row = bases + r * orders * w
        for m in 0..<g {
          let t = (v - Double(c[m])) * invH
          let e = exp(-t * t)
          row[m] = -2 * t * e * invH
          if orders >= 2 { row[w + m] = (4 * t * t - 2) * e * invH * invH }
          if orders >= 3 { row[2 * w + m] = -(8 * t * t - 12) * t * e * invH * invH * invH }
        }
        for p in 1...orders {
          row[(p - 1) * w + g] = options.base ? Double(work[p * count + r]) : 0
        }
      }
    }
  }

  func edgeDerivatives(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count: Int, orders: Int,
    into table: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let (g, inp, out) = (gridCount, inputDim, outputDim)
    let bases = KANLinearEdgeJet.doubles(scratch, count: count * 3 * (g + 1))
    let work = scratch + KANLinearEdgeJet.scratchFloats(rows: count, width: g + 1)
    rbfDerivatives(column, stride: stride, count: count, orders: orders, into: bases, work: work)
    table.update(repeating: 0, count: orders * count * out)
    splineWeight.value.withUnsafeBufferPointer { wb in
      KANLinearEdgeJet.contract(
        bases: bases, rowStride: g + 1, width: g, count: count, orders: orders,
        coefficients: wb.baseAddress! + i * g, outputs: out, outputStride: inp * g, into: table)
    }
    baseWeight?.value.withUnsafeBufferPointer { wb in
      KANLinearEdgeJet.contract(
        bases: bases + g, rowStride: g + 1, width: 1, count: count, orders: orders,
        coefficients: wb.baseAddress! + i, outputs: out, outputStride: inp, into: table)
    }
  }

  func addEdgeDerivativeGradients(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count: Int, orders: Int,
    adjoints: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let (g, inp, out) = (gridCount, inputDim, outputDim)
    let bases = KANLinearEdgeJet.doubles(scratch, count: count * 3 * (g + 1))
    let work = scratch + KANLinearEdgeJet.scratchFloats(rows: count, width: g + 1)
    rbfDerivatives(column, stride: stride, count: count, orders: orders, into: bases, work: work)
    splineWeight.gradient.withUnsafeMutableBufferPointer { gb in
      KANLinearEdgeJet.accumulate(
        bases: bases, rowStride: g + 1, width: g, count: count, orders: orders,
        adjoints: adjoints, outputs: out, outputStride: inp * g, into: gb.baseAddress! + i * g)
    }
    baseWeight?.gradient.withUnsafeMutableBufferPointer { gb in
      KANLinearEdgeJet.accumulate(
        bases: bases + g, rowStride: g + 1, width: 1, count: count, orders: orders,
        adjoints: adjoints, outputs: out, outputStride: inp, into: gb.baseAddress! + i)
    }
  }
}
