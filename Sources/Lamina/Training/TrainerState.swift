/// A trainer's state as a safetensors file: everything a `Trainer` carries from one call to
/// the next apart from the model's weights, so that a run stopped after k steps and resumed
/// (in another process, from another language) ends with the same bits as a run that never
/// stopped. The weights are the model file's business (`Model.save`); a resume is: load the
/// model file, make a trainer for it with the same optimizer settings, load the state.
///
/// Tensors (every trainer has the first four; scalars have shape []):
///
///     trainer.steps_taken         I64   the schedule's position (`Trainer.stepsTaken`)
///     trainer.horizon             I64   the span of a cosine schedule without decay_steps,
///                                       which single steps after a fit continue
///     trainer.rng                 U64   the generator of fit's shuffles and kanFit's batches
///     optimizer.steps             I64   Adam's bias correction; sgd momentum's first step
///     optimizer.first.<tensor>    F32   adam, adamw: first moment; sgd with momentum: its
///                                       buffer (the model tensor's shape, one per trainable
///                                       tensor)
///     optimizer.second.<tensor>   F32   adam, adamw: second moment (>= 0)
///     lbfgs.iterations            I64   PyTorch's state["n_iter"] (0: next is steepest descent)
///     lbfgs.evaluations           I64   PyTorch's state["func_evals"]
///     lbfgs.step_length           F64   the last move's t
///     lbfgs.hessian_diagonal      F64   y.s / y.y of the newest pair (1 before any)
///     lbfgs.previous_loss         F64   the loss at the last iteration's start
///     lbfgs.direction             F32   [parameters] the last search direction
///     lbfgs.previous_gradient     F32   [parameters] the gradient it was taken from
///     lbfgs.rho                   F64   [pairs] 1 / (y.s) of each curvature pair, oldest first
///     lbfgs.y.<i>, lbfgs.s.<i>    F32   [parameters] pair i's gradient change and move
///
/// L-BFGS's other arrays (the step's gradient, the line search's trial points and brackets,
/// the two-loop coefficients) are scratch that each step writes before reading, and the
/// trainer's batch copies and row-pipeline buffers likewise, so none is saved.
///
/// Metadata: "format" = "lamina-trainer-state", "format_version" = "1", "lamina_version",
/// "config" (the trainer's full config JSON), "tensors" (JSON: [name, shape] of each of the
/// model's trainable tensors, in order: the fingerprint a loading trainer's model must
/// match), "model_spec" (the model's full spec, for people; not compared) and "checksum"
/// (`SafeTensors.verifyChecksum`: nothing else would reveal a flipped bit in a moment).
///
/// Loading checks everything before it changes anything: the container (every offset,
/// dtype, shape, no bytes left over), that it is a trainer state of this format version
/// whose checksum matches, the fingerprint (`.shape` when the model differs), the optimizer
/// settings (`.invalidArgument` when they differ; see `optimizerKeys`), that every expected
/// tensor is present with its dtype and shape and no other is, and every value (finite;
/// second moments and counters not negative; L-BFGS's rho and Hessian diagonal positive).
/// On any error the trainer is as it was.
struct TrainerState {
  /// The metadata "format" value of a trainer state file.
  static let formatName = "lamina-trainer-state"
  /// Format version written under "format_version"; loaders refuse any other.
  static let formatVersion = "1"

  /// `Trainer.stepsTaken`, `Trainer.horizon` and the generator's `RandomSource.rawState`.
  var stepsTaken: Int
  var horizon: Int
  var rng: UInt64
  /// `Optimizer.steps`, and its moments per parameter (empty arrays where it keeps none).
  var optimizerSteps: Int
  var first: [[Float]]
  var second: [[Float]]
  /// The L-BFGS memory, for an lbfgs trainer only.
  var lbfgs: LBFGSMemory?

  /// What an L-BFGS optimizer carries across steps (see the table above).
  struct LBFGSMemory {
    var iterations: Int
    var evaluations: Int
    var stepLength: Double
    var hessianDiagonal: Double
    var previousLoss: Double
    var direction: [Float]
    var previousGradient: [Float]
    var rho: [Double]
    var dirs: [[Float]]
    var stps: [[Float]]
  }

  /// The config keys that must be equal in the saved and the loading trainer, by optimizer:
  /// the optimizer and the settings its update rule is built from, whose meaning the saved
  /// moments and curvature pairs assume. Every other key may differ and the resumed run
  /// uses the loading trainer's value: the learning rate and "learning_rates", the schedule,
  /// loss, regularisers and the keys of a run (epochs, batch_size, shuffle, seed, which the
  /// saved generator overrides, validation_split, patience, ...), as a PyTorch user
  /// changes an optimizer's lr after `load_state_dict`.
  static func optimizerKeys(_ kind: OptimizerKind) -> [String] {
    switch kind {
    case .sgd: return ["optimizer", "momentum", "nesterov", "weight_decay"]
    case .adam, .adamw: return ["optimizer", "beta1", "beta2", "epsilon", "weight_decay"]
    case .lbfgs:
      return [
        "optimizer", "max_iter", "history_size", "tolerance_grad", "tolerance_change",
        "tolerance_ys", "line_search",
      ]
    }
  }
}

extension TrainerState {
  // MARK: - From a trainer

  /// The state of `trainer` now.
  init(of trainer: Trainer) {
    stepsTaken = trainer.stepsTaken
    horizon = trainer.horizon
    rng = trainer.rng.rawState
    optimizerSteps = trainer.optimizer.steps
    first = trainer.optimizer.first
    second = trainer.optimizer.second
    lbfgs = trainer.lbfgs.map { o in
      LBFGSMemory(
        iterations: o.iterations, evaluations: o.evaluations, stepLength: o.stepLength,
        hessianDiagonal: o.hessianDiagonal, previousLoss: o.previousLoss, direction: o.direction,
        previousGradient: o.previousGradient, rho: o.rho, dirs: o.dirs, stps: o.stps)
    }
  }

  /// Puts this state into `trainer`, which `decode(_:for:)` has checked it against.
  func apply(to trainer: Trainer) {
    trainer.stepsTaken = stepsTaken
    trainer.horizon = horizon
    trainer.rng.rawState = rng
    trainer.optimizer.steps = optimizerSteps
    trainer.optimizer.first = first
    trainer.optimizer.second = second
    if let memory = lbfgs, let o = trainer.lbfgs {
      o.iterations = memory.iterations
      o.evaluations = memory.evaluations
      o.stepLength = memory.stepLength
      o.hessianDiagonal = memory.hessianDiagonal
      o.previousLoss = memory.previousLoss
      o.direction = memory.direction
      o.previousGradient = memory.previousGradient
      o.rho = memory.rho
      o.dirs = memory.dirs
      o.stps = memory.stps
    }
  }

  /// The names of `trainer`'s trainable tensors, in parameter order.
  static func parameterNames(_ trainer: Trainer) -> [String] {
    trainer.parameters.map { p in trainer.model.tensors.first { $0.parameter === p }?.name ?? "" }
  }

  /// The model fingerprint: [name, shape] of each trainable tensor.
  static func fingerprint(_ trainer: Trainer) -> JSONValue {
    .array(
      zip(parameterNames(trainer), trainer.parameters).map { name, p in
        .array([.string(name), .array(p.shape.map { .number(Double($0)) })])
      })
  }

  // MARK: - Encoding

  /// The file bytes of this state of `trainer`.
  func encoded(for trainer: Trainer) -> [UInt8] {
    let names = TrainerState.parameterNames(trainer)
    var entries: [SafeTensors.Entry] = [
      .init(name: "trainer.steps_taken", shape: [], values: .i64([Int64(stepsTaken)])),
      .init(name: "trainer.horizon", shape: [], values: .i64([Int64(horizon)])),
      .init(name: "trainer.rng", shape: [], values: .u64([rng])),
      .init(name: "optimizer.steps", shape: [], values: .i64([Int64(optimizerSteps)])),
    ]
    for (i, p) in trainer.parameters.enumerated() where !first[i].isEmpty {
      entries.append(
        .init(name: "optimizer.first.\(names[i])", shape: p.shape, values: .f32(first[i])))
    }
    for (i, p) in trainer.parameters.enumerated() where !second[i].isEmpty {
      entries.append(
        .init(name: "optimizer.second.\(names[i])", shape: p.shape, values: .f32(second[i])))
    }
    if let m = lbfgs {
      let n = m.direction.count
      entries += [
        .init(name: "lbfgs.iterations", shape: [], values: .i64([Int64(m.iterations)])),
        .init(name: "lbfgs.evaluations", shape: [], values: .i64([Int64(m.evaluations)])),
        .init(name: "lbfgs.step_length", shape: [], values: .f64([m.stepLength])),
        .init(name: "lbfgs.hessian_diagonal", shape: [], values: .f64([m.hessianDiagonal])),
        .init(name: "lbfgs.previous_loss", shape: [], values: .f64([m.previousLoss])),
        .init(name: "lbfgs.direction", shape: [n], values: .f32(m.direction)),
        .init(name: "lbfgs.previous_gradient", shape: [n], values: .f32(m.previousGradient)),
        .init(name: "lbfgs.rho", shape: [m.rho.count], values: .f64(m.rho)),
      ]
      for k in m.dirs.indices {
        entries.append(.init(name: "lbfgs.y.\(k)", shape: [n], values: .f32(m.dirs[k])))
        entries.append(.init(name: "lbfgs.s.\(k)", shape: [n], values: .f32(m.stps[k])))
      }
    }
    return SafeTensors.encode(
      entries: entries,
      metadata: [
        ("format", TrainerState.formatName), ("format_version", TrainerState.formatVersion),
        ("lamina_version", Lamina.version), ("config", trainer.config.json.text),
        ("tensors", TrainerState.fingerprint(trainer).text),
        ("model_spec", trainer.model.spec.text),
      ], checksummed: true)
  }

  /// The largest file a state of `trainer` can be: the header limit plus the data of its
  /// tensors with a full L-BFGS history (what `Trainer.loadState` reads at most).
  static func maximumFileBytes(for trainer: Trainer) -> Int {
    let count = trainer.parameters.reduce(0) { $0 + $1.count }
    var data = 4 * 8
    data += 4 * trainer.optimizer.first.reduce(0) { $0 + $1.count }
    data += 4 * trainer.optimizer.second.reduce(0) { $0 + $1.count }
    if let o = trainer.lbfgs { data += 5 * 8 + 2 * 4 * count + o.historySize * (8 + 2 * 4 * count) }
    return 8 + Limits.maxHeaderBytes + data
  }

  // MARK: - Decoding and checking

  /// The state in file `bytes`, checked against `trainer` (see the type's comment); throws
  /// naming the first problem, having changed nothing.
  static func decode(_ bytes: [UInt8], for trainer: Trainer) throws -> TrainerState {
    // The container first, then what the file says it is, then the checksum (so that a
    // model file is named as such rather than as a file without a checksum).
    let (entries, metadata) = try SafeTensors.decodeEntries(bytes)
    guard metadata["format"] == formatName else {
      if metadata["spec"] != nil {
        throw LaminaError.format(
          "file is a Lamina model file, not a trainer state (load it as a model; a trainer "
            + "state is written by lamina_trainer_save_state)")
      }
      throw LaminaError.format(
        "file is not a Lamina trainer state: its safetensors metadata has no "
          + "\"format\": \"\(formatName)\"")
    }
    guard metadata["format_version"] == formatVersion else {
      throw LaminaError.format(
        "trainer state format version \(metadata["format_version"] ?? "(none)") is not supported "
          + "(this library reads \(formatVersion))")
    }
    try SafeTensors.verifyChecksum(bytes)
    try checkFingerprint(metadata["tensors"], of: trainer)
    try checkConfig(metadata["config"], of: trainer)

    var table = Table(entries)
    let names = parameterNames(trainer)
    let stepsTaken = try table.count("trainer.steps_taken")
    let horizon = try table.count("trainer.horizon")
    let rng = try table.word("trainer.rng")
    let optimizerSteps = try table.count("optimizer.steps")
    var first: [[Float]] = []
    var second: [[Float]] = []
    for (i, p) in trainer.parameters.enumerated() {
      let keepsFirst = !trainer.optimizer.first[i].isEmpty
      let keepsSecond = !trainer.optimizer.second[i].isEmpty
      first.append(
        keepsFirst ? try table.floats("optimizer.first.\(names[i])", shape: p.shape) : [])
      second.append(
        keepsSecond
          ? try table.floats("optimizer.second.\(names[i])", shape: p.shape, nonNegative: true) : []
      )
    }
    var lbfgs: LBFGSMemory? = nil
    if let o = trainer.lbfgs {
      let n = o.count
      let rho = try table.doubles("lbfgs.rho", positive: true)
      guard rho.count <= o.historySize else {
        throw LaminaError.format(
          "trainer state holds \(rho.count) L-BFGS curvature pairs; history_size is \(o.historySize)"
        )
      }
      var memory = LBFGSMemory(
        iterations: try table.count("lbfgs.iterations"),
        evaluations: try table.count("lbfgs.evaluations"),
        stepLength: try table.double("lbfgs.step_length"),
        hessianDiagonal: try table.double("lbfgs.hessian_diagonal", positive: true),
        previousLoss: try table.double("lbfgs.previous_loss"),
        direction: try table.floats("lbfgs.direction", shape: [n]),
        previousGradient: try table.floats("lbfgs.previous_gradient", shape: [n]),
        rho: rho, dirs: [], stps: [])
      for k in rho.indices {
        memory.dirs.append(try table.floats("lbfgs.y.\(k)", shape: [n]))
        memory.stps.append(try table.floats("lbfgs.s.\(k)", shape: [n]))
      }
      lbfgs = memory
    }
    if let extra = table.unread.first {
      throw LaminaError.format(
        "trainer state holds tensor \"\(extra)\", which a \(trainer.config.optimizer.rawValue) "
          + "trainer of this model does not have")
    }
    return TrainerState(
      stepsTaken: stepsTaken, horizon: horizon, rng: rng, optimizerSteps: optimizerSteps,
      first: first, second: second, lbfgs: lbfgs)
  }

  /// Refuses (`.shape`) a state whose model fingerprint is not `trainer`'s model's.
  private static func checkFingerprint(_ text: String?, of trainer: Trainer) throws {
    guard let text else {
      throw LaminaError.format("trainer state has no \"tensors\" entry in its metadata")
    }
    let saved = try JSONValue.parse(
      bytes: Array(text.utf8), what: "trainer state's \"tensors\"", code: .format)
    let mine = fingerprint(trainer)
    guard saved != mine else { return }
    guard case .array(let items) = saved, case .array(let own) = mine else {
      throw LaminaError.format("trainer state's \"tensors\" is not an array")
    }
    func describe(_ v: JSONValue) -> String {
      guard case .array(let pair) = v, pair.count == 2, case .string(let name) = pair[0] else {
        return v.text
      }
      return "\"\(name)\" \(pair[1].text)"
    }
    for (i, (a, b)) in zip(items, own).enumerated() where a != b {
      throw LaminaError.shape(
        "trainer state is for another model: its trainable tensor \(i) is \(describe(a)), "
          + "this model's is \(describe(b))")
    }
    throw LaminaError.shape(
      "trainer state is for another model: it has \(items.count) trainable tensors, this model "
        + "has \(own.count)")
  }

  /// Refuses (`.invalidArgument`) a state saved with other optimizer settings than
  /// `trainer`'s (`optimizerKeys`); a stored config that does not parse is `.format`.
  private static func checkConfig(_ text: String?, of trainer: Trainer) throws {
    guard let text else {
      throw LaminaError.format("trainer state has no \"config\" entry in its metadata")
    }
    let saved: TrainerConfig
    do {
      saved = try TrainerConfig(
        json: JSONValue.parse(bytes: Array(text.utf8), what: "stored trainer config", code: .format)
      )
    } catch let e as LaminaError {
      throw LaminaError.format("trainer state's stored config is invalid: \(e.message)")
    }
    let (a, b) = (saved.json, trainer.config.json)
    for key in optimizerKeys(trainer.config.optimizer) where a[key] != b[key] {
      throw LaminaError.invalid(
        "trainer state was saved with \"\(key)\": \(a[key]?.text ?? "null"), this trainer has "
          + "\(b[key]?.text ?? "null"); a state loads only into a trainer with the same "
          + optimizerKeys(trainer.config.optimizer).map { "\"\($0)\"" }.joined(separator: ", ")
          + " (learning rates, schedule, loss and epochs may differ)")
    }
  }

  /// The file's tensors by name, each taken once with its dtype, shape and values checked.
  private struct Table {
    private var byName: [String: SafeTensors.Entry] = [:]
    private var order: [String] = []

    init(_ entries: [SafeTensors.Entry]) {
      for e in entries {
        byName[e.name] = e
        order.append(e.name)
      }
    }

    /// Names not taken yet, in file order.
    var unread: [String] { order.filter { byName[$0] != nil } }

    private mutating func take(_ name: String, _ dtype: SafeTensors.DType, shape: [Int]?) throws
      -> SafeTensors.Entry
    {
      guard let e = byName.removeValue(forKey: name) else {
        throw LaminaError.format("trainer state lacks tensor \"\(name)\"")
      }
      guard e.values.dtype == dtype else {
        throw LaminaError.format(
          "trainer state tensor \"\(name)\" has dtype \(e.values.dtype.rawValue), not \(dtype.rawValue)"
        )
      }
      if let shape, e.shape != shape {
        throw LaminaError.format(
          "trainer state tensor \"\(name)\" has shape \(e.shape), not \(shape)")
      }
      if shape == nil, e.shape.count != 1 {
        throw LaminaError.format(
          "trainer state tensor \"\(name)\" has shape \(e.shape), not a vector")
      }
      return e
    }

    /// The bound of every saved count: far beyond any real run, and low enough that the
    /// trainer's arithmetic on its counters (a fit's horizon adds up to 2^61 steps) cannot
    /// overflow.
    static let maxCount: Int64 = 1 << 62

    /// An I64 scalar from 0 to `maxCount`.
    mutating func count(_ name: String) throws -> Int {
      guard case .i64(let v) = try take(name, .i64, shape: []).values else { return 0 }
      guard v[0] >= 0, v[0] <= Table.maxCount else {
        throw LaminaError.format(
          "trainer state tensor \"\(name)\" is \(v[0]); it must be from 0 to 2^62")
      }
      return Int(v[0])
    }

    /// A U64 scalar.
    mutating func word(_ name: String) throws -> UInt64 {
      guard case .u64(let v) = try take(name, .u64, shape: []).values else { return 0 }
      return v[0]
    }

    /// A finite F64 scalar (above 0 when `positive`).
    mutating func double(_ name: String, positive: Bool = false) throws -> Double {
      guard case .f64(let v) = try take(name, .f64, shape: []).values else { return 0 }
      try Table.check(name, v, positive: positive)
      return v[0]
    }

    /// A finite F64 vector of any length (each above 0 when `positive`).
    mutating func doubles(_ name: String, positive: Bool) throws -> [Double] {
      guard case .f64(let v) = try take(name, .f64, shape: nil).values else { return [] }
      try Table.check(name, v, positive: positive)
      return v
    }

    /// A finite F32 tensor of `shape` (each at least 0 when `nonNegative`).
    mutating func floats(_ name: String, shape: [Int], nonNegative: Bool = false) throws -> [Float]
    {
      guard case .f32(let v) = try take(name, .f32, shape: shape).values else { return [] }
      if let bad = v.firstIndex(where: { !$0.isFinite || (nonNegative && $0 < 0) }) {
        throw LaminaError.format(
          "trainer state tensor \"\(name)\" holds \(v[bad]) at element \(bad)"
            + (nonNegative ? " (it must be finite and not negative)" : " (it must be finite)"))
      }
      return v
    }

    private static func check(_ name: String, _ v: [Double], positive: Bool) throws {
      if let bad = v.firstIndex(where: { !$0.isFinite || (positive && $0 <= 0) }) {
        throw LaminaError.format(
          "trainer state tensor \"\(name)\" holds \(v[bad]) at element \(bad)"
            + (positive ? " (it must be finite and above 0)" : " (it must be finite)"))
      }
    }
  }
}
