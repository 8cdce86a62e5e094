/// pykan's `fit` run by the engine: `Trainer.kanFit`, its settings `KANFitOptions` and the
/// per-step record `KANFitHistory`. The C interface's `lamina_trainer_kan_fit` and Python's
/// `KAN.fit` call it.

/// The schedule of `Trainer.kanFit`: pykan's `fit` arguments that are not trainer config.
/// Its JSON form is the `options_json` of `lamina_trainer_kan_fit`; every key has a default
/// (pykan's), and `json` gives the full form.
public struct KANFitOptions: Equatable, Sendable {
  /// Optimizer steps (pykan's `steps`).
  public var steps = 100
  /// Rows per step, drawn at random without replacement from the training rows; nil (JSON
  /// -1, pykan's default) or at least the row count uses every row, in order.
  public var batch: Int? = nil
  /// Whether grids are updated on the schedule below (pykan's `update_grid`).
  public var updateGrid = true
  /// pykan's `grid_update_num`: the schedule updates every `stopGridUpdateStep /
  /// gridUpdateNum` steps. At least 1 when `updateGrid` is on (not read otherwise).
  public var gridUpdateNum = 10
  /// The first step (0-based) that may update the grids (pykan's `start_grid_update_step`).
  public var startGridUpdateStep = -1
  /// Steps from this one (0-based) on update no grid (pykan's `stop_grid_update_step`).
  public var stopGridUpdateStep = 50
  /// `Model.updateGrid`'s `gridEps` (0 follows the sample quantiles, 1 the uniform grid).
  /// Rounded to float when used, as `lamina_model_kan_update_grid` takes it.
  public var gridEps = BSplineKANLayer.defaultGridEps

  /// Bound of the step counts and step numbers in JSON.
  static let maxSteps = 1 << 40

  /// pykan's defaults.
  public init() {}

  /// Parses an options object; unknown keys and out-of-range values throw.
  public init(json value: JSONValue) throws {
    let r = try JSONObjectReader(value, what: "kan fit options")
    steps = try r.int("steps", default: 100, min: 0, max: Self.maxSteps)
    let rows = try r.int("batch", default: -1, min: -1, max: Self.maxSteps)
    guard rows != 0 else {
      throw LaminaError.invalid(
        "kan fit options: \"batch\" is 0; it must be -1 (every row) or a positive row count")
    }
    batch = rows == -1 ? nil : rows
    updateGrid = try r.bool("update_grid", default: true)
    gridUpdateNum = try r.int(
      "grid_update_num", default: 10, min: -Self.maxSteps, max: Self.maxSteps)
    if updateGrid && gridUpdateNum < 1 {
      throw LaminaError.invalid(
        "kan fit options: \"grid_update_num\" is \(gridUpdateNum); it must be at least 1 "
          + "when \"update_grid\" is true")
    }
    startGridUpdateStep = try r.int(
      "start_grid_update_step", default: -1, min: -Self.maxSteps, max: Self.maxSteps)
    stopGridUpdateStep = try r.int(
      "stop_grid_update_step", default: 50, min: -Self.maxSteps, max: Self.maxSteps)
    gridEps = try r.double("grid_eps", default: BSplineKANLayer.defaultGridEps, min: 0, max: 1)
    try r.finish()
  }

  /// The full options as JSON, every default filled in (`batch` -1 for every row).
  public var json: JSONValue {
    .object([
      ("steps", .number(Double(steps))), ("batch", .number(Double(batch ?? -1))),
      ("update_grid", .bool(updateGrid)), ("grid_update_num", .number(Double(gridUpdateNum))),
      ("start_grid_update_step", .number(Double(startGridUpdateStep))),
      ("stop_grid_update_step", .number(Double(stopGridUpdateStep))),
      ("grid_eps", .number(gridEps)),
    ])
  }

  /// Steps between grid updates: pykan's `int(stop_grid_update_step / grid_update_num)`,
  /// at least 1 (where pykan would take `s % 0`, every step of the window updates).
  public var gridUpdateFrequency: Int {
    max(1, stopGridUpdateStep / max(1, gridUpdateNum))
  }

  /// Whether the schedule updates the grids before step `s` (0-based), as pykan's loop:
  /// `update_grid and s % freq == 0 and start <= s < stop`.
  public func updatesGrid(beforeStep s: Int) -> Bool {
    updateGrid && s % gridUpdateFrequency == 0 && startGridUpdateStep <= s
      && s < stopGridUpdateStep
  }
}

/// What `Trainer.kanFit` reports, one entry per completed step in each array, as pykan's
/// `fit` returns `results`.
public struct KANFitHistory: Equatable, Sendable {
  /// The training loss of each step's batch at the weights the step started from (the
  /// prediction loss, without the regulariser): the root mean squared error for the "mse"
  /// loss (pykan reports RMSE), the loss itself for the others.
  public var trainLoss: [Float] = []
  /// The loss on the whole test set after each step, in the same units; NaN without one.
  public var testLoss: [Float] = []
  /// pykan's regulariser (without `lamb`) of each step's batch before the step, when the
  /// trainer's `lamb` is above 0; NaN otherwise.
  public var reg: [Float] = []
  /// The steps (0-based) before which the grids were updated.
  public var gridUpdates: [Int] = []

  /// An empty history.
  public init() {}

  /// Steps completed.
  public var count: Int { trainLoss.count }
}

extension Trainer {
  /// pykan's `fit`: `options.steps` optimizer steps, each on every training row or on a
  /// random batch of `options.batch` rows, with grid updates on pykan's schedule.
  ///
  /// Before step s (0-based) the step's batch is chosen: every row in order, or
  /// `options.batch` rows drawn without replacement by the trainer's generator (seeded by
  /// `config.seed`, carried on across calls; not numpy's draws). Then, when
  /// `options.updatesGrid(beforeStep: s)` and the model `hasUpdatableGrid`, its grids
  /// follow that batch (`Model.updateGrid` with `options.gridEps` rounded to float); a
  /// model without B-spline grids (another basis, or a mixed-basis layer) trains without
  /// grid updates. Then one optimizer step runs on the batch (`step`; with lbfgs up to
  /// `max_iter` iterations, the trainer's config deciding everything else), the test set
  /// is evaluated, and the step's record is appended to the history (see `KANFitHistory`:
  /// RMSE for "mse"). A cosine schedule without `decay_steps` spans the call's steps.
  ///
  /// `x`, `y` are `n` training rows (n >= 1); `testX`, `testY` `testCount` test rows, or nil
  /// and 0 for none. `progress`, called after every step with the step count (`step` of
  /// `steps`, epochs 0), `loss` = the step's reported training loss and `validationLoss` =
  /// its test loss, and with the history so far, stops the fit by returning false: that
  /// throws `.cancelled`, the weights those of the step just reported. Any error
  /// (`.numeric` when a step diverges: that step changes no weight, though a grid update
  /// before it stays) leaves the history as the last `progress` call saw it, so keep that
  /// one to have the record of a run that failed. Throws as `step` and `evaluate` for bad
  /// data (checked before the first step).
  @discardableResult
  public func kanFit(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int,
    testX: UnsafePointer<Float>? = nil, testY: UnsafePointer<Float>? = nil,
    testCount: Int = 0, options: KANFitOptions = KANFitOptions(),
    progress: ((TrainingProgress, KANFitHistory) -> Bool)? = nil
  ) throws -> KANFitHistory {
    guard n > 0 else { throw LaminaError.invalid("kan fit needs at least one sample (n = 0)") }
    try checkData(x, y, n)
    var test: (x: UnsafePointer<Float>, y: UnsafePointer<Float>, count: Int)? = nil
    if testCount > 0 {
      guard let testX, let testY else {
        throw LaminaError.invalid("kan fit: \(testCount) test rows but no test inputs or labels")
      }
      try checkData(testX, testY, testCount)
      test = (testX, testY, testCount)
    }
    guard (0...KANFitOptions.maxSteps).contains(options.steps) else {
      throw LaminaError.invalid(
        "kan fit options: \"steps\" is \(options.steps); it must be between 0 and "
          + "\(KANFitOptions.maxSteps)")
    }
    if let b = options.batch, b < 1 {
      throw LaminaError.invalid("kan fit options: \"batch\" is \(b); it must be at least 1")
    }
    guard options.gridEps >= 0, options.gridEps <= 1 else {
      throw LaminaError.invalid(
        "kan fit options: \"grid_eps\" is \(options.gridEps); it must be in [0, 1]")
    }
    let start = ContinuousClock.now
    let din = model.inputDim
    let dout = model.outputDim
    let rows = min(options.batch ?? n, n)
    if rows < n {
      if batchX.count < rows * din { batchX = [Float](repeating: 0, count: rows * din) }
      if batchY.count < rows * dout { batchY = [Float](repeating: 0, count: rows * dout) }
    }
    var order = rows < n ? Array(0..<n) : []
    let grids = options.updateGrid && model.hasUpdatableGrid
    let gridEps = Double(Float(options.gridEps))
    var rms = false
    if case .mse = config.loss { rms = true }
    func reported(_ loss: Float) -> Float { rms && !loss.isNaN ? max(loss, 0).squareRoot() : loss }
    horizon = stepsTaken + options.steps

    var history = KANFitHistory()
    let reserve = min(options.steps, 1 << 20)
    history.trainLoss.reserveCapacity(reserve)
    history.testLoss.reserveCapacity(reserve)
    history.reg.reserveCapacity(reserve)
    var info = TrainingProgress()
    info.steps = options.steps
    for s in 0..<options.steps {
      if rows < n {
        // A partial Fisher-Yates shuffle: the first `rows` entries of `order` become a
        // uniformly drawn subset, in random order.
        batchX.withUnsafeMutableBufferPointer { bx in
          batchY.withUnsafeMutableBufferPointer { by in
            for r in 0..<rows {
              order.swapAt(r, r + rng.index(below: n - r))
              let src = order[r]
              (bx.baseAddress! + r * din).update(from: x + src * din, count: din)
              (by.baseAddress! + r * dout).update(from: y + src * dout, count: dout)
            }
          }
        }
      }
      let losses = try withBatch(x, y, full: rows == n) { bx, by in
        if grids && options.updatesGrid(beforeStep: s) {
          try model.updateGrid(samples: bx, count: rows, gridEps: gridEps)
          history.gridUpdates.append(s)
        }
        return try update(bx, by, rows)
      }
      let testLoss = test.map { evaluateChecked($0.x, $0.y, $0.count) } ?? .nan
      history.trainLoss.append(reported(losses.prediction))
      history.testLoss.append(reported(testLoss))
      history.reg.append(Float(losses.reg))  // NaN unless KAN regularisation is on
      info.step = s + 1
      info.loss = history.trainLoss[s]
      info.validationLoss = history.testLoss[s]
      info.elapsedSeconds = Trainer.seconds(since: start)
      if let progress, !progress(info, history) {
        throw LaminaError(.cancelled, "training cancelled by the progress callback")
      }
    }
    return history
  }

  /// Runs `body` on the step's batch: the caller's rows when `full`, else the scratch copy.
  private func withBatch<T>(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, full: Bool,
    _ body: (UnsafePointer<Float>, UnsafePointer<Float>) throws -> T
  ) throws -> T {
    if full { return try body(x, y) }
    return try batchX.withUnsafeBufferPointer { bx in
      try batchY.withUnsafeBufferPointer { by in try body(bx.baseAddress!, by.baseAddress!) }
    }
  }
}
