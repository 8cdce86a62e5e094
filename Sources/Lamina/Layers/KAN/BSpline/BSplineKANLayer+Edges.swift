/// Evaluating one edge function phi_ij of a KAN layer on its own, so that every edge can be
/// plotted (pykan's `plot`, `get_fun`) or checked, and the model-level entry points of the
/// grid tools (pointer forms of `updateGrid` and `refine`, as the C ABI calls them).

/// A KAN layer whose edge functions can be evaluated one at a time.
///
/// A layer conforms when each output is a sum of per-edge functions of one input,
/// y_j = sum_i phi_ij(x_i), with phi_ij including everything the layer applies to that
/// edge (scales, mask). Other KAN bases join by conforming.
public protocol KANEdgeFunctions: Layer {
  /// phi_ij(x[s]) for `n` points into `y[s]`, as `forward` computes edge (i, j)'s term.
  /// `i` < inputDim and `j` < outputDim (callers check); any x values (the caller checks
  /// they are finite). Reads the layer only, so it may run on many threads at once.
  func edgeValues(
    input i: Int, output j: Int, at x: UnsafePointer<Float>, count n: Int,
    into y: UnsafeMutablePointer<Float>)
}

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
  /// phi_ij(x) = mask_ij * (scale_base_ij * silu(x) + scale_sp_ij * sum_m coef_ijm B_m(x)).
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
    // As `makeTables`: the SiLU weight and the spline row padded by k zeros each side, so
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
            basis, column: x + start, stride: 1, count: count, siluDerivative: false,
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

extension Model {
  /// An index as the caller wrote it: C's size_t values past Int.max arrive negative.
  private static func describe(_ index: Int) -> String {
    index < 0 ? String(UInt(bitPattern: index)) : String(index)
  }

  /// The layer holding edge (i, j) of layer `layer`, after checking every index: layer
  /// out of range, i or j out of range are `.invalidArgument`; a layer without edge
  /// functions (dense, activation, or a KAN basis that does not offer them) is
  /// `.unsupported`.
  public func kanEdgeLayer(_ layer: Int, input i: Int, output j: Int) throws -> any KANEdgeFunctions
  {
    guard layer >= 0, layer < layers.count else {
      throw LaminaError.invalid(
        "edge_curve: layer \(Self.describe(layer)) is out of range (the model has \(layers.count) layers)"
      )
    }
    if let basis = layers[layer] as? any KANBasisLayer, let why = basis.edgeCurveRefusal {
      throw LaminaError(.unsupported, "edge_curve: layer \(layer) is \(why)")
    }
    guard let kan = layers[layer] as? KANEdgeFunctions else {
      let type: String
      if case .string(let name)? = layers[layer].spec["type"] { type = name } else { type = "?" }
      var what = "a \"\(type)\" layer"
      if case .string(let basis)? = layers[layer].spec["basis"] {
        what += " with basis \"\(basis)\""
      }
      throw LaminaError(
        .unsupported,
        "edge_curve: layer \(layer) is \(what); edge curves are available for KAN layers"
      )
    }
    guard i >= 0, i < kan.inputDim else {
      throw LaminaError.invalid(
        "edge_curve: input i = \(Self.describe(i)) is out of range (layer \(layer) has \(kan.inputDim) inputs)"
      )
    }
    guard j >= 0, j < kan.outputDim else {
      throw LaminaError.invalid(
        "edge_curve: output j = \(Self.describe(j)) is out of range (layer \(layer) has \(kan.outputDim) outputs)"
      )
    }
    return kan
  }

  /// phi_{layer,i,j}(x[s]) for `n` points into `y[s]`: the edge from input i to output j
  /// of layer `layer` (the index in `layers`, as in the tensor names "<layer>.coef"),
  /// including its SiLU branch, scales and mask, so that y_j = sum_i phi_ij(x_i) is the
  /// layer's output. Reads the model only. Throws as `kanEdgeLayer`, `.numeric` for
  /// non-finite x and `.outOfMemory` for n beyond the batch limit.
  public func kanEdgeCurve(
    layer: Int, input i: Int, output j: Int, at x: UnsafePointer<Float>, count n: Int,
    into y: UnsafeMutablePointer<Float>
  ) throws {
    let kan = try kanEdgeLayer(layer, input: i, output: j)
    guard n >= 0, n <= Limits.maxBatchElements else {
      throw LaminaError(
        .outOfMemory,
        "edge_curve: count = \(Self.describe(n)) is over the limit of \(Limits.maxBatchElements)")
    }
    try Model.checkFinite(x, count: n, what: "edge_curve: x")
    kan.edgeValues(input: i, output: j, at: x, count: n, into: y)
  }

  /// Pointer form of `updateGrid(samples:gridEps:)`: `x` is n x inputDim. Throws `.shape`
  /// for n = 0 and `.outOfMemory` for n beyond the batch limit, before reading x.
  public func updateGrid(
    samples x: UnsafePointer<Float>, count n: Int, gridEps: Double = BSplineKANLayer.defaultGridEps
  ) throws {
    guard n > 0 else { throw LaminaError.shape("update_grid: needs at least one sample; n is 0") }
    try checkBatch(n)
    try updateGrid(
      samples: Array(UnsafeBufferPointer(start: x, count: n * inputDim)), gridEps: gridEps)
  }

  /// Pointer form of `refine(grid:samples:)`: `x` is n x inputDim, or nil (and n = 0) to
  /// fit each spline on a dense grid over its range. Throws `.outOfMemory` for n beyond
  /// the batch limit, before reading x.
  public func refine(grid: Int, samples x: UnsafePointer<Float>?, count n: Int) throws -> Model {
    guard let x, n > 0 else { return try refine(grid: grid, samples: nil) }
    try checkBatch(n)
    return try refine(
      grid: grid, samples: Array(UnsafeBufferPointer(start: x, count: n * inputDim)))
  }
}
