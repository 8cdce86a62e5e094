/// Turns a model spec (JSON) into layers and the spec's full form, every default filled in.
/// One table (`kinds`) names every `kind` and its builder.
enum ModelBuilder {
  /// The kinds a spec may name, each with its builder, in the order error messages list
  /// them.
  static let kinds: [(name: String, build: (JSONObjectReader) throws -> Built)] = [
    ("mlp", buildMLP),
    ("kan", buildKAN),
    ("sequential", buildSequential),
    ("triplane", buildTriplane),
  ]

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
    guard let builder = kinds.first(where: { $0.name == kind })?.build else {
      throw LaminaError.invalid(
        "model spec: unknown kind \"\(kind)\" (known: \(kinds.map(\.name).joined(separator: ", ")))"
      )
    }
    return try builder(reader)
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
  ///
  /// A width may be `[n_sum, n_mult]` as pykan's MultKAN (a plain n is `[n, 0]`): the KAN
  /// layer into that level then has `n_sum + sum of arities` outputs (its subnodes) and a
  /// `MultiplicationNodes` layer after it multiplies them into the level's nodes, so such a
  /// model's layers (and tensor-name prefixes) are KAN, multiply, KAN, ... "mult_arity" is
  /// every node's number of factors (default 2) or, as pykan, one list per width entry with
  /// one arity per multiplication node of that level (`[[], [2, 3], []]`). The inputs take
  /// no multiplication nodes.
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
    let levels = try items.enumerated().map { try kanLevel($1, index: $0) }
    guard levels[0].mult == 0 else {
      throw LaminaError.invalid(
        "model spec: widths[0] has \(levels[0].mult) multiplication nodes; the inputs must be "
          + "sum nodes only ([\(levels[0].sum), 0] or \(levels[0].sum))")
    }
    let arities = try kanMultArities(r.value("mult_arity"), levels: levels)
    // Nodes per level (a layer's input) and subnodes per level (the KAN layer's output).
    let nodes = levels.map { $0.sum + $0.mult }
    var subnodes: [Int] = []
    for (l, level) in levels.enumerated() {
      let n = arities.perLevel[l].reduce(level.sum, +)
      guard n <= Limits.maxWidth else {
        throw LaminaError.invalid(
          "model spec: widths[\(l)] needs \(n) subnodes, over the limit of \(Limits.maxWidth)")
      }
      subnodes.append(n)
    }
    let pairs = Array(zip(nodes, subnodes.dropFirst()))
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
      let level = levels[l + 1]
      if level.mult > 0 {
        layers.append(
          MultiplicationNodes(
            sum: level.sum, arities: arities.perLevel[l + 1], listed: arities.listed != nil))
      }
    }
    let widthSpec: [JSONValue] = levels.map {
      $0.mult == 0
        ? .number(Double($0.sum)) : .array([.number(Double($0.sum)), .number(Double($0.mult))])
    }
    var multPairs: [(String, JSONValue)] = []
    if levels.contains(where: { $0.mult > 0 }) {
      multPairs = [("mult_arity", arities.listed ?? .number(Double(arities.uniform)))]
    }
    let full: JSONValue = .object(
      [("kind", .string("kan")), ("widths", .array(widthSpec))] + multPairs
        + KANBasis.specPairs(bases, widths: nodes) + [("seed", .number(Double(seed)))])
    return Built(kind: "kan", fullSpec: full, layers: layers, inputDim: nodes[0])
  }

  /// One "widths" entry: n (sum nodes only) or [n_sum, n_mult], at least one node.
  static func kanLevel(_ item: JSONValue, index i: Int) throws -> (sum: Int, mult: Int) {
    let label = "model spec: widths[\(i)]"
    guard case .array(let pair) = item else {
      return (try JSONObjectReader.integer(item, label, min: 1, max: Limits.maxWidth), 0)
    }
    guard pair.count == 2 else {
      throw LaminaError.invalid(
        "\(label) must be a width or [sum nodes, multiplication nodes] such as [5, 2]; it has \(pair.count) entries"
      )
    }
    let sum = try JSONObjectReader.integer(pair[0], "\(label)[0]", min: 0, max: Limits.maxWidth)
    let mult = try JSONObjectReader.integer(pair[1], "\(label)[1]", min: 0, max: Limits.maxWidth)
    guard sum + mult >= 1, sum + mult <= Limits.maxWidth else {
      throw LaminaError.invalid(
        "\(label) has \(sum + mult) nodes; it must be between 1 and \(Limits.maxWidth)")
    }
    return (sum, mult)
  }

  /// "mult_arity": an int >= 2 (default 2) for every multiplication node, or pykan's list of
  /// one list per width entry with one arity per multiplication node of that level. Returns
  /// each level's arities, the uniform value, and the list as given (nil for an int).
  static func kanMultArities(_ value: JSONValue?, levels: [(sum: Int, mult: Int)]) throws
    -> (perLevel: [[Int]], uniform: Int, listed: JSONValue?)
  {
    let what = "model spec: \"mult_arity\""
    guard case .array(let lists)? = value else {
      let a =
        try value.map {
          try JSONObjectReader.integer(
            $0, what, min: MultiplicationNodes.minArity, max: Limits.maxWidth)
        } ?? 2
      return (levels.map { Array(repeating: a, count: $0.mult) }, a, nil)
    }
    guard lists.count == levels.count else {
      throw LaminaError.invalid(
        "\(what) lists \(lists.count) entries for \(levels.count) widths; as pykan it needs one "
          + "list of arities per width entry, e.g. [[], [2, 3], []] for widths [2, [1, 2], 1]")
    }
    var perLevel: [[Int]] = []
    for (l, entry) in lists.enumerated() {
      guard case .array(let items) = entry, items.count == levels[l].mult else {
        throw LaminaError.invalid(
          "\(what)[\(l)] must list one arity per multiplication node of widths[\(l)] (\(levels[l].mult))"
        )
      }
      perLevel.append(
        try items.enumerated().map { i, v in
          try JSONObjectReader.integer(
            v, "\(what)[\(l)][\(i)]", min: MultiplicationNodes.minArity, max: Limits.maxWidth)
        })
    }
    let listed: JSONValue = .array(perLevel.map { .array($0.map { .number(Double($0)) }) })
    return (perLevel, perLevel.joined().first ?? 2, listed)
  }
}
