/// pykan's sparsity regularisation (`MultKAN.reg`, as `fit(lamb=...)` adds it to the loss)
/// for models with B-spline KAN layers.

/// The regulariser's settings: the trainer config keys "lamb", "lamb_l1", "lamb_entropy",
/// "lamb_coef", "lamb_coefdiff", "reg_metric", with pykan's `fit` defaults.
public struct KANRegularization: Equatable, Sendable {
  /// Overall weight: the trained objective is loss + lamb * reg. 0 (the default) is off.
  public var lamb: Double = 0
  /// Weight of the l1 term (sum of edge scores).
  public var l1: Double = 1
  /// Weight of the row and column entropy terms.
  public var entropy: Double = 2
  /// Weight of the coefficient magnitude term.
  public var coef: Double = 0
  /// Weight of the coefficient difference term.
  public var coefDiff: Double = 0
  /// The edge score (pykan's `reg_metric`): "edge_forward_spline_n" (the default),
  /// "edge_forward_spline_u" or "edge_forward_sum" (see BSplineKANLayer+Regularization).
  public var metric = "edge_forward_spline_n"

  /// The metrics Lamina implements (pykan's forward scores; its "edge_backward" and
  /// "node_backward" need attribution scores and are not offered).
  public static let metrics = [
    "edge_forward_spline_n", "edge_forward_spline_u", "edge_forward_sum",
  ]

  /// pykan's defaults (off).
  public init() {}

  /// Whether the regulariser changes the objective.
  public var isActive: Bool { lamb > 0 }

  /// The regulariser's keys of a trainer config, read from their own JSON object (every
  /// key optional, with the defaults above): "lamb_l1", "lamb_entropy", "lamb_coef",
  /// "lamb_coefdiff" (each 0 to 1e6) and "reg_metric". `lamb` is not a key here (the
  /// value it would weight is what this describes). Throws `.invalidArgument` for a value
  /// out of range, an unknown metric or an unknown key.
  public init(settings json: JSONValue) throws {
    let r = try JSONObjectReader(json, what: "regularisation settings")
    l1 = try r.double("lamb_l1", default: 1, min: 0, max: 1e6)
    entropy = try r.double("lamb_entropy", default: 2, min: 0, max: 1e6)
    coef = try r.double("lamb_coef", default: 0, min: 0, max: 1e6)
    coefDiff = try r.double("lamb_coefdiff", default: 0, min: 0, max: 1e6)
    metric = try r.string("reg_metric", default: "edge_forward_spline_n")
    guard Self.metrics.contains(metric) else {
      throw LaminaError.invalid(
        "regularisation settings: unknown or unsupported reg_metric \"\(metric)\" "
          + "(supported: \(Self.metrics.joined(separator: ", ")))")
    }
    try r.finish()
  }

  var weights: BSplineKANLayer.SparsityWeights {
    .init(
      l1: l1, entropy: entropy, coef: coef, coefDiff: coefDiff,
      metric: BSplineKANLayer.ScoreMetric(name: metric) ?? .splineN)
  }
}

extension Model {
  /// Whether any layer is one the regulariser scores (`SparsityRegularizable`: the B-spline
  /// KAN layers).
  var hasRegularizableLayer: Bool { layers.contains { $0 is any SparsityRegularizable } }

  /// pykan's `model.reg(reg_metric, lamb_l1, lamb_entropy, lamb_coef, lamb_coefdiff)` after
  /// a forward pass on the `n` rows of `x`: the sum over the B-spline KAN layers of their
  /// sparsity regularisers (see `BSplineKANLayer.sparsityRegularization`); `settings.lamb` is
  /// not applied. Other layers contribute nothing. Throws `.invalidArgument` when x is not
  /// whole rows, `.shape` for no rows, `.numeric` for non-finite input, `.outOfMemory` past
  /// the batch limit, `.unsupported` when the model has no B-spline KAN layer or the metric
  /// is one Lamina does not offer here (see `checkRegularization`).
  public func kanRegularization(
    _ x: [Float], settings: KANRegularization = KANRegularization()
  ) throws -> Double {
    guard inputDim > 0, x.count % inputDim == 0 else {
      throw LaminaError.invalid(
        "x has \(x.count) values, not a multiple of the input width \(inputDim)")
    }
    return try x.withUnsafeBufferPointer { xb in
      try kanRegularization(xb.baseAddress!, count: x.count / inputDim, settings: settings)
    }
  }

  /// `kanRegularization(_:settings:)` on the `n` rows (n x inputDim) at `x`; n must be at
  /// least 1 (with one row every std is 0, so only the coefficient terms remain). Reads the
  /// model only: safe from many threads at once.
  public func kanRegularization(
    _ x: UnsafePointer<Float>, count n: Int, settings: KANRegularization = KANRegularization()
  ) throws -> Double {
    try Self.checkRegularization(settings, model: self)
    guard n > 0 else {
      throw LaminaError(.shape, "the regulariser needs at least one sample; n is 0")
    }
    try checkBatch(n)
    try Model.checkFinite(x, count: n * inputDim, what: "input x")
    let ws = Workspace()
    forward(x, count: n, workspace: ws)
    var total = 0.0
    for (i, layer) in layers.enumerated() {
      guard let kan = layer as? any SparsityRegularizable else { continue }
      let input = i == 0 ? x : UnsafePointer(ws.outputs[i - 1])
      total += kan.sparsityRegularization(
        input, count: n, weights: settings.weights, scratch: ws.regularizationScratch,
        gradientScale: nil, dx: nil)
    }
    return total
  }

  /// Refuses regularisation the model cannot have: an unknown metric, no B-spline KAN
  /// layer, or "edge_forward_spline_u" / "edge_forward_sum" on a layer with symbolic edges
  /// (pykan's versions add the symbolic outputs to those scores; Lamina's do not).
  static func checkRegularization(_ settings: KANRegularization, model: Model) throws {
    guard KANRegularization.metrics.contains(settings.metric) else {
      throw LaminaError(
        .unsupported,
        "reg_metric \"\(settings.metric)\" is not supported (supported: "
          + KANRegularization.metrics.joined(separator: ", ") + ")")
    }
    guard model.hasRegularizableLayer else {
      throw LaminaError(
        .unsupported,
        "KAN sparsity regularisation (lamb > 0) needs a model with a B-spline KAN layer")
    }
    if settings.metric != "edge_forward_spline_n" {
      for (l, layer) in model.layers.enumerated() {
        if let kan = layer as? any SparsityRegularizable, kan.hasSymbolicEdges {
          throw LaminaError(
            .unsupported,
            "reg_metric \"\(settings.metric)\" is not supported on layer \(l), which has "
              + "symbolic edges (use edge_forward_spline_n)")
        }
      }
    }
  }

  /// `backward` (with parameter gradients) plus lamb * reg: after each B-spline KAN layer's
  /// backward, adds lamb * dreg/dparameters and lamb * dreg/d(input) into the gradient that
  /// flows on into the layer before. Returns reg (without lamb) and dL/dx (n x inputDim,
  /// valid until the next pass and only when `ws.wantInputGradient`).
  @discardableResult
  func backwardRegularized(
    _ x: UnsafePointer<Float>, count n: Int, workspace ws: Workspace,
    settings: KANRegularization
  ) -> (reg: Double, inputGradient: UnsafeMutablePointer<Float>) {
    var dy = UnsafePointer(ws.gradientOut)
    var (cur, other) = (ws.gradientA, ws.gradientB)
    var total = 0.0
    for i in stride(from: layers.count - 1, through: 0, by: -1) {
      let input = i == 0 ? x : UnsafePointer(ws.outputs[i - 1])
      let needDx = i > 0 || ws.wantInputGradient
      backwardLayer(
        i, input, dy, needDx ? cur : nil, count: n, workspace: ws, parameterGradients: true)
      if let kan = layers[i] as? any SparsityRegularizable {
        total += kan.sparsityRegularization(
          input, count: n, weights: settings.weights, scratch: ws.regularizationScratch,
          gradientScale: settings.lamb, dx: needDx ? cur : nil)
      }
      dy = UnsafePointer(cur)
      swap(&cur, &other)
    }
    return (total, UnsafeMutablePointer(mutating: dy))
  }
}
