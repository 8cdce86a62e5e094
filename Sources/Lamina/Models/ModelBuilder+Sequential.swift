/// The `"sequential"` model kind: `{"kind": "sequential", "input": 3, "layers": [{"type":
/// "dense", "output": 64}, {"type": "activation", "name": "relu"}, ...], "seed": 0}`, each
/// entry's "type" one of `sequentialLayerKinds`.
extension ModelBuilder {
  /// The layer kinds a sequential spec may name, in the order error messages list them.
  static let sequentialLayerKinds: [SequentialLayerKind] = [
    .dense,
    .activation,
    .kan,
    .multiply,
    .triplane,
  ]

  static func buildSequential(_ r: JSONObjectReader) throws -> Built {
    let input = try width(r, "input")
    guard case .array(let items)? = r.value("layers") else {
      throw LaminaError.invalid("model spec: \"layers\" must be an array of layer objects")
    }
    guard items.count <= Limits.maxLayers else {
      throw LaminaError.invalid(
        "model spec: \(items.count) layers is over the limit of \(Limits.maxLayers)")
    }
    let seed = try seed(r)
    try r.finish()

    // First pass: parse every layer's settings and check sizes before allocating.
    var parsed: [any SequentialLayerPlan] = []
    var width = input
    var budget: [(Int, Int)] = []
    for (i, item) in items.enumerated() {
      let what = "model spec: layers[\(i)]"
      let lr = try JSONObjectReader(item, what: what)
      let type = try lr.string("type")
      guard let kind = sequentialLayerKinds.first(where: { $0.name == type }) else {
        throw LaminaError.invalid(
          "\(what): unknown layer type \"\(type)\" (known: "
            + sequentialLayerKinds.map(\.name).joined(separator: ", ") + ")")
      }
      let plan = try kind.parse(item, lr, width, what)
      parsed.append(plan)
      budget += plan.budget
      width = plan.outputWidth
    }
    try checkParameterBudget(budget)

    var context = SequentialBuildContext(
      rng: RandomSource(seed: seed),
      hiddenActivation: parsed.lazy.compactMap(\.activation).first)
    var layers: [Layer] = []
    var specs: [JSONValue] = []
    width = input
    for (i, plan) in parsed.enumerated() {
      context.next = i + 1 < parsed.count ? parsed[i + 1].activation : nil
      let layer = try plan.build(input: width, context: &context)
      layers.append(layer)
      width = layer.outputDim
      specs.append(layer.spec)
    }
    guard !layers.isEmpty else {
      throw LaminaError.invalid("model spec: a sequential model needs at least one layer")
    }
    let full: JSONValue = .object([
      ("kind", .string("sequential")), ("input", .number(Double(input))),
      ("layers", .array(specs)), ("seed", .number(Double(seed))),
    ])
    return Built(kind: "sequential", fullSpec: full, layers: layers, inputDim: input)
  }
}
