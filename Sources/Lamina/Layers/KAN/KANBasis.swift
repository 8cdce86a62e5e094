/// What the model builder needs to know about one KAN basis family (B-splines, Chebyshev,
/// Fourier, radial, rational): its name, the spec keys only it understands, the rules that
/// depend on a layer's widths, its size, and how to make a layer. Each basis keeps these
/// next to its layer class (`BSplineKANLayer.Options`, `RBFKANLayer.BasisOptions`, ...), so
/// the "kan" model kind and the sequential "kan" layer type share one parser per basis.
///
/// Building is in three steps so that nothing is allocated before the whole spec is known to
/// be good: `parse` reads the keys (widths unknown), `validate` and `parameterBudget` are
/// asked for every layer, and only then does `makeLayer` allocate.
protocol KANBasisOptions: Sendable {
  /// The value of the spec key "basis" (or of "name" in a per-layer entry) that selects
  /// this family.
  static var basisName: String { get }

  /// Reads this basis's own keys from `reader` (every other key of the object is read by
  /// the caller), filling in defaults and throwing `.invalidArgument` naming any bad key.
  /// Rules that need the layer's widths are left to `validate`.
  static func parse(_ reader: JSONObjectReader) throws -> Self

  /// This basis's keys with their values, every default filled in, in spec order. Defaults
  /// that depend on the input width stay as written (rational "groups" 0 = per layer), so
  /// one set of pairs can describe every layer of a "kan" model.
  var specPairs: [(String, JSONValue)] { get }

  /// These options with every input-dependent default made explicit for a layer of
  /// `input` features: what that layer's own spec records. Building from either gives the
  /// same layer.
  func resolved(input: Int) -> Self

  /// Throws (`.invalidArgument` naming the key, `.outOfMemory` for sizes) unless a layer of
  /// this basis can map `input` to `output` features; `what` names the layer in messages.
  func validate(input: Int, output: Int, what: String) throws

  /// The trainable scalars of one `input` x `output` layer as factor pairs whose products
  /// sum to the count, so the builder can check the model's budget (overflow-safe) before
  /// allocating. Only called after `validate` passed.
  func parameterBudget(input: Int, output: Int) -> [(Int, Int)]

  /// A layer of this basis with its initial values drawn from `rng`. Only called after
  /// `validate` passed; throws only if the options were changed since.
  func makeLayer(input: Int, output: Int, rng: inout RandomSource) throws -> Layer
}

extension KANBasisOptions {
  /// Most bases have no input-dependent defaults.
  func resolved(input: Int) -> Self { self }

  /// `{"type": "kan", "output": O, "basis": name, <keys resolved for input>}`: the spec of a
  /// layer built from these options, as the layer classes write it.
  func layerSpec(input: Int, output: Int) -> JSONValue {
    .object(
      [
        ("type", .string("kan")), ("output", .number(Double(output))),
        ("basis", .string(Self.basisName)),
      ] + resolved(input: input).specPairs)
  }
}

/// The registry of KAN bases a spec may name, and the parsing of "basis" in its two forms.
enum KANBasis {
  /// Every basis as (name, parser), in the order error messages list them. Adding a basis
  /// is one line here.
  static let all: [(name: String, parse: (JSONObjectReader) throws -> any KANBasisOptions)] = [
    (BSplineKANLayer.Options.basisName, { try BSplineKANLayer.Options.parse($0) }),
    (ChebyshevKANLayer.Options.basisName, { try ChebyshevKANLayer.Options.parse($0) }),
    (FourierKANLayer.Options.basisName, { try FourierKANLayer.Options.parse($0) }),
    (RBFKANLayer.BasisOptions.basisName, { try RBFKANLayer.BasisOptions.parse($0) }),
    (RationalKANLayer.BasisOptions.basisName, { try RationalKANLayer.BasisOptions.parse($0) }),
    (WaveletKANLayer.Options.basisName, { try WaveletKANLayer.Options.parse($0) }),
    (MixedKANLayer.Options.basisName, { try MixedKANLayer.Options.parse($0) }),
  ]

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
  static var names: String { all.map(\.name).joined(separator: ", ") }

  /// Reads basis `name`'s keys from `reader`; `what` names the key that gave the name.
  static func parse(
    name: String, _ reader: JSONObjectReader, what: String
  ) throws -> any KANBasisOptions {
    guard let entry = all.first(where: { $0.name == name }) else {
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
