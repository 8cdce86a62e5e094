/// A sequential spec's `{"type": "dense", "output": N, "bias": true, "init": "auto",
/// "bias_init": "auto"}` entry.
extension SequentialLayerKind {
  /// The "dense" kind.
  static let dense = SequentialLayerKind(name: "dense", parse: DensePlan.parse)
}

/// A checked "dense" entry.
struct DensePlan: SequentialLayerPlan {
  /// Features per row in.
  let input: Int
  /// Features per row out.
  let output: Int
  /// Whether the layer has a bias.
  let bias: Bool
  /// The weight and bias initialisers ("auto" resolved when built).
  let initializer: Initializer
  let biasInitializer: Initializer

  /// Reads the entry's keys (see `SequentialLayerKind.parse`).
  static func parse(
    _ item: JSONValue, _ lr: JSONObjectReader, _ input: Int, _ what: String
  ) throws -> any SequentialLayerPlan {
    let output = try lr.int("output", min: 1, max: Limits.maxWidth)
    let bias = try lr.bool("bias", default: true)
    let ini = try Initializer.parse(lr.string("init", default: "auto"), what: what)
    let bini = try Initializer.parse(lr.string("bias_init", default: "auto"), what: what)
    try lr.finish()
    return DensePlan(
      input: input, output: output, bias: bias, initializer: ini, biasInitializer: bini)
  }

  /// Same as `output`.
  var outputWidth: Int { output }
  /// The weights and a bias per output (counted whether or not the layer has one).
  var budget: [(Int, Int)] { [(input + 1, output)] }

  /// The layer, its "auto" initialiser resolved from the activation after it and the
  /// spec's hidden activation, as the "mlp" kind resolves it.
  func build(input: Int, context: inout SequentialBuildContext) throws -> Layer {
    let dense = Dense(
      input: input, output: output, bias: bias, initializer: initializer,
      biasInitializer: biasInitializer)
    let next = context.next
    let hidden = context.hiddenActivation
    let resolved = ModelBuilder.resolve(initializer, next: next, hidden: hidden)
    let omega = ModelBuilder.omega0(next?.name == "sine" ? next : hidden)
    ModelBuilder.initialize(
      dense, resolved: resolved, firstLayer: context.denseLayersBuilt == 0, omega0: omega,
      rng: &context.rng)
    context.denseLayersBuilt += 1
    return dense
  }
}
