/// A sequential spec's `{"type": "kan", "output": N, "basis": ..., <basis keys>}` entry.
extension SequentialLayerKind {
  /// The "kan" kind.
  static let kan = SequentialLayerKind(name: "kan", parse: KANPlan.parse)
}

/// A checked "kan" entry.
struct KANPlan: SequentialLayerPlan {
  /// Features per row in.
  let input: Int
  /// Features per row out.
  let output: Int
  /// The basis and its settings.
  let basis: any KANBasisOptions

  /// Reads the entry's basis keys and checks the basis's width rules.
  static func parse(
    _ item: JSONValue, _ lr: JSONObjectReader, _ input: Int, _ what: String
  ) throws -> any SequentialLayerPlan {
    let output = try lr.int("output", min: 1, max: Limits.maxWidth)
    let basis = try KANBasis.parse(lr)
    try lr.finish()
    try basis.validate(input: input, output: output, what: what)
    return KANPlan(input: input, output: output, basis: basis)
  }

  /// Same as `output`.
  var outputWidth: Int { output }
  /// The basis's parameter budget.
  var budget: [(Int, Int)] { basis.parameterBudget(input: input, output: output) }

  /// The basis's layer, drawn from `context.rng`.
  func build(input: Int, context: inout SequentialBuildContext) throws -> Layer {
    try basis.makeLayer(input: input, output: output, rng: &context.rng)
  }
}
