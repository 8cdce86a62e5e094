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
  /// The edge score; only pykan's default "edge_forward_spline_n" is supported.
  public var metric = "edge_forward_spline_n"

  /// The metrics Lamina implements.
  public static let metrics = ["edge_forward_spline_n"]

  /// pykan's defaults (off).
  public init() {}

  /// Whether the regulariser changes the objective.
  public var isActive: Bool { lamb > 0 }

  var weights: BSplineKANLayer.SparsityWeights {
    .init(l1: l1, entropy: entropy, coef: coef, coefDiff: coefDiff)
  }
}

extension Model {
  /// Whether any layer is a B-spline KAN layer (the only kind the regulariser scores).
  var hasBSplineKANLayer: Bool { layers.contains { $0 is BSplineKANLayer } }

  /// pykan's `model.reg(reg_metric, lamb_l1, lamb_entropy, lamb_coef, lamb_coefdiff)` after
  /// a forward pass on the `n` rows of `x`: the sum over the B-spline KAN layers of their
  /// sparsity regularisers (see `BSplineKANLayer.sparsityRegularization`); `settings.lamb` is
  /// not applied. Other layers contribute nothing. Throws `.invalidArgument` for a bad
  /// batch or non-finite input, `.unsupported` when the model has no B-spline KAN layer or
  /// the metric is one Lamina does not offer.
  public func kanRegularization(
    _ x: [Float], settings: KANRegularization = KANRegularization()
  ) throws -> Double {
    try Self.checkRegularization(settings, model: self)
    guard inputDim > 0, x.count % inputDim == 0 else {
      throw LaminaError.invalid(
        "x has \(x.count) values, not a multiple of the input width \(inputDim)")
    }
    let n = x.count / inputDim
    try checkBatch(n)
    return try x.withUnsafeBufferPointer { xb in
      try Model.checkFinite(xb.baseAddress!, count: x.count, what: "input x")
      let ws = Workspace()
      forward(xb.baseAddress!, count: n, workspace: ws)
      var total = 0.0
      for (i, layer) in layers.enumerated() {
        guard let kan = layer as? BSplineKANLayer else { continue }
        let input = i == 0 ? xb.baseAddress! : UnsafePointer(ws.outputs[i - 1])
        total += kan.sparsityRegularization(
          input, count: n, weights: settings.weights, gradientScale: nil, dx: nil)
      }
      return total
    }
  }

  /// Refuses regularisation the model cannot have.
  static func checkRegularization(_ settings: KANRegularization, model: Model) throws {
    guard KANRegularization.metrics.contains(settings.metric) else {
      throw LaminaError(
        .unsupported,
        "reg_metric \"\(settings.metric)\" is not supported (supported: edge_forward_spline_n)")
    }
    guard model.hasBSplineKANLayer else {
      throw LaminaError(
        .unsupported,
        "KAN sparsity regularisation (lamb > 0) needs a model with a B-spline KAN layer")
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
      layers[i].backward(
        input, ws.outputs[i], dy, needDx ? cur : nil, count: n, parameterGradients: true)
      if let kan = layers[i] as? BSplineKANLayer {
        total += kan.sparsityRegularization(
          input, count: n, weights: settings.weights, gradientScale: settings.lamb,
          dx: needDx ? cur : nil)
      }
      dy = UnsafePointer(cur)
      swap(&cur, &other)
    }
    return (total, UnsafeMutablePointer(mutating: dy))
  }
}
