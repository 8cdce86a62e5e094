/// What the model builder needs to know about one KAN basis family (B-splines, Chebyshev,
/// radial, ...): its name, the spec keys only it understands, its size, and how to make a
/// layer. Each basis keeps these next to its layer class (`BSplineKANLayer.Options`), so the
/// "kan" model kind and the sequential "kan" layer type share one parser per basis.
protocol KANBasisOptions {
  /// The value of the spec key "basis" that selects this family.
  static var basisName: String { get }

  /// Reads this basis's own keys from `reader` (every other key of the object is read by
  /// the caller), filling in defaults and throwing `.invalidArgument` naming any bad key.
  static func parse(_ reader: JSONObjectReader) throws -> Self

  /// This basis's keys with their values, every default filled in, in spec order.
  var specPairs: [(String, JSONValue)] { get }

  /// The trainable scalars of one `input` x `output` layer as factor pairs whose products
  /// sum to the count, so the builder can check the budget (overflow-safe) before allocating.
  func parameterBudget(input: Int, output: Int) -> [(Int, Int)]

  /// A layer of this basis with its initial values drawn from `rng`.
  func makeLayer(input: Int, output: Int, rng: inout RandomSource) -> Layer
}

/// The registry of KAN bases a spec may name.
enum KANBasis {
  /// Every basis as (name, parser), in the order error messages list them. Adding a basis
  /// is one line here.
  static let all: [(name: String, parse: (JSONObjectReader) throws -> any KANBasisOptions)] = [
    (BSplineKANLayer.Options.basisName, { try BSplineKANLayer.Options.parse($0) })
  ]

  /// The default "basis".
  static let defaultName = "bspline"

  /// Reads "basis" and then that basis's keys from `reader`.
  static func parse(_ reader: JSONObjectReader) throws -> any KANBasisOptions {
    let name = try reader.string("basis", default: defaultName)
    guard let entry = all.first(where: { $0.name == name }) else {
      let known = all.map(\.name).joined(separator: ", ")
      throw LaminaError.invalid("\(reader.what): unknown \"basis\" \"\(name)\" (known: \(known))")
    }
    return try entry.parse(reader)
  }
}
