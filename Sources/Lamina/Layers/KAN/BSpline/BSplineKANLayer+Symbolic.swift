/// pykan's symbolic branch (`Symbolic_KANLayer`) for B-spline KAN layers and the
/// model-level symbolic regression tools (pykan's suggest_symbolic, fix_symbolic,
/// auto_symbolic, symbolic_formula).
///
/// A layer built with `"symbolic": true` has, per edge i -> j, a symbolic mask, a library
/// function f (index into `SymbolicLibrary.functions`) and an affine (a, b, c, d), and adds
///
///     y_j += sum_i symbolic_mask_ij * (c_ij * f(a_ij * x_i + b_ij) + d_ij)
///
/// to the numeric output. Fixing an edge symbolic sets its numeric "mask" to 0, as pykan.
/// Layers built without the key have none of these tensors, so earlier specs and files load
/// unchanged (a model must be built with "symbolic": true to take symbolic edges).
///
/// f is the plain library function, as pykan's default forward (singularity_avoiding=False):
/// a fixed exp edge is c exp(a x + b) + d for every x, and a sample outside f's domain gives
/// NaN (the trainer's divergence check reports it), as in pykan. A trainer configured with
/// "singularity_avoiding" (pykan's fit(singularity_avoiding=True, y_th=...)) evaluates the
/// singularity-avoiding forms in its steps' passes (`SymbolicTensors.singularityThreshold`).

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The symbolic branch's tensors, named as saved: parameter "symbolic_affine" [in, out, 4]
/// holding (a, b, c, d) (trained, as pykan's `affine`; initially 0 as pykan), buffers
/// "symbolic_mask" [in, out] (0 = edge not symbolic) and "symbolic_fn" [in, out] (library
/// index stored as a float; an invalid index makes the edge contribute nothing).
public final class SymbolicTensors {
  /// (a, b, c, d) per edge, [in, out, 4].
  public let affine: Parameter
  /// Symbolic mask per edge, [in, out].
  public let mask: Parameter
  /// Library index per edge, [in, out].
  public let function: Parameter
  /// pykan's y_th while a trainer runs a step with "singularity_avoiding": the branch then
  /// evaluates each function's singularity-avoiding form (`SymbolicFunction.protected`);
  /// nil (always, outside such a step) is the plain form. Set by
  /// `Model.withSymbolicSingularity`; not saved and not copied.
  var singularityThreshold: Double? = nil

  init(input: Int, output: Int) {
    let e = input * output
    affine = Parameter(
      name: "symbolic_affine", shape: [input, output, 4],
      value: [Float](repeating: 0, count: 4 * e))
    mask = Parameter(
      name: "symbolic_mask", shape: [input, output], value: [Float](repeating: 0, count: e))
    function = Parameter(
      name: "symbolic_fn", shape: [input, output], value: [Float](repeating: 0, count: e))
  }

  private init(affine: Parameter, mask: Parameter, function: Parameter) {
    (self.affine, self.mask, self.function) = (affine, mask, function)
  }

  func copy() -> SymbolicTensors {
    SymbolicTensors(affine: affine.copy(), mask: mask.copy(), function: function.copy())
  }
}

extension BSplineKANLayer {
  /// Edges with a non-zero symbolic mask and a valid function: (edge index, function).
  private func activeSymbolicEdges(_ st: SymbolicTensors) -> [(Int, SymbolicFunction)] {
    var list: [(Int, SymbolicFunction)] = []
    for e in 0..<(inputDim * outputDim) where st.mask.value[e] != 0 {
      if let f = SymbolicLibrary.function(at: st.function.value[e]) { list.append((e, f)) }
    }
    return list
  }

  /// Adds the symbolic branch to `y` (called at the end of `forward`). Evaluated in Double.
  func symbolicForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    guard let st = symbolicTensors else { return }
    let edges = activeSymbolicEdges(st)
    guard !edges.isEmpty else { return }
    if let yTh = st.singularityThreshold {
      return symbolicForwardProtected(st, edges, yTh: yTh, x, y, count: n)
    }
    let (nIn, nOut) = (inputDim, outputDim)
    for (e, f) in edges {
      let (i, j) = (e / nOut, e % nOut)
      let m = Double(st.mask.value[e])
      let p = Array(st.affine.value[(4 * e)..<(4 * e + 4)]).map(Double.init)
      for r in 0..<n {
        let v = f.value(p[0] * Double(x[r * nIn + i]) + p[1])
        y[r * nOut + j] += Float(m * (p[2] * v + p[3]))
      }
    }
  }

  /// `symbolicForward` with the singularity-avoiding forms at threshold `yTh`.
  private func symbolicForwardProtected(
    _ st: SymbolicTensors, _ edges: [(Int, SymbolicFunction)], yTh: Double,
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int
  ) {
    let (nIn, nOut) = (inputDim, outputDim)
    for (e, f) in edges {
      let (i, j) = (e / nOut, e % nOut)
      let m = Double(st.mask.value[e])
      let p = Array(st.affine.value[(4 * e)..<(4 * e + 4)]).map(Double.init)
      for r in 0..<n {
        let v = f.protected(p[0] * Double(x[r * nIn + i]) + p[1], yTh: yTh).0
        y[r * nOut + j] += Float(m * (p[2] * v + p[3]))
      }
    }
  }

  /// Adds the symbolic branch's dx and (when asked) d(symbolic_affine) (called at the end
  /// of `backward`).
  func symbolicBackward(
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>?,
    count n: Int, parameterGradients: Bool
  ) {
    guard let st = symbolicTensors else { return }
    let edges = activeSymbolicEdges(st)
    guard !edges.isEmpty else { return }
    let (nIn, nOut) = (inputDim, outputDim)
    let yTh = st.singularityThreshold
    for (e, f) in edges {
      let (i, j) = (e / nOut, e % nOut)
      let m = Double(st.mask.value[e])
      let p = Array(st.affine.value[(4 * e)..<(4 * e + 4)]).map(Double.init)
      var g = (0.0, 0.0, 0.0, 0.0)
      for r in 0..<n {
        let xv = Double(x[r * nIn + i])
        let (v, dv) = f.evaluate(p[0] * xv + p[1], yTh: yTh)
        let d = Double(dy[r * nOut + j]) * m
        if let dx { dx[r * nIn + i] += Float(d * p[2] * p[0] * dv) }
        if parameterGradients {
          g.0 += d * p[2] * dv * xv
          g.1 += d * p[2] * dv
          g.2 += d * v
          g.3 += d
        }
      }
      if parameterGradients {
        st.affine.gradient[4 * e] += Float(g.0)
        st.affine.gradient[4 * e + 1] += Float(g.1)
        st.affine.gradient[4 * e + 2] += Float(g.2)
        st.affine.gradient[4 * e + 3] += Float(g.3)
      }
    }
  }
}

extension Model {
  /// Runs `body` with every symbolic branch of the model's B-spline KAN layers evaluating
  /// pykan's singularity-avoiding forms at threshold `yTh` (nil: plain, nothing changes).
  /// The model must not be in use elsewhere meanwhile (a trainer step's exclusive use).
  func withSymbolicSingularity<T>(_ yTh: Double?, _ body: () throws -> T) rethrows -> T {
    guard let yTh else { return try body() }
    let branches = layers.compactMap { ($0 as? BSplineKANLayer)?.symbolicTensors }
    guard !branches.isEmpty else { return try body() }
    for st in branches { st.singularityThreshold = yTh }
    defer { for st in branches { st.singularityThreshold = nil } }
    return try body()
  }

  /// Layer `layer` as a B-spline KAN layer with the symbolic branch, else throws
  /// (.invalidArgument for indices, .unsupported otherwise).
  func kanSymbolicLayer(_ layer: Int, what: String) throws -> (BSplineKANLayer, SymbolicTensors) {
    guard layer >= 0, layer < layers.count else {
      throw LaminaError.invalid("\(what): layer \(layer) is out of range (\(layers.count) layers)")
    }
    guard let kan = layers[layer] as? BSplineKANLayer, let st = kan.symbolicTensors else {
      throw LaminaError(
        .unsupported,
        "\(what): layer \(layer) has no symbolic branch; build B-spline KAN layers with \"symbolic\": true"
      )
    }
    return (kan, st)
  }

  /// The number of rows of `samples` (n x inputDim, n >= 1, within the batch limit, all
  /// finite), else throws.
  private func kanSampleRows(_ samples: [Float]) throws -> Int {
    guard !samples.isEmpty, samples.count % inputDim == 0 else {
      throw LaminaError.shape(
        "symbolic: samples must be n x \(inputDim) with n >= 1; got \(samples.count) values")
    }
    let n = samples.count / inputDim
    try checkBatch(n)
    try samples.withUnsafeBufferPointer {
      try Model.checkFinite($0.baseAddress!, count: samples.count, what: "symbolic: samples")
    }
    return n
  }

  /// The inputs of every layer for `samples` (n x inputDim): result[l] is n x layers[l].inputDim.
  func kanLayerInputs(samples: [Float]) throws -> [[Float]] {
    let n = try kanSampleRows(samples)
    var acts = [samples]
    for layer in layers.dropLast() {
      var y = [Float](repeating: 0, count: n * layer.outputDim)
      acts.last!.withUnsafeBufferPointer { xb in
        y.withUnsafeMutableBufferPointer {
          layer.forward(xb.baseAddress!, $0.baseAddress!, count: n)
        }
      }
      acts.append(y)
    }
    return acts
  }

  /// The symbolic layer `layer` after checking that it has edge i -> j, else throws.
  private func kanSymbolicEdge(_ layer: Int, _ i: Int, _ j: Int, what: String) throws
    -> BSplineKANLayer
  {
    let (kan, _) = try kanSymbolicLayer(layer, what: what)
    guard i >= 0, i < kan.inputDim, j >= 0, j < kan.outputDim else {
      throw LaminaError.invalid(
        "\(what): edge (\(i), \(j)) is out of range (layer \(layer) is \(kan.inputDim) x \(kan.outputDim))"
      )
    }
    return kan
  }

  /// (x, y) of edge (layer, i, j) on `acts` as pykan: x = the layer's input i, y = the
  /// numeric edge function phi_ij(x) (mask included).
  private func kanEdgeSamples(_ layer: Int, _ i: Int, _ j: Int, acts: [[Float]], what: String)
    throws -> ([Double], [Double])
  {
    let kan = try kanSymbolicEdge(layer, i, j, what: what)
    let a = acts[layer]
    let n = a.count / kan.inputDim
    let x = (0..<n).map { a[$0 * kan.inputDim + i] }
    var y = [Float](repeating: 0, count: n)
    x.withUnsafeBufferPointer { xb in
      y.withUnsafeMutableBufferPointer {
        kan.edgeValues(input: i, output: j, at: xb.baseAddress!, count: n, into: $0.baseAddress!)
      }
    }
    return (x.map(Double.init), y.map(Double.init))
  }

  /// pykan's suggest_symbolic(l, i, j): every library function (or `names`) fitted to edge
  /// (layer, i, j) sampled at the layer's inputs for `samples` (n x inputDim), best first by
  /// pykan's score (weight_simple 0.8; pass 0 to rank by R^2).
  public func kanSuggestSymbolic(
    layer: Int, input i: Int, output j: Int, samples: [Float], names: [String]? = nil,
    weightSimple: Double = 0.8
  ) throws -> [SymbolicFit] {
    var options = SymbolicSearchOptions()
    options.library = names
    options.weightSimple = weightSimple
    return try kanSymbolicSearch(
      layer: layer, input: i, output: j, samples: samples, options: options,
      what: "suggest_symbolic")
  }

  /// pykan's suggest_symbolic with every setting of its search (`options`: the library, the
  /// ranges of a and b, the grid size, the rounds and weight_simple), best first.
  public func kanSymbolicSearch(
    layer: Int, input i: Int, output j: Int, samples: [Float], options: SymbolicSearchOptions,
    what: String = "symbolic_search"
  ) throws -> [SymbolicFit] {
    try kanCheckSymbolicSearch(
      layer: layer, input: i, output: j, samples: samples, options: options, what: what)
    let acts = try kanLayerInputs(samples: samples)
    let (x, y) = try kanEdgeSamples(layer, i, j, acts: acts, what: what)
    return try SymbolicLibrary.search(x: x, y: y, options: options, what: what)
  }

  /// Throws what `kanSuggestSymbolic` with these arguments would throw before its search
  /// (layer, edge, sample count and values, names), without sampling the edge or fitting
  /// anything: the C interface's sizing call checks its arguments with this and reports a
  /// length bound instead of searching twice.
  public func kanCheckSuggestSymbolic(
    layer: Int, input i: Int, output j: Int, samples: [Float], names: [String]? = nil
  ) throws {
    var options = SymbolicSearchOptions()
    options.library = names
    try kanCheckSymbolicSearch(
      layer: layer, input: i, output: j, samples: samples, options: options,
      what: "suggest_symbolic")
  }

  /// Throws what `kanSymbolicSearch` with these arguments would throw before its search.
  public func kanCheckSymbolicSearch(
    layer: Int, input i: Int, output j: Int, samples: [Float], options: SymbolicSearchOptions,
    what: String = "symbolic_search"
  ) throws {
    _ = try kanSampleRows(samples)
    _ = try kanSymbolicEdge(layer, i, j, what: what)
    try SymbolicLibrary.check(options, what: what)
  }

  /// pykan's fix_symbolic(l, i, j, name, fit_params_bool=False) with the affine given
  /// (`function` non-nil: edge (layer, i, j) becomes symbolic with that function and
  /// (a, b, c, d) = `affine`, symbolic mask 1, numeric mask 0), or pykan's unfix_symbolic
  /// (`function` nil: symbolic mask 0, numeric mask 1; the function and affine are kept).
  public func kanSetSymbolic(
    layer: Int, input i: Int, output j: Int, function name: String?, affine: [Float]
  ) throws {
    let what = "set_symbolic"
    let kan = try kanSymbolicEdge(layer, i, j, what: what)
    guard let st = kan.symbolicTensors else { return }
    let e = i * kan.outputDim + j
    guard let name else {
      st.mask.value[e] = 0
      kan.mask.value[e] = 1
      return
    }
    guard let k = SymbolicLibrary.index(of: name) else {
      throw LaminaError.invalid("\(what): unknown function \"\(name)\"")
    }
    guard affine.count == 4, affine.allSatisfy(\.isFinite) else {
      throw LaminaError(.numeric, "\(what): affine must be 4 finite numbers (a, b, c, d)")
    }
    st.mask.value[e] = 1
    st.function.value[e] = Float(k)
    st.affine.value.replaceSubrange((4 * e)..<(4 * e + 4), with: affine)
    kan.mask.value[e] = 0
  }

  /// pykan's fix_symbolic(l, i, j, name): fits c f(a x + b) + d to the edge's curve at the
  /// layer's inputs for `samples`, stores it as the edge's symbolic branch (mask 1) and sets
  /// the numeric mask to 0. Returns the fit.
  @discardableResult
  public func kanFixSymbolic(
    layer: Int, input i: Int, output j: Int, function name: String, samples: [Float]
  ) throws -> SymbolicFit {
    let acts = try kanLayerInputs(samples: samples)
    return try fixSymbolic(layer, i, j, name, acts: acts)
  }

  private func fixSymbolic(_ layer: Int, _ i: Int, _ j: Int, _ name: String, acts: [[Float]])
    throws -> SymbolicFit
  {
    let (x, y) = try kanEdgeSamples(layer, i, j, acts: acts, what: "fix_symbolic")
    guard let fit = try SymbolicLibrary.suggest(x: x, y: y, names: [name]).first else {
      throw LaminaError.invalid("fix_symbolic: unknown function \"\(name)\"")
    }
    setSymbolic(layer, i, j, fit)
    return fit
  }

  private func setSymbolic(_ layer: Int, _ i: Int, _ j: Int, _ fit: SymbolicFit) {
    guard let kan = layers[layer] as? BSplineKANLayer, let st = kan.symbolicTensors,
      let k = SymbolicLibrary.index(of: fit.name)
    else { return }
    let e = i * kan.outputDim + j
    st.mask.value[e] = 1
    st.function.value[e] = Float(k)
    st.affine.value.replaceSubrange(
      (4 * e)..<(4 * e + 4), with: [Float(fit.a), Float(fit.b), Float(fit.c), Float(fit.d)])
    kan.mask.value[e] = 0
  }

  /// One edge's outcome in `kanAutoSymbolic`.
  public struct AutoSymbolicEdge: Sendable {
    /// Layer, input, output.
    public var layer: Int, input: Int, output: Int
    /// The best fit (nil when the edge was pruned and set to "0", or already symbolic).
    public var fit: SymbolicFit?
    /// Whether the edge was fixed (false: R^2 below the threshold, or already symbolic).
    public var fixed: Bool
  }

  /// pykan's auto_symbolic(lib, r2_threshold, weight_simple): for every edge of every
  /// symbolic B-spline layer: skipped when already symbolic; set to "0" when pruned (mask 0);
  /// else the best-scoring function of `library` (default: all) is fixed when its R^2 is at
  /// least `r2Threshold`. Edge samples are the layer inputs for `samples`, computed once
  /// before any edge changes (as pykan's cached activations).
  @discardableResult
  public func kanAutoSymbolic(
    library: [String]? = nil, samples: [Float], r2Threshold: Double = 0,
    weightSimple: Double = 0.8
  ) throws -> [AutoSymbolicEdge] {
    let acts = try kanLayerInputs(samples: samples)
    var out: [AutoSymbolicEdge] = []
    var any = false
    for l in layers.indices {
      guard let kan = layers[l] as? BSplineKANLayer, let st = kan.symbolicTensors else { continue }
      any = true
      for i in 0..<kan.inputDim {
        for j in 0..<kan.outputDim {
          let e = i * kan.outputDim + j
          if st.mask.value[e] != 0 && kan.mask.value[e] == 0 {
            out.append(AutoSymbolicEdge(layer: l, input: i, output: j, fit: nil, fixed: false))
          } else if st.mask.value[e] == 0 && kan.mask.value[e] == 0 {
            let zero = SymbolicFit(
              name: "0", a: 0, b: 0, c: 0, d: 0, r2: 0, complexity: 0, score: 0)
            setSymbolic(l, i, j, zero)
            out.append(AutoSymbolicEdge(layer: l, input: i, output: j, fit: nil, fixed: true))
          } else {
            let (x, y) = try kanEdgeSamples(l, i, j, acts: acts, what: "auto_symbolic")
            let fits = try SymbolicLibrary.suggest(
              x: x, y: y, names: library, weightSimple: weightSimple)
            guard let best = fits.first else { continue }
            let fix = best.r2 >= r2Threshold
            if fix { setSymbolic(l, i, j, best) }
            out.append(AutoSymbolicEdge(layer: l, input: i, output: j, fit: best, fixed: fix))
          }
        }
      }
    }
    guard any else {
      throw LaminaError(
        .unsupported, "auto_symbolic: no layer has a symbolic branch (\"symbolic\": true)")
    }
    return out
  }

  /// A stored (float) number as text with enough digits to read back the same float
  /// (C's "%.9g"), so that callers can build the exact expression and round it themselves
  /// (pykan's ex_round); "0" for both zeros.
  static func symbolicNumber(_ v: Double) -> String {
    let f = Float(v)
    if f == 0 { return "0" }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 32) { buf in
      _ = withVaList([Double(f)]) { vsnprintf(buf.baseAddress!, 32, "%.9g", $0) }
      return String(cString: buf.baseAddress!)
    }
  }

  /// pykan's symbolic_formula(): one formula per output, the symbolic edges composed through
  /// the layers with inputs x_1 ... x_n and every number printed with 9 significant digits
  /// (enough to read back the stored float: "%.9g"). Every layer
  /// must be a symbolic B-spline KAN layer whose active edges (numeric mask non-zero) are all
  /// symbolic, or multiplication nodes (a product of its factors' expressions, as pykan's
  /// MultKAN writes them); otherwise throws .unsupported naming the first numeric edge.
  public func kanSymbolicFormula() throws -> [String] {
    var exprs = (1...inputDim).map { "x_\($0)" }
    let num = { (v: Double) in Model.symbolicNumber(v) }
    for l in layers.indices {
      if let mult = layers[l] as? MultiplicationNodes {
        // Sum nodes pass through; a multiplication node is the product of its factors.
        let owners = mult.inputOwners
        exprs = (0..<mult.outputDim).map { node in
          let factors = owners.indices.filter { owners[$0] == node }.map { exprs[$0] }
          return node < mult.sumCount ? factors[0] : "(" + factors.joined(separator: "*") + ")"
        }
        continue
      }
      let (kan, st) = try kanSymbolicLayer(l, what: "symbolic_formula")
      var next: [String] = []
      for j in 0..<kan.outputDim {
        var terms: [String] = []
        for i in 0..<kan.inputDim {
          let e = i * kan.outputDim + j
          if kan.mask.value[e] != 0 {
            throw LaminaError(
              .unsupported,
              "symbolic_formula: edge (\(l), \(i), \(j)) is numeric; fix it symbolic first")
          }
          guard st.mask.value[e] != 0, let f = SymbolicLibrary.function(at: st.function.value[e])
          else { continue }
          let p = st.affine.value[(4 * e)..<(4 * e + 4)].map { Double($0) }
          let m = Double(st.mask.value[e])
          if f.name == "0" {
            if p[3] * m != 0 { terms.append(num(m * p[3])) }
            continue
          }
          let arg = "\(num(p[0]))*\(exprs[i]) + \(num(p[1]))"
          terms.append("\(num(m * p[2]))*\(f.text("(" + arg + ")")) + \(num(m * p[3]))")
        }
        next.append(terms.isEmpty ? "0" : terms.joined(separator: " + "))
      }
      exprs = next.map { "(\($0))" }
    }
    return exprs.map { String($0.dropFirst().dropLast()) }
  }
}
