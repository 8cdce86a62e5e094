/// Splitting a many-field tri-plane model into single-field models and stacking single-field
/// models back into one. Why: a dataset driver fits N shapes at once in one model of N
/// fields and must write one file per shape that loads alone; a later step (a classifier
/// over shapes, say) wants many single-field models in one model again.
///
/// Both build the new model from its spec (so it saves, loads and trains like any model
/// built from that spec) and then write its tensors by name; the models they read are not
/// changed. Only the `"triplane"` kind is supported: a `"sequential"` model with a tri-plane
/// layer is refused (`.unsupported`), since its decoder layers, input width and layer
/// indices are the caller's own composition and no single rule maps them to one field.
extension Model {
  /// A new model of field `field` alone: the full spec with `fields` 1 and
  /// `decoder_per_field` false (input x, y, z), every other key kept (seed included); field
  /// `field`'s planes (rows 3 field ..< 3 field + 3 of each planes tensor), and the shared
  /// decoder copied or field `field`'s slice of the per-field decoders as plain dense layers.
  ///
  /// With a shared decoder, the new model's predictions on (x, y, z) equal this model's on
  /// (field, x, y, z) bit for bit (the same kernels run on the same values). With per-field
  /// decoders the weights are copied exactly, but predictions agree only to float rounding
  /// (a few units in the last place): `FieldwiseMLP` runs each field's stage as one sgemm
  /// over its rows, a single-field model's dense layers take `Dense`'s small-width kernels.
  ///
  /// Throws `.invalidArgument` when the model is not a tri-plane field or `field` is out of
  /// range, `.unsupported` for a sequential model with a tri-plane layer.
  public func fieldSplit(_ field: Int) throws -> Model {
    let what = "field split"
    let fields = try triplaneFieldCount(what)
    guard field >= 0, field < fields else {
      throw LaminaError.invalid(
        "\(what): field \(UInt(bitPattern: field)) is out of range (the model holds \(fields) "
          + "field\(fields == 1 ? "" : "s"), 0...\(fields - 1))")
    }
    let out = try Model.prefixed(what) {
      try Model(
        spec: Model.respecified(
          spec, [("fields", .number(1)), ("decoder_per_field", .bool(false))]))
    }
    try Model.copyPlanes(from: self, field: field, to: out, field: 0, what: what)
    if let fieldwise = layers.dropFirst().first as? FieldwiseMLP {
      try Model.copyFieldDecoder(fieldwise, field: field, toDense: out, what: what)
    } else {
      try Model.copyDecoder(from: self, to: out, what: what)
    }
    return out
  }

  /// Every field of the model as its own model (`fieldSplit(_:)` for each in order).
  public func fieldSplitAll() throws -> [Model] {
    try (0..<triplaneFieldCount("field split")).map { try fieldSplit($0) }
  }

  /// One model of `models.count` fields whose field k is `models[k]`: see
  /// `FieldStackOptions` for the decoder. Every model must be a single-field `"triplane"`
  /// model with the same full spec but for `seed` (and `decoder_per_field`, which changes
  /// nothing with one field); the result has models[0]'s seed. Stacking the parts of
  /// `fieldSplitAll()` (per-field decoders for a per-field model, shared for a shared one)
  /// gives back the model's predictions bit for bit.
  ///
  /// Throws `.invalidArgument` for no models, more than `TriplaneOptions.maxFields`, a model
  /// that is not a single-field tri-plane field, specs that differ (naming the first key
  /// and the model), a KAN decoder with per-field decoders, or shared decoders that are not
  /// bit-identical (naming the first model that differs); `.unsupported` for a sequential
  /// model; `.outOfMemory` over the parameter limit.
  public static func fieldStack(_ models: [Model], options: FieldStackOptions = FieldStackOptions())
    throws -> Model
  {
    let what = "field stack"
    guard let first = models.first else {
      throw LaminaError.invalid("\(what): needs at least one model")
    }
    guard models.count <= TriplaneOptions.maxFields else {
      throw LaminaError.invalid(
        "\(what): \(models.count) models is more than \(TriplaneOptions.maxFields) fields")
    }
    for (i, m) in models.enumerated() {
      let fields = try m.triplaneFieldCount("\(what): model \(i)")
      guard fields == 1 else {
        throw LaminaError.invalid(
          "\(what): model \(i) holds \(fields) fields; stack single-field models (split it first)")
      }
      if i > 0 { try checkSameSpec(m.spec, as: first.spec, model: i, what: what) }
    }
    let perField = options.decoder == .perField
    if perField, case .string("kan")? = first.spec["decoder"]?["kind"] {
      throw LaminaError.invalid(
        "\(what): \"decoder\": \"per_field\" needs MLP decoders (per-field decoders are "
          + "MLP-only) and these models have a KAN decoder; use \"decoder\": \"shared\" with "
          + "identical decoders")
    }
    if !perField {
      for (i, m) in models.enumerated().dropFirst() {
        try checkSameDecoder(m, as: first, model: i, what: what)
      }
    }
    let out = try prefixed(what) {
      try Model(
        spec: respecified(
          first.spec,
          [("fields", .number(Double(models.count))), ("decoder_per_field", .bool(perField))]))
    }
    for (k, m) in models.enumerated() {
      try copyPlanes(from: m, field: 0, to: out, field: k, what: what)
    }
    if let fieldwise = out.layers.dropFirst().first as? FieldwiseMLP {
      for (k, m) in models.enumerated() {
        try copyDenseDecoder(m, toField: k, of: fieldwise, what: what)
      }
    } else {
      try copyDecoder(from: first, to: out, what: what)
    }
    return out
  }

  // MARK: - Checks

  /// The model's `fields`, or throws unless it is a `"triplane"` model (layer 0 the
  /// encoding): `.unsupported` for a sequential model with a tri-plane layer, else
  /// `.invalidArgument`.
  func triplaneFieldCount(_ what: String) throws -> Int {
    guard kind == "triplane" else {
      if !triplaneEncodings.isEmpty {
        throw LaminaError(
          .unsupported,
          "\(what): a \"\(kind)\" model with a tri-plane layer is not supported; only "
            + "\"kind\": \"triplane\" models are split and stacked")
      }
      throw LaminaError.invalid(
        "\(what): the model is a \"\(kind)\" model, not a tri-plane field (\"kind\": \"triplane\")"
      )
    }
    guard let (index, encoding) = triplaneEncodings.first, index == 0 else {
      throw LaminaError(.internal, "\(what): a tri-plane model without its encoding")
    }
    return encoding.options.fields
  }

  /// Throws naming the first key (in `reference`'s order) whose value differs, ignoring
  /// `seed` and `decoder_per_field`.
  private static func checkSameSpec(
    _ spec: JSONValue, as reference: JSONValue, model i: Int, what: String
  ) throws {
    guard case .object(let a) = reference, case .object(let b) = spec else {
      throw LaminaError(.internal, "\(what): a spec that is not an object")
    }
    let ignored: Set<String> = ["seed", "decoder_per_field"]
    let keys = a.map(\.0) + b.map(\.0).filter { key in !a.contains { $0.0 == key } }
    for key in keys where !ignored.contains(key) && reference[key] != spec[key] {
      throw LaminaError.invalid(
        "\(what): model \(i)'s \"\(key)\" (\(spec[key]?.text ?? "absent")) differs from model "
          + "0's (\(reference[key]?.text ?? "absent")); every spec key but \"seed\" must match")
    }
  }

  /// Throws unless `m`'s decoder tensors (every tensor after layer 0) equal `reference`'s
  /// bit for bit.
  private static func checkSameDecoder(_ m: Model, as reference: Model, model i: Int, what: String)
    throws
  {
    for (name, p) in m.tensors where !name.hasPrefix("0.") {
      guard let q = reference.tensor(named: name), q.count == p.count,
        zip(p.value, q.value).allSatisfy({ $0.bitPattern == $1.bitPattern })
      else {
        throw LaminaError.invalid(
          "\(what): \"decoder\": \"shared\" needs bit-identical decoders, and model \(i)'s "
            + "\"\(name)\" differs from model 0's (use \"decoder\": \"per_field\")")
      }
    }
  }

  // MARK: - Spec and tensor copies

  /// `spec` (an object) with the values of `changes`' keys replaced, in place.
  private static func respecified(_ spec: JSONValue, _ changes: [(String, JSONValue)]) throws
    -> JSONValue
  {
    guard case .object(let pairs) = spec else {
      throw LaminaError(.internal, "model spec is not an object")
    }
    return .object(
      pairs.map { key, value in (key, changes.first { $0.0 == key }?.1 ?? value) })
  }

  /// Copies field `from`'s planes of `source` into field `to` of `target`, level by level
  /// (both tri-plane models of the same levels, channels and resolutions).
  private static func copyPlanes(
    from source: Model, field from: Int, to target: Model, field to: Int, what: String
  ) throws {
    guard let (_, s) = source.triplaneEncodings.first, let (_, t) = target.triplaneEncodings.first,
      s.levels.count == t.levels.count
    else { throw LaminaError(.internal, "\(what): plane levels do not match") }
    for (sp, tp) in zip(s.levels, t.levels) {
      let size = sp.count / s.options.fields
      guard size == tp.count / t.options.fields, (from + 1) * size <= sp.count,
        (to + 1) * size <= tp.count
      else { throw LaminaError(.internal, "\(what): plane sizes do not match") }
      tp.value.replaceSubrange(
        to * size..<(to + 1) * size, with: sp.value[from * size..<(from + 1) * size])
    }
  }

  /// Copies every decoder tensor (after layer 0) of `source` into `target` by name.
  private static func copyDecoder(from source: Model, to target: Model, what: String) throws {
    for (name, p) in target.tensors where !name.hasPrefix("0.") {
      guard let q = source.tensor(named: name), q.count == p.count else {
        throw LaminaError(.internal, "\(what): decoder tensor \"\(name)\" does not match")
      }
      p.value = q.value
    }
  }

  /// The dense layers of a plain MLP decoder (layers after the encoding), checked against
  /// the per-field decoder's stages.
  private static func denseStages(of m: Model, matching fieldwise: FieldwiseMLP, what: String)
    throws -> [Dense]
  {
    let dense = m.layers.dropFirst().compactMap { $0 as? Dense }
    guard dense.count == fieldwise.stages,
      zip(dense, fieldwise.weights).allSatisfy({ $0.weight.count * fieldwise.fields == $1.count })
    else { throw LaminaError(.internal, "\(what): decoder stages do not match") }
    return dense
  }

  /// Field `k`'s slice of each per-field stage into `target`'s dense layers.
  private static func copyFieldDecoder(
    _ fieldwise: FieldwiseMLP, field k: Int, toDense target: Model, what: String
  ) throws {
    for (s, dense) in try denseStages(of: target, matching: fieldwise, what: what).enumerated() {
      let (wc, bc) = (dense.weight.count, dense.outputDim)
      dense.weight.value = Array(fieldwise.weights[s].value[k * wc..<(k + 1) * wc])
      dense.bias?.value = Array(fieldwise.biases[s].value[k * bc..<(k + 1) * bc])
    }
  }

  /// `source`'s dense decoder layers into field `k`'s slice of each per-field stage.
  private static func copyDenseDecoder(
    _ source: Model, toField k: Int, of fieldwise: FieldwiseMLP, what: String
  ) throws {
    for (s, dense) in try denseStages(of: source, matching: fieldwise, what: what).enumerated() {
      let (wc, bc) = (dense.weight.count, dense.outputDim)
      fieldwise.weights[s].value.replaceSubrange(k * wc..<(k + 1) * wc, with: dense.weight.value)
      fieldwise.biases[s].value.replaceSubrange(
        k * bc..<(k + 1) * bc,
        with: dense.bias?.value ?? [Float](repeating: 0, count: bc))
    }
  }

  /// Runs `body`, prefixing `what` to a `LaminaError`'s message (the builder's messages name
  /// spec keys, not this call).
  private static func prefixed<T>(_ what: String, _ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let e as LaminaError {
      throw LaminaError(e.code, "\(what): \(e.message)")
    }
  }
}

/// How `Model.fieldStack` makes the decoder: the options JSON of `lamina_model_field_stack`.
public struct FieldStackOptions: Equatable, Sendable {
  /// The stacked model's decoder.
  public enum Decoder: String, CaseIterable, Sendable {
    /// `decoder_per_field` true: every field keeps its own model's decoder (MLP decoders
    /// only, as per-field decoders are).
    case perField = "per_field"
    /// One decoder for all fields: the models' decoders must be bit-identical.
    case shared
  }

  /// `"decoder"` (default `"per_field"`).
  public var decoder = Decoder.perField

  /// The defaults.
  public init() {}

  /// Reads `{"decoder": "per_field" | "shared"}`; unknown keys and values are
  /// `.invalidArgument`, naming the known ones.
  public init(json: JSONValue) throws {
    let r = try JSONObjectReader(json, what: "options_json")
    let name = try r.string("decoder", default: Decoder.perField.rawValue)
    try r.finish()
    guard let d = Decoder(rawValue: name) else {
      let known = Decoder.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
      throw LaminaError.invalid("options_json: unknown decoder \"\(name)\" (known: \(known))")
    }
    decoder = d
  }
}
