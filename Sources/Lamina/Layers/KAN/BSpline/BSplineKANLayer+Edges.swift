/// A B-spline layer's edges: the tensors that scale with them (for mixed layers) and one
/// edge function phi_ij evaluated on its own (see `KANEdgeFunctions`).

extension BSplineKANLayer {
  /// scale_base and scale_sp are [in, out]; a layer with a symbolic branch adds terms no
  /// per-edge tensor scales, so it has no layout.
  func edgeLayouts() throws -> [KANEdgeLayout?] {
    guard symbolicTensors == nil else {
      throw LaminaError(.unsupported, "a B-spline layer with a symbolic branch has no edge layout")
    }
    return edgeLayouts([
      (scaleBase, .edges(repeats: 1, outputMajor: false, inner: 1)),
      (scaleSp, .edges(repeats: 1, outputMajor: false, inner: 1)),
    ])
  }
}

extension BSplineKANLayer: KANEdgeFunctions {
  /// phi_ij(x) = mask_ij * (scale_base_ij * b(x) + scale_sp_ij * sum_m coef_ijm B_m(x)), b
  /// the layer's base function ("base_fun", SiLU by default).
  ///
  /// Computed with the same basis evaluator, the same premultiplied weights and the same
  /// order of operations as `forward` (on the dense path, the same sgemm calls), so for a
  /// layer with one input the edge curve is the layer's output to the bit. Cost O(G + n k): the weights of this edge and the basis
  /// tables of input i only.
  public func edgeValues(
    input i: Int, output j: Int, at x: UnsafePointer<Float>, count n: Int,
    into y: UnsafeMutablePointer<Float>
  ) {
    precondition(
      i >= 0 && i < inputDim && j >= 0 && j < outputDim, "edgeValues: edge index out of range")
    guard n > 0 else { return }
    if usesDenseBases {
      denseEdgeValues(input: i, output: j, at: x, count: n, into: y)
      return
    }
    let (nb, k, kc) = (options.basisCount, options.order, options.knotCount)
    let e = i * outputDim + j
    // As `makeTables`: the base branch's weight and the spline row padded by k zeros each side, so
    // rows mu ... mu + k are the weights of B_{mu-k} ... B_mu for every interval mu.
    let base = scaleBase.value[e] * mask.value[e]
    let f = scaleSp.value[e] * mask.value[e]
    let rows = nb + 2 * k
    let w = UnsafeMutablePointer<Float>.allocate(capacity: rows)
    defer { w.deallocate() }
    w.update(repeating: 0, count: rows)
    coef.value.withUnsafeBufferPointer { cb in
      for m in 0..<nb { w[k + m] = cb[e * nb + m] * f }
    }
    let table = UnsafeMutablePointer<Float>.allocate(
      capacity: BSpline.InputBasis.tableCount(knots: kc, order: k))
    defer { table.deallocate() }
    withBlock { block in
      let c = block.capacity
      let b = block.values
      grid.value.withUnsafeBufferPointer { gb in
        let basis = BSpline.InputBasis(
          knots: gb.baseAddress! + i * kc, count: kc, order: k, table: table)
        var start = 0
        while start < n {
          let count = min(Self.rowsPerTask, n - start)
          block.prepare(
            basis, column: x + start, stride: 1, count: count, base: options.baseFunction,
            siluDerivative: false,
            withDerivatives: false)
          for q in 0..<count {
            let s = block.silu[q]
            let mu = block.interval[q]
            // The forward pass adds into a zeroed output; starting from 0 here keeps its bits.
            var v: Float = 0
            if mu < 0 {
              v += s * base
            } else if k == 3 {
              let r = w + mu
              v +=
                s * base + b[q] * r[0] + b[c + q] * r[1] + b[2 * c + q] * r[2] + b[3 * c + q] * r[3]
            } else {
              v += s * base
              for t in 0...k { v += b[t * c + q] * w[mu + t] }
            }
            y[start + q] = v
          }
          start += count
        }
      }
    }
  }
}
