/// A sequential spec's `{"type": "activation", "name": ..., <hyper-parameters>}` entry.
extension SequentialLayerKind {
  /// The "activation" kind.
  static let activation = SequentialLayerKind(name: "activation", parse: ActivationPlan.parse)
}

/// A checked "activation" entry.
struct ActivationPlan: SequentialLayerPlan {
  /// Features per row, in and out.
  let width: Int
  /// The function the entry names.
  let function: Activation

  /// Reads the entry as an activation object (its "type" key dropped).
  static func parse(
    _ item: JSONValue, _ lr: JSONObjectReader, _ input: Int, _ what: String
  ) throws -> any SequentialLayerPlan {
    ActivationPlan(width: input, function: try ModelBuilder.activation(item, what: what))
  }

  /// Same as `width`.
  var outputWidth: Int { width }
  /// Same as `function`.
  var activation: Activation? { function }
  /// None: PReLU's one slope is not counted.
  var budget: [(Int, Int)] { [] }

  /// The layer; it draws nothing.
  func build(input: Int, context: inout SequentialBuildContext) throws -> Layer {
    ActivationLayer(width: input, activation: function)
  }
}
