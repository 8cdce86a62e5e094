/// The registry of KAN bases a spec may name, and the parsing of "basis" in its two forms.
enum KANBasis {
  /// Every basis's options type, in the order error messages list them. Adding a basis
  /// is one line here.
  static let all: [any KANBasisOptions.Type] = [
    BSplineKANLayer.Options.self,
    ChebyshevKANLayer.Options.self,
    FourierKANLayer.Options.self,
    RBFKANLayer.Options.self,
    RationalKANLayer.Options.self,
    WaveletKANLayer.Options.self,
    MixedKANLayer.Options.self,
  ]

  /// Throws `.invalidArgument` naming "input" or "output" unless both are in
  /// 1...`Limits.maxWidth`; `what` names the layer. The width rule the bases' `validate`
  /// share.
  static func checkWidths(input: Int, output: Int, what: String) throws {
    for (name, width) in [("input", input), ("output", output)]
    where !(1...Limits.maxWidth).contains(width) {
      throw LaminaError.invalid(
        "\(what): \"\(name)\" is \(width); it must be between 1 and \(Limits.maxWidth)")
    }
  }

  /// The default "basis".
  static let defaultName = "bspline"

  /// Reads the keys every KAN layer object shares, checking that "type" is "kan" and
  /// "basis" is `basis`, and returns "output"; the caller reads the basis's own keys.
  static func readLayerHeader(_ reader: JSONObjectReader, basis: String) throws -> Int {
    let type = try reader.string("type")
    guard type == "kan" else {
      throw LaminaError.invalid("\(reader.what): \"type\" is \"\(type)\", not \"kan\"")
    }
    let name = try reader.string("basis")
    guard name == basis else {
      throw LaminaError.invalid("\(reader.what): \"basis\" is \"\(name)\", not \"\(basis)\"")
    }
    return try reader.int("output", min: 1, max: Limits.maxWidth)
  }

  /// The names, for messages.
  static var names: String { all.map { $0.basisName }.joined(separator: ", ") }

  /// Reads basis `name`'s keys from `reader`; `what` names the key that gave the name.
  static func parse(
    name: String, _ reader: JSONObjectReader, what: String
  ) throws -> any KANBasisOptions {
    guard let entry = all.first(where: { $0.basisName == name }) else {
      throw LaminaError.invalid("\(what): unknown \"basis\" \"\(name)\" (known: \(names))")
    }
    return try entry.parse(reader)
  }

  /// Reads "basis" (a name, default "bspline") and then that basis's keys from `reader`:
  /// the form of a sequential "kan" layer.
  static func parse(_ reader: JSONObjectReader) throws -> any KANBasisOptions {
    if let value = reader.value("basis"), case .array = value {
      throw LaminaError.invalid(
        "\(reader.what): \"basis\" must be one basis name here (a list of bases, one per "
          + "layer, belongs to a \"kan\" model)")
    }
    let name = try reader.string("basis", default: defaultName)
    return try parse(name: name, reader, what: reader.what)
  }

  /// The bases of a "kan" model with `layers` layers, as its spec gives them.
  enum ModelBases {
    /// One basis for every layer: "basis" is a name and its keys sit beside it.
    case shared(any KANBasisOptions)
    /// One basis per layer: "basis" is a list of names or objects holding their own keys.
    case perLayer([any KANBasisOptions])

    /// The basis of layer `l`.
    func basis(_ l: Int) -> any KANBasisOptions {
      switch self {
      case .shared(let b): return b
      case .perLayer(let list): return list[l]
      }
    }
  }

  /// Reads "basis" of a "kan" model spec with `layers` layers: a name (the basis's keys then
  /// read from `reader` itself) or a list with one entry per layer, each a name (that
  /// basis's defaults) or an object `{"name": ..., <that basis's keys>}`.
  static func parseModel(_ reader: JSONObjectReader, layers: Int) throws -> ModelBases {
    guard let value = reader.value("basis"), case .array(let items) = value else {
      return .shared(try parse(reader))
    }
    guard items.count == layers else {
      throw LaminaError.invalid(
        "\(reader.what): \"basis\" lists \(items.count) bases for \(layers) layers (one per "
          + "consecutive pair of \"widths\")")
    }
    var bases: [any KANBasisOptions] = []
    for (l, item) in items.enumerated() {
      let what = "\(reader.what): basis[\(l)]"
      switch item {
      case .string(let name):
        bases.append(try parse(name: name, JSONObjectReader(.object([]), what: what), what: what))
      case .object:
        let entry = try JSONObjectReader(item, what: what)
        let name = try entry.string("name")
        bases.append(try parse(name: name, entry, what: what))
        try entry.finish()
      default:
        throw LaminaError.invalid(
          "\(what) must be a basis name or an object {\"name\": ..., <keys>}, not \(item.typeName)"
        )
      }
    }
    return .perLayer(bases)
  }

  /// The "basis" value and basis keys of a "kan" model's full spec, for layers joining
  /// `widths[l]` to `widths[l + 1]`: the shared form keeps its keys beside "basis" as
  /// written; the list form writes each entry as an object with its keys resolved for its
  /// layer.
  static func specPairs(_ bases: ModelBases, widths: [Int]) -> [(String, JSONValue)] {
    switch bases {
    case .shared(let b):
      return [("basis", .string(type(of: b).basisName))] + b.specPairs
    case .perLayer(let list):
      let entries: [JSONValue] = list.enumerated().map { l, b in
        .object([("name", .string(type(of: b).basisName))] + b.resolved(input: widths[l]).specPairs)
      }
      return [("basis", .array(entries))]
    }
  }
}
