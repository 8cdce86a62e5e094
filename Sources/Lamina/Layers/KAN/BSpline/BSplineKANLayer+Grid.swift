/// Grid updates and refinement, as pykan's `update_grid_from_samples` and `refine`: the
/// knots move (or multiply) and every edge's spline coefficients are refitted by least
/// squares so that the spline reproduces what it computed before on the samples.
extension BSplineKANLayer {
  /// pykan's default blend between the sample-quantile grid and the uniform grid.
  public static let defaultGridEps = 0.02

  /// The spline parts sum_m coef_ijm B_m(x) of input i's edges at `points`:
  /// points.count x out, row-major (pykan's `coef2curve`).
  func splineValues(input i: Int, at points: [Float]) -> [Float] {
    let (nOut, nb, k, kc) = (outputDim, options.basisCount, options.order, options.knotCount)
    var out = [Float](repeating: 0, count: points.count * nOut)
    var b = [Float](repeating: 0, count: k + 1)
    var scratch = [Float](repeating: 0, count: 3 * (k + 1))
    grid.value.withUnsafeBufferPointer { gb in
      let t = gb.baseAddress! + i * kc
      let locator = BSpline.Locator(knots: t, count: kc)
      for (s, x) in points.enumerated() {
        let mu = locator.interval(x)
        guard mu >= 0 else { continue }
        b.withUnsafeMutableBufferPointer { bb in
          scratch.withUnsafeMutableBufferPointer { sb in
            BSpline.evaluate(
              x, interval: mu, knots: t, lastKnot: kc - 1, order: k, values: bb.baseAddress!,
              derivatives: nil, scratch: sb.baseAddress!)
          }
        }
        for j in 0..<nOut {
          let c = (i * nOut + j) * nb
          var v: Float = 0
          for r in 0...k where mu - k + r >= 0 && mu - k + r < nb {
            v += coef.value[c + mu - k + r] * b[r]
          }
          out[s * nOut + j] = v
        }
      }
    }
    return out
  }

  /// Extends G + 1 interior knots by k on each side with the mean interior spacing (pykan's
  /// `extend_grid`), in Double, rounded once.
  static func extend(_ interior: [Double], order k: Int) -> [Float] {
    let g = interior.count - 1
    let h = (interior[g] - interior[0]) / Double(g)
    var knots: [Float] = []
    knots.reserveCapacity(interior.count + 2 * k)
    for t in stride(from: k, to: 0, by: -1) { knots.append(Float(interior[0] - Double(t) * h)) }
    knots += interior.map { Float($0) }
    for t in 1...max(k, 1) where t <= k { knots.append(Float(interior[g] + Double(t) * h)) }
    return knots
  }

  /// Whether knots are usable: finite, increasing, with normal gaps whose reciprocals are
  /// finite (what the evaluators divide by).
  static func usable(_ knots: [Float]) -> Bool {
    for j in knots.indices {
      guard knots[j].isFinite else { return false }
      if j > 0 {
        let gap = knots[j] - knots[j - 1]
        guard knots[j] > knots[j - 1], gap.isNormal, (1 / gap).isFinite else { return false }
      }
    }
    return true
  }

  /// Writes input i's knots and its edges' coefficients (c is (G + k) x out, row-major).
  func store(input i: Int, knots: [Float], coefficients c: [Float]) {
    let (nOut, nb, kc) = (outputDim, options.basisCount, options.knotCount)
    for j in 0..<kc { grid.value[i * kc + j] = knots[j] }
    for j in 0..<nOut {
      for m in 0..<nb { coef.value[(i * nOut + j) * nb + m] = c[m * nOut + j] }
    }
  }

  /// Moves every input's knots to the samples and refits the coefficients, as pykan's
  /// `KANLayer.update_grid_from_samples` (mode "sample"):
  ///
  /// - the G + 1 interior knots are (1 - gridEps) * the sample quantiles at ranks
  ///   floor(n i / G) (and the largest sample) + gridEps * the uniform grid over the sample
  ///   range, extended by k knots each side with the mean spacing;
  /// - each edge's coefficients are the least-squares fit, at the samples, of the values its
  ///   spline part had there before, so the function is preserved on the samples as far as
  ///   the new knots allow (exactly when the old spline lies in the new space).
  ///
  /// `x` is n x in (the layer's inputs), n >= 1, finite; `gridEps` in [0, 1]. An input whose
  /// samples cannot give distinct usable knots (all equal, say) keeps its grid and
  /// coefficients. The base branch (SiLU or "base_fun"'s), scales and mask are unchanged,
  /// as in pykan, which refits only the spline part. Needs exclusive access.
  public func updateGrid(
    samples x: UnsafePointer<Float>, count n: Int, gridEps: Double = defaultGridEps
  ) {
    guard n > 0 else { return }
    let (nIn, g, k) = (inputDim, options.grid, options.order)
    for i in 0..<nIn {
      let column = (0..<n).map { x[$0 * nIn + i] }.sorted()
      let ranks = (0..<g).map { Int(Double(n) / Double(g) * Double($0)) } + [n - 1]
      let adaptive = ranks.map { Double(column[$0]) }
      let h = (adaptive[g] - adaptive[0]) / Double(g)
      let interior = (0...g).map {
        gridEps * (adaptive[0] + h * Double($0)) + (1 - gridEps) * adaptive[$0]
      }
      let knots = Self.extend(interior, order: k)
      guard Self.usable(knots) else { continue }
      let values = splineValues(input: i, at: column)
      let c = BSpline.fit(x: column, y: values, columns: outputDim, knots: knots, order: k)
      store(input: i, knots: knots, coefficients: c)
    }
  }

  /// Sets this layer's knots and coefficients from a layer with another grid size, as
  /// pykan's `KANLayer.initialize_grid_from_parent` (the core of `refine`), and copies
  /// scale_base, scale_sp and mask:
  ///
  /// - the G' + 1 interior knots interpolate the parent's interior knots linearly at evenly
  ///   spaced positions (so a uniform grid stays uniform on the same range, and a grid
  ///   adapted to samples keeps its density), extended by k each side;
  /// - each edge's coefficients are the least-squares fit of the parent's spline part at the
  ///   samples `x` (n x in), or, when `x` is nil, at k + 1 evenly spaced points in each new
  ///   interior knot interval plus the last knot (like pykan's mode "grid", which samples
  ///   its adaptive grid, these are dense where the knots are).
  ///
  /// Refining to a multiple of G on a uniform grid nests the spline spaces, so the function
  /// is reproduced up to rounding. Throws `.invalidArgument` when the shapes differ or the
  /// new knots would not be distinct floats. Needs exclusive access to this layer.
  public func initializeGrid(
    from parent: BSplineKANLayer, samples x: UnsafePointer<Float>?, count n: Int
  ) throws {
    guard parent.inputDim == inputDim, parent.outputDim == outputDim else {
      throw LaminaError.invalid(
        "refine: layer shapes differ (\(parent.inputDim) x \(parent.outputDim) vs \(inputDim) x \(outputDim))"
      )
    }
    guard parent.options.order == options.order else {
      throw LaminaError.invalid(
        "refine: spline orders differ (\(parent.options.order) vs \(options.order))")
    }
    let (nIn, g, k) = (inputDim, options.grid, options.order)
    let (pg, pkc) = (parent.options.grid, parent.options.knotCount)
    var newKnots: [[Float]] = []
    for i in 0..<nIn {
      let interior = (0...pg).map { Double(parent.grid.value[i * pkc + k + $0]) }
      let positions = (0...g).map { Double($0) * Double(pg) / Double(g) }
      let refined = positions.map { p -> Double in
        let lo = min(Int(p), pg - 1)
        let f = p - Double(lo)
        return interior[lo] + f * (interior[lo + 1] - interior[lo])
      }
      let knots = Self.extend(refined, order: k)
      guard Self.usable(knots) else {
        throw LaminaError.invalid(
          "refine: grid \(g) on input \(i)'s range [\(interior[0]), \(interior[pg])] gives knots that are not distinct floats"
        )
      }
      newKnots.append(knots)
    }
    for i in 0..<nIn {
      let points: [Float]
      if let x, n > 0 {
        points = (0..<n).map { x[$0 * nIn + i] }
      } else {
        // k + 1 points in every new interval and its right end: dense where the knots are
        // (as pykan's mode "grid" samples its adaptive grid), and enough for every basis,
        // so a spline the new knots can represent is reproduced exactly.
        let knots = newKnots[i]
        var dense: [Float] = []
        dense.reserveCapacity(g * (k + 1) + 1)
        for a in 0..<g {
          let (lo, hi) = (Double(knots[k + a]), Double(knots[k + a + 1]))
          for p in 0...k { dense.append(Float(lo + (hi - lo) * Double(p) / Double(k + 1))) }
        }
        dense.append(knots[k + g])
        points = dense
      }
      let values = parent.splineValues(input: i, at: points)
      let c = BSpline.fit(x: points, y: values, columns: outputDim, knots: newKnots[i], order: k)
      store(input: i, knots: newKnots[i], coefficients: c)
    }
    scaleBase.value = parent.scaleBase.value
    scaleSp.value = parent.scaleSp.value
    mask.value = parent.mask.value
    // Symbolic edges do not depend on the grid: carried over as they are.
    if let mine = symbolicTensors, let theirs = parent.symbolicTensors {
      mine.affine.value = theirs.affine.value
      mine.mask.value = theirs.mask.value
      mine.function.value = theirs.function.value
    }
  }
}

extension Model {
  /// The inputs each layer sees for `x` (n x inputDim): element l is layer l's input.
  private func layerInputs(_ x: [Float], count n: Int, through last: Int) -> [[Float]] {
    var inputs: [[Float]] = [x]
    for l in 0..<last {
      let layer = layers[l]
      var y = [Float](repeating: 0, count: n * layer.outputDim)
      inputs[l].withUnsafeBufferPointer { xb in
        y.withUnsafeMutableBufferPointer {
          layer.forward(xb.baseAddress!, $0.baseAddress!, count: n)
        }
      }
      inputs.append(y)
    }
    return inputs
  }

  /// Checks samples for a grid operation; returns the row count.
  private func sampleRows(_ x: [Float], what: String) throws -> Int {
    guard inputDim > 0, x.count % inputDim == 0, !x.isEmpty else {
      throw LaminaError.shape(
        "\(what): samples have \(x.count) values, not a positive multiple of \(inputDim)")
    }
    let n = x.count / inputDim
    try checkBatch(n)
    try x.withUnsafeBufferPointer {
      try Model.checkFinite($0.baseAddress!, count: x.count, what: "\(what) samples")
    }
    return n
  }

  /// Whether `updateGrid` applies to this model: it has a B-spline KAN layer and no
  /// mixed-basis one (`updateGrid` refuses with `.unsupported` exactly the models for which
  /// this is false).
  public var hasUpdatableGrid: Bool {
    layers.contains { $0 is BSplineKANLayer } && firstMixedKANLayer == nil
  }

  /// Adapts every B-spline KAN layer's grid to the samples, in order, as pykan's
  /// `KAN.update_grid_from_samples(x)`: layer l's grid follows the inputs it receives from
  /// the already-updated layers before it. See `BSplineKANLayer.updateGrid`. The spec is
  /// unchanged (it records the initial grid); the new knots are the "grid" buffers, saved
  /// with the model. Throws `.unsupported` for a model without such layers, and for bad
  /// sample counts, non-finite samples, or `gridEps` outside [0, 1]. Needs exclusive access.
  public func updateGrid(samples x: [Float], gridEps: Double = BSplineKANLayer.defaultGridEps)
    throws
  {
    guard gridEps >= 0, gridEps <= 1 else {
      throw LaminaError.invalid("update_grid: grid_eps is \(gridEps); it must be in [0, 1]")
    }
    try refuseMixedKANLayers("update_grid")
    guard let last = layers.lastIndex(where: { $0 is BSplineKANLayer }) else {
      throw LaminaError(.unsupported, "update_grid: the model has no B-spline KAN layers")
    }
    let n = try sampleRows(x, what: "update_grid")
    var input = x
    for l in 0...last {
      let layer = layers[l]
      if let kan = layer as? BSplineKANLayer {
        input.withUnsafeBufferPointer {
          kan.updateGrid(samples: $0.baseAddress!, count: n, gridEps: gridEps)
        }
      }
      if l < last {
        var y = [Float](repeating: 0, count: n * layer.outputDim)
        input.withUnsafeBufferPointer { xb in
          y.withUnsafeMutableBufferPointer {
            layer.forward(xb.baseAddress!, $0.baseAddress!, count: n)
          }
        }
        input = y
      }
    }
  }

  /// A new model whose B-spline KAN layers have `grid` intervals, initialised from this one
  /// as pykan's `KAN.refine(new_grid)`: knots interpolated from the current ones, spline
  /// coefficients refitted to this model's splines at the samples each layer receives
  /// (or, without samples, on each input's grid range), scales, masks and every other
  /// layer's tensors copied. The new spec is this spec with "grid" replaced. This model
  /// is not changed. Throws `.unsupported` for a model without B-spline KAN layers.
  public func refine(grid: Int, samples x: [Float]? = nil) throws -> Model {
    guard (1...BSplineKANLayer.Options.maxGrid).contains(grid) else {
      throw LaminaError.invalid(
        "refine: grid is \(grid); it must be between 1 and \(BSplineKANLayer.Options.maxGrid)")
    }
    try refuseMixedKANLayers("refine")
    guard layers.contains(where: { $0 is BSplineKANLayer }) else {
      throw LaminaError(.unsupported, "refine: the model has no B-spline KAN layers")
    }
    func withGrid(_ value: JSONValue) -> JSONValue {
      guard case .object(let pairs) = value else { return value }
      return .object(pairs.map { $0.0 == "grid" ? ($0.0, .number(Double(grid))) : $0 })
    }
    var newSpec = spec
    if kind == "kan" {
      newSpec = withGrid(spec)
    } else if case .object(let pairs) = spec {
      newSpec = .object(
        pairs.map { key, value in
          guard key == "layers", case .array(let items) = value else { return (key, value) }
          return (
            key,
            .array(
              items.map {
                $0["type"] == .string("kan") && $0["basis"] == .string("bspline")
                  ? withGrid($0) : $0
              })
          )
        })
    }
    let refined = try Model(spec: newSpec)
    guard refined.layers.count == layers.count else {
      throw LaminaError(.internal, "refine: the refined spec has a different layer count")
    }
    var inputs: [[Float]]? = nil
    var n = 0
    if let x {
      n = try sampleRows(x, what: "refine")
      inputs = layerInputs(x, count: n, through: layers.count - 1)
    }
    for (l, (old, new)) in zip(layers, refined.layers).enumerated() {
      if let parent = old as? BSplineKANLayer, let child = new as? BSplineKANLayer {
        if let inputs {
          try inputs[l].withUnsafeBufferPointer {
            try child.initializeGrid(from: parent, samples: $0.baseAddress!, count: n)
          }
        } else {
          try child.initializeGrid(from: parent, samples: nil, count: 0)
        }
      } else {
        for (a, b) in zip(old.parameters + old.buffers, new.parameters + new.buffers) {
          b.value = a.value
        }
      }
    }
    return refined
  }
}

/// The pointer forms of the grid tools, as the C ABI calls them.
extension Model {
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
