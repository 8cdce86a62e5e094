/// One layer's settings of a basis that keeps them together with the output width
/// (`RBFKANLayer.LayerOptions`, `RationalKANLayer.LayerOptions`).
protocol KANLayerOptions: Equatable {
  /// Throws `.invalidArgument` (or `.outOfMemory` for the parameter budget) naming the spec
  /// key at fault, unless a layer with `input` features can be built from these.
  func validate(input: Int, what: String) throws
}

/// Basis options that become one layer's settings once the output width is known (RBF,
/// rational). Their layers read a whole layer spec object the same way, here.
protocol KANLayerOptionsSource: KANBasisOptions {
  /// The settings of one layer.
  associatedtype LayerOptions: KANLayerOptions

  /// The settings of a layer with `output` features.
  func options(output: Int) -> LayerOptions
}

extension KANLayerOptionsSource {
  /// The width rules are those of the layer's settings.
  func validate(input: Int, output: Int, what: String) throws {
    try options(output: output).validate(input: input, what: what)
  }
}

extension KANBasisLayer where Options: KANLayerOptionsSource {
  /// Parses a whole layer object (`{"type": "kan", "basis": <name>, "output": O, ...}`) for
  /// `input` features, validating the settings (the parameter budget included) and
  /// refusing unknown keys; allocates nothing.
  static func parse(_ reader: JSONObjectReader, input: Int) throws -> Options.LayerOptions {
    let output = try KANBasis.readLayerHeader(reader, basis: Options.basisName)
    let options = try Options.parse(reader).options(output: output)
    try options.validate(input: input, what: reader.what)
    try reader.finish()
    return options
  }

  /// `parse` on a JSON value; `what` names it in messages.
  static func parse(
    _ spec: JSONValue, input: Int, what: String = "kan layer"
  ) throws -> Options.LayerOptions {
    try parse(JSONObjectReader(spec, what: what), input: input)
  }
}
