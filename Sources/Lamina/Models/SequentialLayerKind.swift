/// One layer kind a sequential spec may name by "type": how an entry of that type is read
/// and checked. Every kind is one `static let` beside its layer and one line in
/// `ModelBuilder.sequentialLayerKinds`.
struct SequentialLayerKind {
  /// The entry's "type" value.
  let name: String
  /// Reads and checks an entry (`item`, whose "type" `reader` has read) for a layer after
  /// one giving `input` features per row, allocating nothing; `what` prefixes error
  /// messages. Throws `.invalidArgument` for bad settings.
  let parse:
    (_ item: JSONValue, _ reader: JSONObjectReader, _ input: Int, _ what: String) throws ->
      any SequentialLayerPlan
}

/// A sequential spec entry, read and checked but not yet built: the builder checks every
/// entry and the whole parameter budget before any layer is allocated.
protocol SequentialLayerPlan {
  /// Features per row of the layer it builds.
  var outputWidth: Int { get }
  /// Its parameter count as factors to multiply (`ModelBuilder.checkParameterBudget`).
  var budget: [(Int, Int)] { get }
  /// The activation it applies, for activation entries (a dense layer before one resolves
  /// its "auto" initialiser from it); nil for the others.
  var activation: Activation? { get }
  /// The layer, its initial weights drawn from `context.rng`.
  func build(input: Int, context: inout SequentialBuildContext) throws -> Layer
}

extension SequentialLayerPlan {
  /// Most entries apply no activation.
  var activation: Activation? { nil }
}

/// What building one entry of a sequential spec may read besides its own settings.
struct SequentialBuildContext {
  /// The stream every layer's initial weights are drawn from, in entry order.
  var rng: RandomSource
  /// The spec's first activation (the hidden layers' activation, for initialisers).
  let hiddenActivation: Activation?
  /// The activation of the entry right after the one being built, if it is one.
  var next: Activation?
  /// Dense layers built so far (the first one is drawn as a first layer, as SIREN wants).
  var denseLayersBuilt = 0
}
