#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A Kolmogorov-Arnold layer whose every edge is a learned mixture of several bases, after
/// "Activation Space Selectable KAN" (ASS-KAN):
///
///     phi_ij(x) = sum_k a_ijk phi^k_ij(x),   a_ij = softmax_k(mix_logits[j, i, k] / T)
///     y_j       = sum_i phi_ij(x_i)
///
/// where phi^k_ij is edge (i, j) of component k, a whole single-basis layer of the same
/// widths ("bspline", "chebyshev", "fourier", "rbf" or "rational", each with its own keys
/// and tensors), and T the spec's "temperature".
///
/// Tensors: the trainable "mix_logits" [out, in, K] (zeros at first: a uniform mixture), then
/// each component's tensors under the prefix "bases.<k>." with their usual names and shapes
/// ("bases.0.coef", "bases.0.grid", "bases.1.coef", "bases.2.fouriercoeffs", ...). After
/// `Model.kanKeepStrongest()` a layer is "selected": it has no "mix_logits" and instead the
/// buffer "selection" [out, in, K], fixed weights a_ijk (one-hot: each edge is exactly its
/// chosen component's edge).
///
/// How a component's edge is scaled: each basis's edge function is linear in a set of
/// per-edge tensors (B-spline: scale_base and scale_sp; Chebyshev: coef; Fourier:
/// fouriercoeffs; RBF: spline_linear.weight and base_linear.weight; rational: linear.weight).
/// The layer runs each component's own (optimised) forward and backward on a shadow copy
/// whose per-edge tensors are multiplied by a_ijk, so phi^k_ij is scaled exactly and the
/// gradients with respect to the raw tensors and to a_ijk follow from the shadow's
/// (dL/dtheta = a dL/dtheta', dL/da = sum theta dL/dtheta' over the edge's entries). A
/// per-output bias (Fourier "bias", RBF "base_linear.bias", rational "linear.bias") belongs
/// to no single edge: it is shared equally by the output's `in` edges, each carrying
/// b_j / in, so it is scaled by the mean of a_ij over i. Tensors shared by many edges
/// (rational numerator and denominator, B-spline grid and mask) are used unscaled. Edges are
/// therefore separable, and `edgeValues` (edge curves, plots) evaluates each one alone.
/// Components that mix inputs are refused: RBF "normalize" (a LayerNorm over the inputs) and
/// the B-spline symbolic branch.
///
/// Shadows are lent from a pool (one set per concurrent caller, reused across calls), so
/// `forward` reads the layer only, may run on many threads at once, and allocates nothing
/// once warm. Each call copies the component tensors into its shadows (O(parameters)) and
/// then costs what the K single-basis layers cost together.
public final class MixedKANLayer: Layer, KANBasisLayer {
  /// The value of the spec's "basis" key for this layer.
  public static let basisName = "mixed"
  /// The components when the spec gives no "bases".
  public static let defaultBases = ["bspline", "chebyshev", "fourier", "rbf"]
  /// Bounds of "temperature".
  public static let temperatureRange = 1e-6...1e6

  /// The spec keys of a mixed layer, parsed and checked before anything is allocated.
  struct Options: KANBasisOptions {
    static var basisName: String { MixedKANLayer.basisName }
    /// The components, in spec order ("bases").
    var bases: [any KANBasisOptions]
    /// Softmax temperature T ("temperature", default 1).
    var temperature: Double
    /// Whether the layer holds a fixed "selection" instead of trainable "mix_logits"
    /// ("selected", default false; `kanKeepStrongest` sets it).
    var selected: Bool

    /// The component names, in order.
    var names: [String] { bases.map { type(of: $0).basisName } }

    /// Reads "bases" (default `defaultBases`; each entry a name or an object
    /// `{"name": ..., <that basis's keys>}`; at least two, no duplicates, no "mixed"),
    /// "temperature" and "selected".
    static func parse(_ reader: JSONObjectReader) throws -> Options {
      let what = reader.what
      var items: [JSONValue] = defaultBases.map { .string($0) }
      if let value = reader.value("bases") {
        guard case .array(let list) = value else {
          throw LaminaError.invalid(
            "\(what): \"bases\" must be an array of basis names or objects "
              + "{\"name\": ..., <keys>}, not \(value.typeName)")
        }
        items = list
      }
      guard items.count >= 2 else {
        throw LaminaError.invalid(
          "\(what): \"bases\" lists \(items.count) bases; a mixed layer needs at least two")
      }
      var bases: [any KANBasisOptions] = []
      var seen: [String] = []
      for (k, item) in items.enumerated() {
        let label = "\(what): bases[\(k)]"
        let name: String
        let entry: JSONObjectReader
        switch item {
        case .string(let s):
          name = s
          entry = try JSONObjectReader(.object([]), what: label)
        case .object:
          entry = try JSONObjectReader(item, what: label)
          name = try entry.string("name")
        default:
          throw LaminaError.invalid(
            "\(label) must be a basis name or an object {\"name\": ..., <keys>}, not \(item.typeName)"
          )
        }
        guard name != MixedKANLayer.basisName else {
          throw LaminaError.invalid("\(label): a mixed layer cannot contain \"mixed\" (no nesting)")
        }
        guard !seen.contains(name) else {
          throw LaminaError.invalid("\(label): \"\(name)\" is listed twice in \"bases\"")
        }
        seen.append(name)
        let basis = try KANBasis.parse(name: name, entry, what: label)
        try entry.finish()
        if let why = basis.mixtureRestriction {
          throw LaminaError.invalid("\(label): \(why)")
        }
        bases.append(basis)
      }
      let temperature = try reader.double(
        "temperature", default: 1, min: temperatureRange.lowerBound,
        max: temperatureRange.upperBound)
      let selected = try reader.bool("selected", default: false)
      return Options(bases: bases, temperature: temperature, selected: selected)
    }

    /// "bases" as objects with every key, "temperature", "selected".
    var specPairs: [(String, JSONValue)] {
      pairs(bases)
    }

    private func pairs(_ list: [any KANBasisOptions]) -> [(String, JSONValue)] {
      let entries: [JSONValue] = list.map {
        .object([("name", .string(type(of: $0).basisName))] + $0.specPairs)
      }
      return [
        ("bases", .array(entries)), ("temperature", .number(temperature)),
        ("selected", .bool(selected)),
      ]
    }

    func resolved(input: Int) -> Options {
      Options(
        bases: bases.map { $0.resolved(input: input) }, temperature: temperature,
        selected: selected)
    }

    func validate(input: Int, output: Int, what: String) throws {
      for (k, b) in bases.enumerated() {
        try b.validate(
          input: input, output: output, what: "\(what): bases[\(k)] (\(type(of: b).basisName))")
      }
    }

    func parameterBudget(input: Int, output: Int) -> [(Int, Int)] {
      bases.flatMap { $0.parameterBudget(input: input, output: output) } + [
        (input, output * bases.count)
      ]
    }

    func makeLayer(input: Int, output: Int, rng: inout RandomSource) throws -> Layer {
      try MixedKANLayer(input: input, output: output, options: self, rng: &rng)
    }
  }

  /// Features per input row.
  public let inputDim: Int
  /// Features per output row.
  public let outputDim: Int
  /// The component names, in order ("bspline", "chebyshev", ...).
  public let componentNames: [String]
  /// Softmax temperature T.
  public let temperature: Double
  /// Whether the mixture is a fixed "selection" buffer rather than trainable logits.
  public var isSelected: Bool { selection != nil }
  /// "mix_logits" [out, in, K], or nil in a selected layer.
  public let logits: Parameter?
  /// "selection" [out, in, K] fixed weights, or nil while the mixture is learned.
  public let selection: Parameter?
  /// Per component: its parameters as this layer names them ("bases.<k>.<name>").
  let componentParameters: [[Parameter]]
  /// Per component: its buffers as this layer names them.
  let componentBuffers: [[Parameter]]
  /// Per component and parameter: how it scales with the mixture (nil: unscaled).
  let layouts: [[KANEdgeLayout?]]
  /// The component layers the shadows are copied from (their tensors are not read: the
  /// values live in `componentParameters` and `componentBuffers`).
  let prototypes: [Layer]
  /// The options the layer was built from (resolved for its input width).
  private let options: Options
  /// Shadow sets lent to calls.
  private let shadows = ObjectPool<[Shadow]>()
  /// Per-call scratch (mixture weights, gradient sums, temporary outputs).
  let scratch = ScratchPool()

  /// Number of components K.
  public var componentCount: Int { componentNames.count }

  /// An `input` -> `output` layer with one component per entry of `options.bases`, each
  /// drawn from `rng` in order (the mixture starts uniform and draws nothing).
  convenience init(input: Int, output: Int, options: Options, rng: inout RandomSource) throws {
    var components: [Layer] = []
    for b in options.bases {
      components.append(try b.makeLayer(input: input, output: output, rng: &rng))
    }
    try self.init(options: options.resolved(input: input), components: components)
  }

  /// A layer with `components` (made from `options.bases`, in order, all of the same
  /// widths), whose tensors it takes over. Throws `.internal` if a component is of a kind
  /// this layer cannot scale per edge.
  init(options: Options, components: [Layer]) throws {
    guard components.count == options.bases.count, components.count >= 2,
      let first = components.first
    else { throw LaminaError(.internal, "mixed kan layer: component count mismatch") }
    inputDim = first.inputDim
    outputDim = first.outputDim
    self.options = options
    componentNames = options.names
    temperature = options.temperature
    prototypes = components
    var params: [[Parameter]] = []
    var bufs: [[Parameter]] = []
    var lays: [[KANEdgeLayout?]] = []
    for (k, c) in components.enumerated() {
      guard c.inputDim == inputDim, c.outputDim == outputDim else {
        throw LaminaError(.internal, "mixed kan layer: component widths differ")
      }
      let layout = try Self.edgeLayouts(of: c)
      for (p, l) in zip(c.parameters, layout) {
        guard let l else { continue }
        let expected: Int
        switch l {
        case .edges(let r, _, let m): expected = r * inputDim * outputDim * m
        case .outputs: expected = outputDim
        }
        guard p.count == expected else {
          throw LaminaError(.internal, "mixed kan layer: \(p.name) has an unexpected size")
        }
      }
      lays.append(layout)
      params.append(
        c.parameters.map {
          Parameter(name: "bases.\(k).\($0.name)", shape: $0.shape, value: $0.value)
        }
      )
      bufs.append(
        c.buffers.map { Parameter(name: "bases.\(k).\($0.name)", shape: $0.shape, value: $0.value) }
      )
    }
    componentParameters = params
    componentBuffers = bufs
    layouts = lays
    let count = inputDim * outputDim * components.count
    let shape = [outputDim, inputDim, components.count]
    if options.selected {
      logits = nil
      selection = Parameter(
        name: "selection", shape: shape,
        value: [Float](repeating: 1 / Float(components.count), count: count))
    } else {
      logits = Parameter(
        name: "mix_logits", shape: shape, value: [Float](repeating: 0, count: count))
      selection = nil
    }
  }

  /// Shares nothing with `other`.
  private init(copying other: MixedKANLayer) {
    inputDim = other.inputDim
    outputDim = other.outputDim
    options = other.options
    componentNames = other.componentNames
    temperature = other.temperature
    prototypes = other.prototypes.map { $0.copy() }
    componentParameters = other.componentParameters.map { $0.map { $0.copy() } }
    componentBuffers = other.componentBuffers.map { $0.map { $0.copy() } }
    layouts = other.layouts
    logits = other.logits?.copy()
    selection = other.selection?.copy()
  }

  /// Which parameters of a component layer scale with its edges, and how (see
  /// `KANBasisLayer.edgeLayouts`). Throws `.internal` for a layer without such a layout.
  static func edgeLayouts(of layer: Layer) throws -> [KANEdgeLayout?] {
    guard let basis = layer as? any KANBasisLayer else {
      throw LaminaError(.internal, "mixed kan layer: unsupported component \(type(of: layer))")
    }
    do {
      return try basis.edgeLayouts()
    } catch let error as LaminaError {
      throw LaminaError(.internal, "mixed kan layer: \(error.message)")
    }
  }

  // MARK: - Layer

  /// "mix_logits" (unless selected), then every component's parameters in order.
  public var parameters: [Parameter] {
    (logits.map { [$0] } ?? []) + componentParameters.flatMap { $0 }
  }

  /// "selection" (when selected), then every component's buffers in order.
  public var buffers: [Parameter] {
    (selection.map { [$0] } ?? []) + componentBuffers.flatMap { $0 }
  }

  /// `{"type": "kan", "output": O, "basis": "mixed", "bases": [...], "temperature": T,
  /// "selected": S}`, every component key filled in.
  public var spec: JSONValue { options.layerSpec(input: inputDim, output: outputDim) }

  /// A deep copy with its own tensors.
  public func copy() -> Layer { MixedKANLayer(copying: self) }

  // MARK: - Mixture weights

  /// Number of mixture weights, out * in * K.
  var weightCount: Int { outputDim * inputDim * componentCount }

  /// Writes a_ijk at [(j * in + i) * K + k]: the softmax of mix_logits / T per edge, or the
  /// selection's values.
  func mixtureWeights(into a: UnsafeMutablePointer<Float>) {
    let kc = componentCount
    if let selection {
      selection.value.withUnsafeBufferPointer {
        a.update(from: $0.baseAddress!, count: weightCount)
      }
      return
    }
    guard let logits else { return }
    let inverseT = 1 / temperature
    logits.value.withUnsafeBufferPointer { lb in
      let l = lb.baseAddress!
      for e in 0..<(outputDim * inputDim) {
        let row = l + e * kc
        var top = -Double.infinity
        for k in 0..<kc { top = max(top, Double(row[k]) * inverseT) }
        var sum = 0.0
        for k in 0..<kc {
          let v = exp(Double(row[k]) * inverseT - top)
          a[e * kc + k] = Float(v)
          sum += v
        }
        let inverse = 1 / sum
        for k in 0..<kc { a[e * kc + k] = Float(Double(a[e * kc + k]) * inverse) }
      }
    }
  }

  /// The mixture weights [out, in, K] (what `lamina_model_kan_mixture` returns).
  public var mixture: [Float] {
    var a = [Float](repeating: 0, count: weightCount)
    a.withUnsafeMutableBufferPointer { mixtureWeights(into: $0.baseAddress!) }
    return a
  }

  /// Whether component k has a non-zero weight on some edge (components without one are
  /// skipped: after `kanKeepStrongest` most edges use one component only).
  func isUsed(_ k: Int, _ a: UnsafePointer<Float>) -> Bool {
    let kc = componentCount
    for e in 0..<(outputDim * inputDim) where a[e * kc + k] != 0 { return true }
    return false
  }

  // MARK: - Shadows

  /// A shadow copy of one component and its tensor lists, taken once when the shadow is
  /// made: a layer's `parameters` and `buffers` may build a new array on every read, which
  /// every call's `load` and `gatherGradients` would otherwise allocate.
  struct Shadow {
    /// The component's copy the calls run.
    let layer: Layer
    /// `layer.parameters`, in order.
    let parameters: [Parameter]
    /// `layer.buffers`, in order.
    let buffers: [Parameter]
    /// `layer` as a jet layer (every basis a mixture takes is one; see MixedKANLayer+Jet).
    let jet: (any JetLayer)?

    init(_ layer: Layer) {
      self.layer = layer
      parameters = layer.parameters
      buffers = layer.buffers
      jet = layer as? any JetLayer
    }
  }

  /// Copies component k's tensors into `shadow`, its per-edge tensors scaled by the
  /// weights `a` ([out, in, K]).
  func load(_ shadow: Shadow, component k: Int, weights a: UnsafePointer<Float>) {
    let (inp, out, kc) = (inputDim, outputDim, componentCount)
    for (b, dst) in shadow.buffers.enumerated() {
      let src = componentBuffers[k][b]
      src.value.withUnsafeBufferPointer { s in
        dst.value.withUnsafeMutableBufferPointer {
          $0.baseAddress!.update(from: s.baseAddress!, count: s.count)
        }
      }
    }
    for (p, dst) in shadow.parameters.enumerated() {
      let src = componentParameters[k][p]
      src.value.withUnsafeBufferPointer { sb in
        dst.value.withUnsafeMutableBufferPointer { db in
          let s = sb.baseAddress!
          let d = db.baseAddress!
          switch layouts[k][p] {
          case nil:
            d.update(from: s, count: sb.count)
          case .edges(let repeats, let outputMajor, let inner)?:
            let (na, nb) = outputMajor ? (out, inp) : (inp, out)
            for r in 0..<repeats {
              for u in 0..<na {
                for v in 0..<nb {
                  let (i, j) = outputMajor ? (v, u) : (u, v)
                  let w = a[(j * inp + i) * kc + k]
                  let base = ((r * na + u) * nb + v) * inner
                  for m in 0..<inner { d[base + m] = s[base + m] * w }
                }
              }
            }
          case .outputs?:
            for j in 0..<out {
              var sum: Float = 0
              for i in 0..<inp { sum += a[(j * inp + i) * kc + k] }
              d[j] = s[j] * (sum / Float(inp))
            }
          }
        }
      }
    }
  }

  /// Adds the shadow's parameter gradients (with respect to the scaled tensors) into
  /// component k's gradients and dL/da into `da` ([out, in, K]).
  func gatherGradients(
    _ shadow: Shadow, component k: Int, weights a: UnsafePointer<Float>,
    into da: UnsafeMutablePointer<Float>
  ) {
    let (inp, out, kc) = (inputDim, outputDim, componentCount)
    for (p, sp) in shadow.parameters.enumerated() {
      let own = componentParameters[k][p]
      sp.gradient.withUnsafeBufferPointer { gb in
        own.value.withUnsafeBufferPointer { vb in
          own.gradient.withUnsafeMutableBufferPointer { ob in
            let g = gb.baseAddress!
            let v = vb.baseAddress!
            let o = ob.baseAddress!
            switch layouts[k][p] {
            case nil:
              for e in 0..<gb.count { o[e] += g[e] }
            case .edges(let repeats, let outputMajor, let inner)?:
              let (na, nb) = outputMajor ? (out, inp) : (inp, out)
              for r in 0..<repeats {
                for u in 0..<na {
                  for v2 in 0..<nb {
                    let (i, j) = outputMajor ? (v2, u) : (u, v2)
                    let w = (j * inp + i) * kc + k
                    let base = ((r * na + u) * nb + v2) * inner
                    var dot: Float = 0
                    for m in 0..<inner {
                      o[base + m] += a[w] * g[base + m]
                      dot += v[base + m] * g[base + m]
                    }
                    da[w] += dot
                  }
                }
              }
            case .outputs?:
              let share = 1 / Float(inp)
              for j in 0..<out {
                var sum: Float = 0
                for i in 0..<inp { sum += a[(j * inp + i) * kc + k] }
                o[j] += g[j] * (sum * share)
                let d = v[j] * g[j] * share
                for i in 0..<inp { da[(j * inp + i) * kc + k] += d }
              }
            }
          }
        }
      }
    }
  }

  /// Runs `body` with a set of K shadows of its own.
  func withShadows<R>(_ body: ([Shadow]) -> R) -> R {
    shadows.with(make: { prototypes.map { Shadow($0.copy()) } }, body)
  }

  // MARK: - Forward and backward

  /// y = sum_k (component k with its edges scaled by a_:,:,k)(x). Reads the layer only.
  public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    guard n > 0 else { return }
    let outCount = n * outputDim
    scratch.withBuffer(count: weightCount + outCount) { s in
      let a = s
      let temp = s + weightCount
      mixtureWeights(into: a)
      y.update(repeating: 0, count: outCount)
      withShadows { set in
        for k in 0..<componentCount where isUsed(k, a) {
          load(set[k], component: k, weights: a)
          set[k].layer.forward(x, temp, count: n)
          for e in 0..<outCount { y[e] += temp[e] }
        }
      }
    }
  }

  /// Back-propagates through every used component's shadow: dx is the sum of theirs;
  /// parameter gradients go to the component tensors (scaled by a) and, through the
  /// softmax, to mix_logits: dL/dw_ijk = a_ijk (g_ijk - sum_l a_ijl g_ijl) / T with
  /// g_ijk = dL/da_ijk.
  public func backward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool
  ) {
    guard n > 0, parameterGradients || dx != nil else { return }
    backwardThroughComponents(
      inputCount: n * inputDim, dx, parameterGradients: parameterGradients
    ) { shadow, componentDx in
      shadow.layer.backward(
        x, y, dy, componentDx, count: n, parameterGradients: parameterGradients)
    }
  }

  /// What `backward` and `jetBackward` share: `pass(shadow, dx)` runs one used component's
  /// backward (its dx, `inputCount` floats, into the given buffer, or nil); the dx are
  /// summed into `dx`, and the component gradients gathered (scaled by a) and carried
  /// through the softmax to mix_logits.
  func backwardThroughComponents(
    inputCount inCount: Int, _ dx: UnsafeMutablePointer<Float>?, parameterGradients: Bool,
    _ pass: (Shadow, UnsafeMutablePointer<Float>?) -> Void
  ) {
    let daCount = parameterGradients ? weightCount : 0
    let tempCount = dx != nil ? inCount : 0
    scratch.withBuffer(count: weightCount + daCount + tempCount) { s in
      let a = s
      let da = s + weightCount
      let temp = da + daCount
      mixtureWeights(into: a)
      if parameterGradients { da.update(repeating: 0, count: weightCount) }
      dx?.update(repeating: 0, count: inCount)
      withShadows { set in
        for k in 0..<componentCount where isUsed(k, a) {
          let shadow = set[k]
          load(shadow, component: k, weights: a)
          if parameterGradients {
            for p in shadow.parameters {
              p.gradient.withUnsafeMutableBufferPointer {
                $0.baseAddress!.update(repeating: 0, count: $0.count)
              }
            }
          }
          pass(shadow, dx != nil ? temp : nil)
          if let dx { for e in 0..<inCount { dx[e] += temp[e] } }
          if parameterGradients { gatherGradients(shadow, component: k, weights: a, into: da) }
        }
      }
      if parameterGradients { addLogitGradients(weights: a, weightGradients: da) }
    }
  }

  /// Adds dL/dmix_logits from dL/da (`da`) through the softmax of the weights `a` (nothing
  /// for a selected layer): dL/dw_ijk = a_ijk (g_ijk - sum_l a_ijl g_ijl) / T.
  func addLogitGradients(weights a: UnsafePointer<Float>, weightGradients da: UnsafePointer<Float>)
  {
    guard let logits else { return }
    let kc = componentCount
    let inverseT = Float(1 / temperature)
    logits.gradient.withUnsafeMutableBufferPointer { gb in
      let g = gb.baseAddress!
      for e in 0..<(outputDim * inputDim) {
        var mean: Float = 0
        for k in 0..<kc { mean += a[e * kc + k] * da[e * kc + k] }
        for k in 0..<kc {
          g[e * kc + k] += a[e * kc + k] * (da[e * kc + k] - mean) * inverseT
        }
      }
    }
  }

  // MARK: - One component on its own

  /// phi^k_ij(x) for `n` points: edge (i, j) of component k at full weight (a = 1), as
  /// the component's layer computes it. Reads the layer only.
  public func componentEdgeValues(
    component k: Int, input i: Int, output j: Int, at x: UnsafePointer<Float>, count n: Int,
    into y: UnsafeMutablePointer<Float>
  ) {
    precondition(
      k >= 0 && k < componentCount && i >= 0 && i < inputDim && j >= 0 && j < outputDim,
      "componentEdgeValues: index out of range")
    var a = [Float](repeating: 0, count: weightCount)
    a[(j * inputDim + i) * componentCount + k] = 1
    y.update(repeating: 0, count: n)
    a.withUnsafeBufferPointer {
      addEdge(component: k, input: i, output: j, weights: $0.baseAddress!, x, n, y)
    }
  }

  /// Adds component k's edge (i, j) scaled by `weights` (zero on every other edge) at the
  /// n points x into y: the shadow runs on rows whose column i is x and the others 0,
  /// and every other edge of the shadow is zero.
  private func addEdge(
    component k: Int, input i: Int, output j: Int, weights a: UnsafePointer<Float>,
    _ x: UnsafePointer<Float>, _ n: Int, _ y: UnsafeMutablePointer<Float>
  ) {
    guard n > 0 else { return }
    let rows = min(n, 4096)
    var xs = [Float](repeating: 0, count: rows * inputDim)
    var ys = [Float](repeating: 0, count: rows * outputDim)
    withShadows { set in
      let shadow = set[k]
      load(shadow, component: k, weights: a)
      var start = 0
      while start < n {
        let m = min(rows, n - start)
        for r in 0..<m { xs[r * inputDim + i] = x[start + r] }
        xs.withUnsafeBufferPointer { xb in
          ys.withUnsafeMutableBufferPointer {
            shadow.layer.forward(xb.baseAddress!, $0.baseAddress!, count: m)
          }
        }
        for r in 0..<m { y[start + r] += ys[r * outputDim + j] }
        start += m
      }
    }
  }
}

extension MixedKANLayer: KANEdgeFunctions {
  /// phi_ij(x) = sum_k a_ijk phi^k_ij(x), components with weight 0 on this edge skipped.
  public func edgeValues(
    input i: Int, output j: Int, at x: UnsafePointer<Float>, count n: Int,
    into y: UnsafeMutablePointer<Float>
  ) {
    precondition(
      i >= 0 && i < inputDim && j >= 0 && j < outputDim, "edgeValues: edge index out of range")
    y.update(repeating: 0, count: n)
    guard n > 0 else { return }
    let full = mixture
    let kc = componentCount
    let e = (j * inputDim + i) * kc
    for k in 0..<kc where full[e + k] != 0 {
      var a = [Float](repeating: 0, count: weightCount)
      a[e + k] = full[e + k]
      a.withUnsafeBufferPointer {
        addEdge(component: k, input: i, output: j, weights: $0.baseAddress!, x, n, y)
      }
    }
  }
}
