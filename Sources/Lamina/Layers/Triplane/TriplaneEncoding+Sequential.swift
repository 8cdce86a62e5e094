/// A sequential spec's `{"type": "triplane", <TriplaneOptions keys>}` entry.
extension SequentialLayerKind {
  /// The "triplane" kind.
  static let triplane = SequentialLayerKind(name: "triplane", parse: TriplanePlan.parse)
}

/// A checked "triplane" entry.
struct TriplanePlan: SequentialLayerPlan {
  /// The encoding's settings.
  let options: TriplaneOptions

  /// Reads the entry's options and checks that the layer before gives the encoding's input.
  static func parse(
    _ item: JSONValue, _ lr: JSONObjectReader, _ input: Int, _ what: String
  ) throws -> any SequentialLayerPlan {
    let options = try TriplaneOptions.parse(lr)
    try lr.finish()
    guard input == options.inputDim else {
      throw LaminaError.invalid(
        "\(what): a tri-plane encoding reads \(options.inputDim) features per row "
          + "(\(options.fields > 1 ? "field index, x, y, z" : "x, y, z")), but the layer before gives \(input)"
      )
    }
    return TriplanePlan(options: options)
  }

  /// The encoding's features per row.
  var outputWidth: Int { options.outputDim }
  /// The planes.
  var budget: [(Int, Int)] { options.parameterBudget }

  /// The encoding, its planes drawn from `context.rng`.
  func build(input: Int, context: inout SequentialBuildContext) throws -> Layer {
    let encoding = try TriplaneEncoding(options: options)
    encoding.initialize(rng: &context.rng)
    return encoding
  }
}
