/// A sequential spec's `{"type": "multiply", "sum": 5, "mult": 2, "arity": 2}` entry:
/// pykan's multiplication nodes over the previous layer's features (`MultiplicationNodes`).
/// "sum" (default 0) features pass through; "arity" (default 2) is every node's number of
/// factors, or a list with one per node; "mult" (the number of nodes) defaults to the
/// list's length, or to (input - sum) / arity. The input must be sum + the arities' total.
extension SequentialLayerKind {
  /// The "multiply" kind.
  static let multiply = SequentialLayerKind(name: "multiply", parse: MultiplyPlan.parse)
}

/// A checked "multiply" entry.
struct MultiplyPlan: SequentialLayerPlan {
  /// Pass-through features.
  let sum: Int
  /// Each node's factors.
  let arities: [Int]
  /// Whether the entry listed them.
  let listed: Bool

  static func parse(
    _ item: JSONValue, _ lr: JSONObjectReader, _ input: Int, _ what: String
  ) throws -> any SequentialLayerPlan {
    let sum = try lr.int("sum", default: 0, min: 0, max: input)
    let arityValue = lr.value("arity") ?? .number(2)
    let mult = lr.value("mult")
    var arities: [Int]
    var listed = false
    if case .array(let items) = arityValue {
      listed = true
      arities = try items.enumerated().map { i, v in
        try JSONObjectReader.integer(
          v, "\(what): arity[\(i)]", min: MultiplicationNodes.minArity, max: Limits.maxWidth)
      }
      if let mult {
        let m = try JSONObjectReader.integer(mult, "\(what): \"mult\"", min: 0, max: input)
        guard m == arities.count else {
          throw LaminaError.invalid(
            "\(what): \"arity\" lists \(arities.count) arities for \"mult\": \(m) nodes")
        }
      }
    } else {
      let a = try JSONObjectReader.integer(
        arityValue, "\(what): \"arity\"", min: MultiplicationNodes.minArity,
        max: Limits.maxWidth)
      let m: Int
      if let mult {
        m = try JSONObjectReader.integer(mult, "\(what): \"mult\"", min: 0, max: input)
      } else {
        guard (input - sum) % a == 0 else {
          throw LaminaError.invalid(
            "\(what): \(input - sum) features after the \(sum) sum features do not split into nodes of arity \(a)"
          )
        }
        m = (input - sum) / a
      }
      arities = Array(repeating: a, count: m)
    }
    try lr.finish()
    let total = arities.reduce(sum) { $0 + $1 }
    guard total == input else {
      throw LaminaError.invalid(
        "\(what): \(sum) sum features and multiplication nodes of \(arities.reduce(0, +)) factors "
          + "need \(total) inputs; the layer before gives \(input)")
    }
    guard sum + arities.count >= 1 else {
      throw LaminaError.invalid("\(what): a multiply layer needs at least one output")
    }
    return MultiplyPlan(sum: sum, arities: arities, listed: listed)
  }

  var outputWidth: Int { sum + arities.count }
  /// No parameters.
  var budget: [(Int, Int)] { [] }

  func build(input: Int, context: inout SequentialBuildContext) throws -> Layer {
    MultiplicationNodes(sum: sum, arities: arities, listed: listed)
  }
}
