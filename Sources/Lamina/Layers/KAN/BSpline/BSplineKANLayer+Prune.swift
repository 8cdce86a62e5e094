/// Attribution and pruning of B-spline KANs, as pykan 0.2.x's `MultKAN.attribute()`,
/// `prune_node`, `prune_edge` and `prune`.

/// Importance scores of every edge and node of a KAN on a set of samples, as pykan's
/// `attribute()` leaves them in `edge_scores` and `node_scores`.
public struct KANAttribution: Equatable, Sendable {
  /// Per layer l, the score of edge (i, j) at `[l][i * out_l + j]`: [in_l, out_l]
  /// row-major, the layout of the "mask" buffer (pykan's `edge_scores[l]` is its transpose).
  public var edgeScores: [[Float]]
  /// Per node level 0 ... L (level 0 the inputs, level L the outputs), one score per node.
  public var nodeScores: [[Float]]
  /// Per layer l, the score of each of its outputs (pykan's `subnode_scores`): the score of
  /// the node of level l + 1 it feeds, which for a multiplication node is every factor's.
  /// Without multiplication nodes, `nodeScores[l + 1]`.
  public var subnodeScores: [[Float]] = []
}

/// One B-spline KAN layer of a model and the multiplication nodes after it, if any: pykan's
/// `act_fun[l]` and the node level it feeds.
public struct KANStage {
  /// The KAN layer's index in `Model.layers` (its tensor-name prefix).
  public let index: Int
  public let kan: BSplineKANLayer
  /// The multiplication nodes after it (layer index + 1), or nil.
  public let mult: MultiplicationNodes?

  /// Nodes of the level it feeds.
  public var nodes: Int { mult?.outputDim ?? kan.outputDim }

  /// The node of that level each of the KAN layer's outputs (subnodes) belongs to.
  public var subnodeOwners: [Int] { mult?.inputOwners ?? Array(0..<kan.outputDim) }
}

extension Model {
  /// The model's layers as B-spline KAN layers, each optionally followed by multiplication
  /// nodes, or `.unsupported` naming the first layer that is neither (attribution needs
  /// each edge's values, pruning slices each layer's tensors). `what` names the caller in
  /// the message.
  public func bsplineKANStages(_ what: String) throws -> [KANStage] {
    var result: [KANStage] = []
    var l = 0
    while l < layers.count {
      guard let kan = layers[l] as? BSplineKANLayer else {
        let layer = layers[l]
        var type = "?"
        if case .string(let name)? = layer.spec["type"] { type = name }
        if case .string(let basis)? = layer.spec["basis"] { type += " (basis \(basis))" }
        throw LaminaError(
          .unsupported,
          "\(what): layer \(l) is \(type); attribution and pruning need every layer to be a B-spline KAN layer"
            + " (each may be followed by multiplication nodes)"
        )
      }
      let mult = l + 1 < layers.count ? layers[l + 1] as? MultiplicationNodes : nil
      result.append(KANStage(index: l, kan: kan, mult: mult))
      l += mult == nil ? 1 : 2
    }
    return result
  }

  /// The B-spline KAN layers of `bsplineKANStages` (without the multiplication nodes).
  public func bsplineKANLayers(_ what: String) throws -> [BSplineKANLayer] {
    try bsplineKANStages(what).map(\.kan)
  }

  /// pykan's attribution scores on n samples `x` (n x inputDim, n >= 2).
  ///
  /// Per layer l the model is run on the samples and, as pykan's forward pass saves them,
  /// E_l[i, j] = std over samples of phi_ij(x_i) (mask included) and S_l[j] = std of
  /// output j (std with Bessel's correction, as `torch.std`). Scores then flow back from
  /// the outputs: the output nodes score 1 / out each (pykan averages the rows of an
  /// identity matrix; the propagation is linear, so averaging first is the same),
  /// edge_l[i, j] = E_l[i, j] * node_{l+1}[j] / (S_l[j] + 1e-4) and
  /// node_l[i] = sum_j edge_l[i, j]. Sums are taken in Double. O(n * sum_l in_l * out_l * k).
  ///
  /// With multiplication nodes (`KANStage.mult`), S_l is taken over the KAN layer's outputs
  /// (the subnodes, before the products) and node_{l+1}[j] is the score of the node subnode
  /// j feeds (pykan's `score_node2subnode`: every factor of a product gets the product's
  /// score); the layers' inputs are the nodes after the products.
  ///
  /// Throws `.unsupported` unless every layer is a B-spline KAN layer (or multiplication
  /// nodes after one), `.shape` for
  /// n < 2 (a standard deviation needs two samples), `.outOfMemory` past the batch limit
  /// and `.numeric` for non-finite samples.
  public func kanAttribute(samples x: UnsafePointer<Float>, count n: Int) throws -> KANAttribution {
    let stages = try bsplineKANStages("attribute")
    guard n >= 2 else {
      throw LaminaError.shape("attribute: needs at least two samples (n is \(n))")
    }
    try checkBatch(n)
    try Model.checkFinite(x, count: n * inputDim, what: "attribute: samples")
    var edgeStd: [[Double]] = []
    var nodeStd: [[Double]] = []
    var input = Array(UnsafeBufferPointer(start: x, count: n * inputDim))
    var column = [Float](repeating: 0, count: n)
    var phi = [Float](repeating: 0, count: n)
    for stage in stages {
      let layer = stage.kan
      let (nIn, nOut) = (layer.inputDim, layer.outputDim)
      var e = [Double](repeating: 0, count: nIn * nOut)
      for i in 0..<nIn {
        for s in 0..<n { column[s] = input[s * nIn + i] }
        for j in 0..<nOut {
          column.withUnsafeBufferPointer { cb in
            phi.withUnsafeMutableBufferPointer {
              layer.edgeValues(
                input: i, output: j, at: cb.baseAddress!, count: n, into: $0.baseAddress!)
            }
          }
          e[i * nOut + j] = Self.standardDeviation(phi, stride: 1, offset: 0, count: n)
        }
      }
      var y = [Float](repeating: 0, count: n * nOut)
      input.withUnsafeBufferPointer { xb in
        y.withUnsafeMutableBufferPointer {
          layer.forward(xb.baseAddress!, $0.baseAddress!, count: n)
        }
      }
      edgeStd.append(e)
      nodeStd.append(
        (0..<nOut).map { Self.standardDeviation(y, stride: nOut, offset: $0, count: n) })
      if let mult = stage.mult {
        var z = [Float](repeating: 0, count: n * mult.outputDim)
        y.withUnsafeBufferPointer { yb in
          z.withUnsafeMutableBufferPointer {
            mult.forward(yb.baseAddress!, $0.baseAddress!, count: n)
          }
        }
        input = z
      } else {
        input = y
      }
    }
    let depth = stages.count
    var node = [Double](repeating: 1 / Double(outputDim), count: outputDim)
    var edgeScores = [[Float]](repeating: [], count: depth)
    var nodeScores = [[Float]](repeating: [], count: depth + 1)
    var subnodeScores = [[Float]](repeating: [], count: depth)
    nodeScores[depth] = node.map { Float($0) }
    for l in stride(from: depth - 1, through: 0, by: -1) {
      let (nIn, nOut) = (stages[l].kan.inputDim, stages[l].kan.outputDim)
      let owners = stages[l].subnodeOwners
      let sub = owners.map { node[$0] }
      subnodeScores[l] = sub.map { Float($0) }
      var edge = [Double](repeating: 0, count: nIn * nOut)
      var below = [Double](repeating: 0, count: nIn)
      for i in 0..<nIn {
        var sum = 0.0
        for j in 0..<nOut {
          let v = edgeStd[l][i * nOut + j] * sub[j] / (nodeStd[l][j] + 1e-4)
          edge[i * nOut + j] = v
          sum += v
        }
        below[i] = sum
      }
      edgeScores[l] = edge.map { Float($0) }
      nodeScores[l] = below.map { Float($0) }
      node = below
    }
    return KANAttribution(
      edgeScores: edgeScores, nodeScores: nodeScores, subnodeScores: subnodeScores)
  }

  /// Sample standard deviation (divisor count - 1) of `count` values at `offset`,
  /// `offset + stride`, ..., two-pass in Double.
  private static func standardDeviation(_ v: [Float], stride: Int, offset: Int, count n: Int)
    -> Double
  {
    var mean = 0.0
    for s in 0..<n { mean += Double(v[offset + s * stride]) }
    mean /= Double(n)
    var ss = 0.0
    for s in 0..<n {
      let d = Double(v[offset + s * stride]) - mean
      ss += d * d
    }
    return (ss / Double(n - 1)).squareRoot()
  }

  /// A pruned copy of this model, as pykan's `prune(node_th, edge_th)`:
  ///
  /// 1. node pruning: attribution on the samples; every hidden node (levels 1 ... L-1;
  ///    inputs and outputs stay) whose node score is not above `nodeThreshold` is removed:
  ///    the widths shrink and the tensors of the layers on either side of it are sliced
  ///    (its column of coef / scale_base / scale_sp / mask in the layer before, its row of
  ///    every tensor and its knots in the layer after);
  /// 2. edge pruning: attribution again, on the smaller model, and every edge whose score
  ///    is not above `edgeThreshold` gets mask 0 (other masks are kept as they were).
  ///
  /// pykan 0.2.x scores a node by the backward attribution alone (how much it feeds the
  /// outputs); that is what is used here. Deviation: pykan would leave a level with no
  /// nodes (and fail later); here a level always keeps its best-scoring node. The new
  /// spec is this one with the widths changed. This model is not changed. Removing nodes
  /// whose outgoing edges are all masked (or zero) leaves predictions unchanged.
  ///
  /// Throws as `kanAttribute`, and `.invalidArgument` for a non-finite threshold.
  public func kanPrune(
    samples x: UnsafePointer<Float>, count n: Int, nodeThreshold: Double = 1e-2,
    edgeThreshold: Double = 3e-2
  ) throws -> Model {
    guard nodeThreshold.isFinite else {
      throw LaminaError.invalid("prune: node_th is \(nodeThreshold); it must be finite")
    }
    guard edgeThreshold.isFinite else {
      throw LaminaError.invalid("prune: edge_th is \(edgeThreshold); it must be finite")
    }
    let stages = try bsplineKANStages("prune")
    let scores = try kanAttribute(samples: x, count: n)
    let depth = stages.count
    // Kept node indices per level; inputs and outputs all stay.
    var keep: [[Int]] = [Array(0..<inputDim)]
    for level in 1..<max(1, depth) {
      let s = scores.nodeScores[level]
      var kept = s.indices.filter { Double(s[$0]) > nodeThreshold }
      if kept.isEmpty, let best = s.indices.max(by: { s[$0] < s[$1] }) { kept = [best] }
      keep.append(kept)
    }
    keep.append(Array(0..<outputDim))
    // Per level after the inputs, the kept subnodes (a kept multiplication node keeps every
    // factor, a removed one removes them all, as pykan's prune_node) and the kept nodes'
    // sum count and arities.
    var keepSub: [[Int]] = [[]]
    var levels: [(sum: Int, arities: [Int])] = [(inputDim, [])]
    for (l, stage) in stages.enumerated() {
      let kept = Set(keep[l + 1])
      keepSub.append(stage.subnodeOwners.indices.filter { kept.contains(stage.subnodeOwners[$0]) })
      let sumCount = stage.mult?.sumCount ?? stage.kan.outputDim
      levels.append(
        (
          keep[l + 1].filter { $0 < sumCount }.count,
          keep[l + 1].filter { $0 >= sumCount }.map { stage.mult!.arities[$0 - sumCount] }
        ))
    }
    let pruned = try Model(spec: withLevels(levels, stages: stages))
    let newStages = try pruned.bsplineKANStages("prune")
    guard newStages.count == depth else {
      throw LaminaError(.internal, "prune: the pruned spec changed the number of KAN layers")
    }
    let newKans = newStages.map(\.kan)
    for l in 0..<depth {
      let (old, new) = (stages[l].kan, newKans[l])
      let (rows, cols) = (keep[l], keepSub[l + 1])
      let (nOut, nb, kc) = (old.outputDim, old.options.basisCount, old.options.knotCount)
      guard new.options.basisCount == nb, new.options.knotCount == kc,
        new.inputDim == rows.count, new.outputDim == cols.count,
        new.options.baseFunction == old.options.baseFunction
      else {
        throw LaminaError(
          .internal, "prune: the pruned spec changed layer \(l)'s grid, widths or base function")
      }
      var q = 0
      for (a, i) in rows.enumerated() {
        for m in 0..<kc { new.grid.value[a * kc + m] = old.grid.value[i * kc + m] }
        for j in cols {
          let e = i * nOut + j
          new.scaleBase.value[q] = old.scaleBase.value[e]
          new.scaleSp.value[q] = old.scaleSp.value[e]
          new.mask.value[q] = old.mask.value[e]
          for m in 0..<nb { new.coef.value[q * nb + m] = old.coef.value[e * nb + m] }
          if let ns = new.symbolicTensors, let os = old.symbolicTensors {  // symbolic edges too
            ns.mask.value[q] = os.mask.value[e]
            ns.function.value[q] = os.function.value[e]
            for t in 0..<4 { ns.affine.value[4 * q + t] = os.affine.value[4 * e + t] }
          }
          q += 1
        }
      }
    }
    let again = try pruned.kanAttribute(samples: x, count: n)
    for l in 0..<depth {
      let mask = newKans[l].mask
      for e in mask.value.indices where !(Double(again.edgeScores[l][e]) > edgeThreshold) {
        mask.value[e] = 0
      }
    }
    return pruned
  }

  /// This model's spec with the node levels `levels` (inputs first; each its sum nodes and
  /// its multiplication nodes' arities): "widths" (and a listed "mult_arity") of a "kan"
  /// spec, or each KAN entry's "output" and each multiply entry's "sum", "mult" and
  /// "arity" of a "sequential" one.
  private func withLevels(_ levels: [(sum: Int, arities: [Int])], stages: [KANStage]) throws
    -> JSONValue
  {
    guard case .object(let pairs) = spec else {
      throw LaminaError(.internal, "prune: the model spec is not an object")
    }
    let number = { (v: Int) in JSONValue.number(Double(v)) }
    if kind == "kan" {
      let widths: [JSONValue] = levels.map {
        $0.arities.isEmpty ? number($0.sum) : .array([number($0.sum), number($0.arities.count)])
      }
      return .object(
        pairs.map { key, value in
          switch key {
          case "widths": return (key, .array(widths))
          case "mult_arity":
            guard case .array = value else { return (key, value) }
            return (key, .array(levels.map { .array($0.arities.map(number)) }))
          default: return (key, value)
          }
        })
    }
    guard kind == "sequential" else {
      throw LaminaError(.unsupported, "prune: models of kind \"\(kind)\" cannot be pruned")
    }
    // Entry index -> its new fields.
    var changes: [Int: [String: JSONValue]] = [:]
    for (l, stage) in stages.enumerated() {
      let level = levels[l + 1]
      changes[stage.index] = ["output": number(level.arities.reduce(level.sum, +))]
      if let mult = stage.mult {
        let uniform = !mult.listed && Set(level.arities).count <= 1
        changes[stage.index + 1] = [
          "sum": number(level.sum), "mult": number(level.arities.count),
          "arity": uniform
            ? number(level.arities.first ?? mult.arities.first ?? 2)
            : .array(level.arities.map(number)),
        ]
      }
    }
    return .object(
      pairs.map { key, value in
        guard key == "layers", case .array(let items) = value else { return (key, value) }
        return (
          key,
          .array(
            items.enumerated().map { l, item in
              guard case .object(let fields) = item, let change = changes[l] else { return item }
              return .object(fields.map { ($0.0, change[$0.0] ?? $0.1) })
            })
        )
      })
  }
}
