/// Turns a model spec (JSON) into layers and the spec's full form, every default filled in.
/// One place knows every `kind`; each family adds its case here.
enum ModelBuilder {
  /// The kinds a spec may name.
  static let kinds = ["mlp", "kan", "sequential", "triplane"]

  /// What building a spec yields.
  struct Built {
    var kind: String
    var fullSpec: JSONValue
    var layers: [Layer]
    var inputDim: Int
  }

  static func build(_ spec: JSONValue) throws -> Built {
    let reader = try JSONObjectReader(spec, what: "model spec")
    let kind = try reader.string("kind")
    switch kind {
    case "mlp": return try buildMLP(reader)
    case "kan": return try buildKAN(reader)
    case "sequential": return try buildSequential(reader)
    case "triplane": return try buildTriplane(reader)
    default:
      throw LaminaError.invalid(
        "model spec: unknown kind \"\(kind)\" (known: \(kinds.joined(separator: ", ")))")
    }
  }

  // MARK: - Shared pieces

  static func width(_ reader: JSONObjectReader, _ key: String) throws -> Int {
    try reader.int(key, min: 1, max: Limits.maxWidth)
  }

  static func seed(_ reader: JSONObjectReader) throws -> UInt64 {
    UInt64(try reader.int("seed", default: 0, min: 0, max: 9_007_199_254_740_991))
  }

  /// Checks the parameter count before anything is allocated.
  static func checkParameterBudget(_ counts: [(Int, Int)]) throws {
    var total = 0
    for (a, b) in counts {
      let (p, o1) = a.multipliedReportingOverflow(by: b)
      let (s, o2) = total.addingReportingOverflow(p)
      guard !o1, !o2, s <= Limits.maxParameters else {
        throw LaminaError(
          .outOfMemory,
          "model spec: the model would have more than \(Limits.maxParameters) parameters")
      }
      total = s
    }
  }

  /// The activation names whose layers want He initialisation.
  static let reluFamily: Set<String> = ["relu", "leaky_relu", "prelu"]

  /// Resolves `auto` for a dense layer given the activation applied to its output (nil for
  /// none) and, for the last layer, the activation of the hidden layers.
  static func resolve(
    _ initializer: Initializer, next: Activation?, hidden: Activation?
  ) -> Initializer {
    guard initializer == .auto else { return initializer }
    let name = next?.name ?? "identity"
    if name == "sine" || (name == "identity" && hidden?.name == "sine") { return .siren }
    return reluFamily.contains(name) ? .heUniform : .xavierUniform
  }

  static func omega0(_ activation: Activation?) -> Double {
    if case .number(let w)? = activation?.spec["omega_0"] { return w }
    return 30
  }

  /// Draws a dense layer's initial weights and bias from `rng`.
  static func initialize(
    _ dense: Dense, resolved: Initializer, firstLayer: Bool, omega0: Double,
    rng: inout RandomSource
  ) {
    resolved.fill(
      &dense.weight.value, fanIn: dense.inputDim, fanOut: dense.outputDim, firstLayer: firstLayer,
      omega0: omega0, rng: &rng)
    if let bias = dense.bias {
      let b = dense.biasInitializer == .auto ? Initializer.torchDefault : dense.biasInitializer
      b.fill(
        &bias.value, fanIn: dense.inputDim, fanOut: dense.outputDim, firstLayer: firstLayer,
        omega0: omega0, rng: &rng)
    }
  }

  /// Parses an activation given as a name, an object, or a sequential layer object (whose
  /// "type" key is dropped).
  static func activation(_ value: JSONValue, what: String) throws -> Activation {
    if case .object(let pairs) = value {
      return try Activation.parse(.object(pairs.filter { $0.0 != "type" }), what: what)
    }
    return try Activation.parse(value, what: what)
  }

  // MARK: - MLP

  static func buildMLP(_ r: JSONObjectReader) throws -> Built {
    let input = try width(r, "input")
    let output = try width(r, "output")
    var hidden: [Int] = []
    if let h = r.value("hidden") {
      guard case .array(let items) = h else {
        throw LaminaError.invalid(
          "model spec: \"hidden\" must be an array of widths, not \(h.typeName)")
      }
      guard items.count < Limits.maxLayers / 2 else {
        throw LaminaError.invalid("model spec: \(items.count) hidden layers is over the limit")
      }
      for (i, item) in items.enumerated() {
        hidden.append(
          try JSONObjectReader.integer(
            item, "model spec: hidden[\(i)]", min: 1, max: Limits.maxWidth))
      }
    }
    var activations: [Activation] = []
    let actValue = r.value("activation") ?? .string("relu")
    if case .array(let items) = actValue {
      guard items.count == hidden.count else {
        throw LaminaError.invalid(
          "model spec: \"activation\" lists \(items.count) activations for \(hidden.count) hidden layers"
        )
      }
      for (i, item) in items.enumerated() {
        activations.append(try activation(item, what: "model spec: activation[\(i)]"))
      }
    } else {
      let a = try activation(actValue, what: "model spec: activation")
      activations = Array(repeating: a, count: hidden.count)
    }
    let outputActivation = try activation(
      r.value("output_activation") ?? .string("identity"), what: "model spec: output_activation")
    let initializer = try Initializer.parse(r.string("init", default: "auto"), what: "model spec")
    let biasInit = try Initializer.parse(r.string("bias_init", default: "auto"), what: "model spec")
    let seed = try seed(r)
    try r.finish()

    let dims = [input] + hidden + [output]
    try checkParameterBudget(zip(dims, dims.dropFirst()).map { ($0.0 + 1, $0.1) })

    var rng = RandomSource(seed: seed)
    var layers: [Layer] = []
    for i in 0..<(dims.count - 1) {
      let isLast = i == dims.count - 2
      let next: Activation? = isLast ? outputActivation : activations[i]
      let dense = Dense(
        input: dims[i], output: dims[i + 1], initializer: initializer, biasInitializer: biasInit)
      let resolved = resolve(initializer, next: next, hidden: activations.last)
      let omega = omega0(next?.name == "sine" ? next : activations.first)
      initialize(dense, resolved: resolved, firstLayer: i == 0, omega0: omega, rng: &rng)
      layers.append(dense)
      if let next, !(isLast && next.name == "identity") {
        layers.append(ActivationLayer(width: dims[i + 1], activation: next))
      }
    }
    let full: JSONValue = .object([
      ("kind", .string("mlp")), ("input", .number(Double(input))),
      ("hidden", .array(hidden.map { .number(Double($0)) })),
      ("output", .number(Double(output))),
      ("activation", .array(activations.map(\.spec))),
      ("output_activation", outputActivation.spec),
      ("init", .string(initializer.rawValue)), ("bias_init", .string(biasInit.rawValue)),
      ("seed", .number(Double(seed))),
    ])
    return Built(kind: "mlp", fullSpec: full, layers: layers, inputDim: input)
  }

  // MARK: - KAN

  /// `{"kind": "kan", "widths": [2, 5, 1], "basis": "bspline", <basis keys>, "seed": 0}`:
  /// one KAN layer per consecutive pair of widths, as pykan's `KAN(width=...)`. "basis" may
  /// instead list one basis per layer, each a name or `{"name": ..., <its keys>}`; the basis
  /// keys then live in the entries only (see `KANBasis.parseModel`).
  static func buildKAN(_ r: JSONObjectReader) throws -> Built {
    guard case .array(let items)? = r.value("widths") else {
      throw LaminaError.invalid(
        "model spec: \"widths\" must be an array of at least two layer widths, e.g. [2, 5, 1]")
    }
    guard items.count >= 2 else {
      throw LaminaError.invalid(
        "model spec: \"widths\" has \(items.count) entries; a KAN needs at least two (input and output)"
      )
    }
    guard items.count <= Limits.maxLayers else {
      throw LaminaError.invalid(
        "model spec: \(items.count) widths is over the limit of \(Limits.maxLayers)")
    }
    var widths: [Int] = []
    for (i, item) in items.enumerated() {
      widths.append(
        try JSONObjectReader.integer(item, "model spec: widths[\(i)]", min: 1, max: Limits.maxWidth)
      )
    }
    let pairs = Array(zip(widths, widths.dropFirst()))
    let bases = try KANBasis.parseModel(r, layers: pairs.count)
    let seed = try seed(r)
    do {
      try r.finish()
    } catch let error as LaminaError {
      guard case .perLayer = bases else { throw error }
      throw LaminaError.invalid(
        error.message + "; with a list of bases, each layer's basis keys go in its entry, "
          + "e.g. {\"name\": \"bspline\", \"grid\": 10}")
    }

    // Every layer's width rules and the whole budget before anything is allocated.
    var budget: [(Int, Int)] = []
    for (l, (input, output)) in pairs.enumerated() {
      let basis = bases.basis(l)
      try basis.validate(
        input: input, output: output, what: "model spec: layer \(l) (\(input) -> \(output))")
      budget += basis.parameterBudget(input: input, output: output)
    }
    try checkParameterBudget(budget)
    var rng = RandomSource(seed: seed)
    var layers: [Layer] = []
    for (l, (input, output)) in pairs.enumerated() {
      layers.append(try bases.basis(l).makeLayer(input: input, output: output, rng: &rng))
    }
    let full: JSONValue = .object(
      [("kind", .string("kan")), ("widths", .array(widths.map { .number(Double($0)) }))]
        + KANBasis.specPairs(bases, widths: widths) + [("seed", .number(Double(seed)))])
    return Built(kind: "kan", fullSpec: full, layers: layers, inputDim: widths[0])
  }

  // MARK: - Sequential

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
    enum Parsed {
      case dense(output: Int, bias: Bool, initializer: Initializer, biasInit: Initializer)
      case activation(Activation)
      case kan(output: Int, basis: any KANBasisOptions)
      case triplane(TriplaneOptions)
    }
    var parsed: [Parsed] = []
    var width = input
    var budget: [(Int, Int)] = []
    for (i, item) in items.enumerated() {
      let what = "model spec: layers[\(i)]"
      let lr = try JSONObjectReader(item, what: what)
      let type = try lr.string("type")
      switch type {
      case "dense":
        let output = try lr.int("output", min: 1, max: Limits.maxWidth)
        let bias = try lr.bool("bias", default: true)
        let ini = try Initializer.parse(lr.string("init", default: "auto"), what: what)
        let bini = try Initializer.parse(lr.string("bias_init", default: "auto"), what: what)
        try lr.finish()
        parsed.append(.dense(output: output, bias: bias, initializer: ini, biasInit: bini))
        budget.append((width + 1, output))
        width = output
      case "activation":
        parsed.append(.activation(try activation(item, what: what)))
      case "kan":
        let output = try lr.int("output", min: 1, max: Limits.maxWidth)
        let basis = try KANBasis.parse(lr)
        try lr.finish()
        try basis.validate(input: width, output: output, what: what)
        parsed.append(.kan(output: output, basis: basis))
        budget += basis.parameterBudget(input: width, output: output)
        width = output
      case "triplane":
        let options = try TriplaneOptions.parse(lr)
        try lr.finish()
        guard width == options.inputDim else {
          throw LaminaError.invalid(
            "\(what): a tri-plane encoding reads \(options.inputDim) features per row "
              + "(\(options.fields > 1 ? "field index, x, y, z" : "x, y, z")), but the layer before gives \(width)"
          )
        }
        parsed.append(.triplane(options))
        budget += options.parameterBudget
        width = options.outputDim
      default:
        throw LaminaError.invalid(
          "\(what): unknown layer type \"\(type)\" (known: dense, activation, kan, triplane)")
      }
    }
    try checkParameterBudget(budget)

    var rng = RandomSource(seed: seed)
    var layers: [Layer] = []
    var specs: [JSONValue] = []
    width = input
    var denseSeen = 0
    let hiddenActivation: Activation? = parsed.compactMap {
      if case .activation(let a) = $0 { return a } else { return nil }
    }.first
    for (i, p) in parsed.enumerated() {
      switch p {
      case .dense(let output, let bias, let ini, let bini):
        let dense = Dense(
          input: width, output: output, bias: bias, initializer: ini, biasInitializer: bini)
        var next: Activation? = nil
        if i + 1 < parsed.count, case .activation(let a) = parsed[i + 1] { next = a }
        let resolved = resolve(ini, next: next, hidden: hiddenActivation)
        let omega = omega0(next?.name == "sine" ? next : hiddenActivation)
        initialize(dense, resolved: resolved, firstLayer: denseSeen == 0, omega0: omega, rng: &rng)
        denseSeen += 1
        layers.append(dense)
        width = output
      case .activation(let a):
        layers.append(ActivationLayer(width: width, activation: a))
      case .kan(let output, let basis):
        layers.append(try basis.makeLayer(input: width, output: output, rng: &rng))
        width = output
      case .triplane(let options):
        let encoding = try TriplaneEncoding(options: options)
        encoding.initialize(rng: &rng)
        layers.append(encoding)
        width = encoding.outputDim
      }
      specs.append(layers[layers.count - 1].spec)
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
