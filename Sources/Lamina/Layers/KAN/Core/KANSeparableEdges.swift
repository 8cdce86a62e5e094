/// Edge curves of the single-basis KAN layers other than B-splines (every basis whose layer
/// declares its `edgeLayouts()`: Chebyshev, RBF without LayerNorm, ...), so that plots and
/// `Model.kanEdgeCurve` work for every layer `kanKeepStrongest` can produce.
///
/// Each of these layers is linear in per-edge tensors (see `KANBasisLayer.edgeLayouts`), so
/// edge (i, j) alone is the layer with every other edge's entries zeroed, evaluated on rows
/// whose column i is x and whose other columns are 0. A per-output bias b_j is shared
/// equally by the output's edges (b_j / in each), as in mixed layers, so that
/// y_j = sum_i phi_ij(x_i) holds. Costs one copy of the layer per call (a plotting tool).
enum KANSeparableEdges {
  /// phi_ij(x[s]) into y[s] for a layer whose `KANBasisLayer.edgeLayouts` does not throw;
  /// zeros for any other (callers check first).
  static func values(
    of layer: Layer, input i: Int, output j: Int, at x: UnsafePointer<Float>, count n: Int,
    into y: UnsafeMutablePointer<Float>
  ) {
    y.update(repeating: 0, count: n)
    let copy = layer.copy()
    guard n > 0, let basis = copy as? any KANBasisLayer, let layouts = try? basis.edgeLayouts()
    else { return }
    let (inp, out) = (copy.inputDim, copy.outputDim)
    for (p, layout) in zip(copy.parameters, layouts) {
      switch layout {
      case nil: continue
      case .edges(let repeats, let outputMajor, let inner)?:
        let (na, nb) = outputMajor ? (out, inp) : (inp, out)
        for r in 0..<repeats {
          for u in 0..<na {
            for v in 0..<nb {
              let (a, b) = outputMajor ? (v, u) : (u, v)
              guard a != i || b != j else { continue }
              let base = ((r * na + u) * nb + v) * inner
              for m in 0..<inner { p.value[base + m] = 0 }
            }
          }
        }
      case .outputs?:
        for o in 0..<out { p.value[o] = o == j ? p.value[o] / Float(inp) : 0 }
      }
    }
    let rows = min(n, 4096)
    var xs = [Float](repeating: 0, count: rows * inp)
    var ys = [Float](repeating: 0, count: rows * out)
    var start = 0
    while start < n {
      let m = min(rows, n - start)
      for r in 0..<m { xs[r * inp + i] = x[start + r] }
      xs.withUnsafeBufferPointer { xb in
        ys.withUnsafeMutableBufferPointer {
          copy.forward(xb.baseAddress!, $0.baseAddress!, count: m)
        }
      }
      for r in 0..<m { y[start + r] = ys[r * out + j] }
      start += m
    }
  }
}
