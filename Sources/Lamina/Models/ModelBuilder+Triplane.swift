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
/// - `"output"` (1): outputs per point;
/// - `"seed"` (0): the decoder is drawn as the "mlp"/"kan" kind draws it from this seed, the
///   planes from a stream derived from it (seed XOR `planeSeedSalt`), so the two are not
///   correlated.
///
/// Layers (and tensor names): 0 = the encoding ("0.planes" or "0.planes_0", ...), then the
/// decoder's layers ("1.weight", "1.bias", ...). The full spec lists every key with the
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

    let decoderCount = decoder.layers.reduce(0) { $0 + $1.parameters.reduce(0) { $0 + $1.count } }
    try checkParameterBudget(options.parameterBudget + [(decoderCount, 1)])
    let encoding = try TriplaneEncoding(options: options)
    var rng = RandomSource(seed: seed ^ planeSeedSalt)
    encoding.initialize(rng: &rng)

    let full: JSONValue = .object(
      [("kind", .string("triplane"))] + options.specPairs + [
        ("decoder", .object(decoderPairs)), ("output", .number(Double(output))),
        ("seed", .number(Double(seed))),
      ])
    return Built(
      kind: "triplane", fullSpec: full, layers: [encoding] + decoder.layers,
      inputDim: options.inputDim)
  }
}
