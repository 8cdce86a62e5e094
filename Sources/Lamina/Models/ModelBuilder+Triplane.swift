/// The `"triplane"` model kind: a tri-plane encoding followed by a decoder.
///
///     {"kind": "triplane", "resolution": 128, "channels": 16, "aggregation": "sum",
///      "decoder": {"hidden": [64], "activation": "relu"}, "output": 1, "seed": 0}
///
/// Keys: every `TriplaneOptions` key (resolution, channels, aggregation, multires, bounds,
/// align_corners, padding, fourier, fourier_include_input, init, init_mean, init_std,
/// fields), plus
/// - `"decoder"` (default `{"kind": "mlp", "hidden": [64], "activation": "relu"}`): an MLP,
///   `{"kind": "mlp", <the "mlp" kind's keys but input, output and seed>}` ("kind" may be
///   left out), or a KAN, `{"kind": "kan", "hidden": [...], <the "kan" kind's keys but
///   widths and seed>}` whose widths are [encoding features] + hidden + [output];
/// - `"decoder_per_field"` (false): with `fields` = N > 1, true gives every field its own
///   MLP decoder (same widths and activations, drawn independently) instead of one shared
///   decoder; the encoding then passes the field index on and one `FieldwiseMLP` layer holds
///   the N decoders. Only for MLP decoders (a KAN decoder, or a learnable activation such as
///   prelu, is refused). With `fields` = 1 it is accepted and changes nothing: one field's
///   own decoder is the shared decoder (drawn identically);
/// - `"output"` (1): outputs per point;
/// - `"seed"` (0): the decoder is drawn as the "mlp"/"kan" kind draws it from this seed, the
///   planes from a stream derived from it (seed XOR `planeSeedSalt`), so the two are not
///   correlated.
///
/// Layers (and tensor names): 0 = the encoding ("0.planes" or "0.planes_0", ...), then the
/// decoder's layers ("1.weight", "1.bias", ...). With per-field decoders (and N > 1) layer 1
/// is the `FieldwiseMLP`: per dense stage s, "1.s.weight" [N, out, in] and "1.s.bias"
/// [N, out]; field 0's slices equal the shared decoder of the same seed, field k's are drawn
/// next from the same stream (see `FieldwiseMLP.initialize(seed:)`). The full spec lists every key with the
/// decoder in its full form (MLP: hidden, activation per layer, output_activation, init,
/// bias_init; KAN: hidden and every basis key).
extension ModelBuilder {
  /// Mixed into the seed for the planes' stream ("TRIPLANE" in ASCII).
  static let planeSeedSalt: UInt64 = 0x5452_4950_4C41_4E45

  /// Keys a decoder object may not hold: the model sets them.
  static let decoderReservedKeys = ["input", "output", "seed", "widths"]

  static func buildTriplane(_ r: JSONObjectReader) throws -> Built {
    let options = try TriplaneOptions.parse(r)
    let output = try r.int("output", default: 1, min: 1, max: Limits.maxWidth)
    let perField = try r.bool("decoder_per_field", default: false)
    let decoderValue =
      r.value("decoder")
      ?? .object([("hidden", .array([.number(64)])), ("activation", .string("relu"))])
    let seed = try seed(r)
    try r.finish()
    try checkParameterBudget(options.parameterBudget)

    guard case .object(let pairs) = decoderValue else {
      throw LaminaError.invalid(
        "model spec: \"decoder\" must be an object such as {\"hidden\": [64], \"activation\": \"relu\"}, not \(decoderValue.typeName)"
      )
    }
    for key in decoderReservedKeys where pairs.contains(where: { $0.0 == key }) {
      throw LaminaError.invalid(
        "model spec: decoder: \"\(key)\" is set by the model (input = the encoding's "
          + "\(options.outputDim) features, \"output\" and \"seed\" are model keys, and a KAN "
          + "decoder's inner widths go in \"hidden\")")
    }
    var decoderKind = "mlp"
    if let k = pairs.first(where: { $0.0 == "kind" })?.1 {
      guard case .string(let s) = k, s == "mlp" || s == "kan" else {
        throw LaminaError.invalid("model spec: decoder: \"kind\" must be \"mlp\" or \"kan\"")
      }
      decoderKind = s
    }
    let rest = pairs.filter { $0.0 != "kind" }
    let features = options.outputDim
    let what = "model spec: decoder"
    let decoder: Built
    var decoderPairs: [(String, JSONValue)]
    switch decoderKind {
    case "mlp":
      let spec: JSONValue = .object(
        [("input", .number(Double(features)))] + rest + [
          ("output", .number(Double(output))), ("seed", .number(Double(seed))),
        ])
      decoder = try buildMLP(JSONObjectReader(spec, what: what))
      guard case .object(let full) = decoder.fullSpec else {
        throw LaminaError(.internal, "decoder spec")
      }
      decoderPairs = full.filter { !["kind", "input", "output", "seed"].contains($0.0) }
    default:
      guard !perField else {
        throw LaminaError.invalid(
          "model spec: \"decoder_per_field\" needs an MLP decoder; a KAN decoder is always shared "
            + "(use {\"kind\": \"mlp\", ...} or leave \"decoder_per_field\" false)")
      }
      var hidden: [JSONValue] = []
      var kanPairs = rest
      if let h = rest.first(where: { $0.0 == "hidden" })?.1 {
        guard case .array(let items) = h else {
          throw LaminaError.invalid(
            "\(what): \"hidden\" must be an array of widths, not \(h.typeName)")
        }
        hidden = items
        kanPairs = rest.filter { $0.0 != "hidden" }
      }
      let widths: [JSONValue] = [.number(Double(features))] + hidden + [.number(Double(output))]
      let spec: JSONValue = .object(
        [("widths", .array(widths))] + kanPairs + [
          ("seed", .number(Double(seed)))
        ])
      decoder = try buildKAN(JSONObjectReader(spec, what: what))
      guard case .object(let full) = decoder.fullSpec,
        case .array(let w)? = decoder.fullSpec["widths"]
      else { throw LaminaError(.internal, "decoder spec") }
      decoderPairs =
        [("hidden", .array(Array(w.dropFirst().dropLast())))]
        + full.filter { !["kind", "widths", "seed"].contains($0.0) }
    }
    decoderPairs.insert(("kind", .string(decoderKind)), at: 0)

    var decoderLayers = decoder.layers
    let fieldwise = perField && options.fields > 1
    if fieldwise {
      let mlp = try fieldwiseDecoder(
        decoder.fullSpec, fields: options.fields, features: features, output: output,
        alongside: options.parameterBudget)
      mlp.initialize(seed: seed)
      decoderLayers = [mlp]
    }
    let decoderCount = decoderLayers.reduce(0) { $0 + $1.parameters.reduce(0) { $0 + $1.count } }
    try checkParameterBudget(options.parameterBudget + [(decoderCount, 1)])
    let encoding = try TriplaneEncoding(options: options, passesFieldIndex: fieldwise)
    var rng = RandomSource(seed: seed ^ planeSeedSalt)
    encoding.initialize(rng: &rng)

    let full: JSONValue = .object(
      [("kind", .string("triplane"))] + options.specPairs + [
        ("decoder", .object(decoderPairs)), ("decoder_per_field", .bool(perField)),
        ("output", .number(Double(output))),
        ("seed", .number(Double(seed))),
      ])
    return Built(
      kind: "triplane", fullSpec: full, layers: [encoding] + decoderLayers,
      inputDim: options.inputDim)
  }

  /// The per-field decoders matching a shared MLP decoder's full spec (`buildMLP`'s form):
  /// its hidden widths, activations, output activation and initialisers. Sizes (with the
  /// `alongside` budget of the planes) are checked before the weights are allocated.
  static func fieldwiseDecoder(
    _ mlpSpec: JSONValue, fields: Int, features: Int, output: Int, alongside: [(Int, Int)]
  ) throws -> FieldwiseMLP {
    let what = "model spec: decoder"
    guard case .array(let hiddenItems)? = mlpSpec["hidden"],
      case .array(let activationItems)? = mlpSpec["activation"],
      let outputActivationValue = mlpSpec["output_activation"],
      case .string(let initName)? = mlpSpec["init"],
      case .string(let biasInitName)? = mlpSpec["bias_init"]
    else { throw LaminaError(.internal, "decoder spec") }
    var hidden: [Int] = []
    for item in hiddenItems {
      guard case .number(let v) = item else { throw LaminaError(.internal, "decoder spec") }
      hidden.append(Int(v))
    }
    let activations = try activationItems.map { try activation($0, what: what) }
    let outputActivation = try activation(outputActivationValue, what: what)
    let widths = [features] + hidden + [output]
    try checkParameterBudget(
      alongside + FieldwiseMLP.parameterBudget(fields: fields, widths: widths))
    do {
      return try FieldwiseMLP(
        fields: fields, widths: widths, activations: activations,
        outputActivation: outputActivation,
        initializer: Initializer.parse(initName, what: what),
        biasInitializer: Initializer.parse(biasInitName, what: what))
    } catch let error as LaminaError where error.code == .invalidArgument {
      throw LaminaError.invalid("model spec: " + error.message)
    }
  }
}
