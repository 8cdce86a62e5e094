/// What a progress callback is told during `Trainer.fit` and `Trainer.kanFit`.
public struct TrainingProgress: Sendable {
  /// Optimizer steps done so far in this call, and in total.
  public var step = 0
  public var steps = 0
  /// Epochs done so far, and at most (0 for `kanFit`, which counts steps only).
  public var epoch = 0
  public var epochs = 0
  /// Mean training loss of the last epoch (or of the steps so far in this epoch); for
  /// `kanFit`, the training loss of the step just done as its history reports it.
  public var loss = Float.nan
  /// Loss on the validation split (`kanFit`: on the test set after the step); NaN when
  /// there is none.
  public var validationLoss = Float.nan
  /// Wall time since the call began.
  public var elapsedSeconds: Double = 0
}

/// Trains one model: owns the optimizer state, the schedule position and scratch memory.
/// Any model family trains through it, because every layer shares one interface.
public final class Trainer {
  /// The model whose weights this trainer changes.
  public let model: Model
  /// The settings, every default filled in.
  public let config: TrainerConfig
  let parameters: [Parameter]
  /// The first-order update rule (sgd, adam, adamw); unused with lbfgs.
  let optimizer: Optimizer
  /// L-BFGS's memory and scratch when the optimizer is lbfgs.
  let lbfgs: LBFGS?
  let workspace = Workspace()
  /// The generator of `fit`'s shuffles and `kanFit`'s random batches, seeded by
  /// `config.seed` and carried on across calls.
  var rng: RandomSource
  /// Optimizer steps taken over the trainer's life (the schedule's position).
  public internal(set) var stepsTaken = 0
  /// The step count a cosine schedule without `decay_steps` spans: set by `fit` and
  /// `kanFit` to the end of their run (0 until then: single steps span up to themselves).
  var horizon = 0
  /// Scratch copies of one mini-batch (`fit`, `kanFit`).
  var batchX: [Float] = []
  var batchY: [Float] = []
  /// Whether training steps may run the row-block pipeline (`RowPipeline`) for models of
  /// its shape: nil (the default) for batches of at least `RowPipeline.minimumRows` rows,
  /// true for every batch, false never. Tests force it to compare both paths.
  var usesRowPipeline: Bool? = nil
  /// The row-block pipeline, made on first use; nil when the model does not have its shape.
  private lazy var rowPipeline: RowPipeline? = RowPipeline(model: model)
  /// Scratch of steps on loss terms (`stepTerms`), made on first use.
  lazy var termScratch = TermScratch()
  /// Whether first-order loss terms take jet passes even where the gradient pass applies
  /// (tests set it to compare the two paths).
  var usesJetsForFirstOrder = false

  /// A trainer for `model` with `config`.
  ///
  /// Entries of `config.learningRates` that name no trainable tensor are ignored here; the
  /// JSON initialiser refuses them.
  public init(model: Model, config: TrainerConfig = TrainerConfig()) {
    self.model = model
    self.config = config
    parameters = model.parameters
    let trainable = model.tensors.filter { t in model.parameters.contains { $0 === t.parameter } }
    let factors = try? config.learningRateFactors(names: trainable.map(\.name))
    optimizer = Optimizer(config: config, parameters: parameters, rateFactors: factors)
    lbfgs = config.optimizer == .lbfgs ? LBFGS(config: config, parameters: parameters) : nil
    rng = RandomSource(seed: config.seed)
    workspace.wantInputGradient = false
  }

  /// A trainer configured by JSON text ("{}" for all defaults).
  /// Throws `.unsupported` when the config asks for KAN regularisation ("lamb" > 0) on a
  /// model without a B-spline KAN layer.
  public convenience init(model: Model, json: String) throws {
    let config = try TrainerConfig(json: JSONValue.parse(json, what: "trainer config"))
    if config.regularization.isActive {
      try Model.checkRegularization(config.regularization, model: model)
    }
    let trainable = model.tensors.filter { t in model.parameters.contains { $0 === t.parameter } }
    _ = try config.learningRateFactors(names: trainable.map(\.name))
    if (config.planeTV > 0 || config.planeL2 > 0) && model.triplaneEncodings.isEmpty {
      throw LaminaError(
        .unsupported,
        "trainer config: \"plane_tv\" and \"plane_l2\" need a model with a tri-plane encoding")
    }
    if config.optimizer == .lbfgs {
      try LBFGS.checkMemory(historySize: config.historySize, parameters: model.parameterCount)
    }
    self.init(model: model, config: config)
  }

  // MARK: - Steps

  func checkData(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) throws {
    try model.checkBatch(n)
    try Model.checkFinite(x, count: n * model.inputDim, what: "input x")
    try Model.checkFinite(y, count: n * model.outputDim, what: "target y")
    try model.checkTriplaneInput(x, count: n)
  }

  /// One optimizer step on the `n` rows given as one batch; returns the batch loss before
  /// the step. A non-finite loss or gradient, or an update that would make a weight
  /// non-finite, throws `.numeric` and leaves the weights as before the step. With
  /// lbfgs a step is up to `max_iter` iterations on this batch (PyTorch's `LBFGS.step`); a
  /// non-finite value anywhere in it restores the weights from before the step and clears
  /// the L-BFGS memory.
  @discardableResult
  public func step(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) throws
    -> Float
  {
    guard n > 0 else {
      throw LaminaError.invalid("a training step needs at least one sample (n = 0)")
    }
    try checkData(x, y, n)
    return try update(x, y, n).loss
  }

  /// What one optimizer step measured at the weights it started from.
  struct StepLosses {
    /// The loss the step reports: the objective, prediction loss plus any penalty.
    var loss: Float
    /// The prediction loss alone, without the KAN or tri-plane penalties.
    var prediction: Float
    /// pykan's regulariser (without `lamb`) when KAN regularisation is on; NaN otherwise.
    var reg: Double
  }

  /// Forward, backward and update on checked data; the losses at the weights the step
  /// started from (with lbfgs, those of its first evaluation).
  func update(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) throws
    -> StepLosses
  {
    try update { try lossAndGradient(x, y, n) }
  }

  /// One optimizer step from `evaluate`, which writes the objective's gradient at the
  /// current weights into every parameter's `gradient` and returns what `lossAndGradient`
  /// returns (L-BFGS calls it as often as its iterations and line search need).
  func update(
    evaluate: () throws -> (loss: Float, squares: Double, prediction: Float, reg: Double)
  ) throws -> StepLosses {
    let step = stepsTaken
    let horizon = max(self.horizon, step + 1)
    if let lbfgs {
      // L-BFGS re-evaluates the same batch as often as its iterations and line search need.
      var first: StepLosses? = nil
      let loss = try lbfgs.step(
        learningRate: config.exactLearningRate(step: step, horizon: horizon)
      ) {
        let r = try evaluate()
        if first == nil { first = StepLosses(loss: r.loss, prediction: r.prediction, reg: r.reg) }
        return r.loss
      }
      stepsTaken += 1
      return StepLosses(loss: loss, prediction: first?.prediction ?? loss, reg: first?.reg ?? .nan)
    }
    let (loss, squares, prediction, reg) = try evaluate()
    try descend(squares: squares)
    return StepLosses(loss: loss, prediction: prediction, reg: reg)
  }

  /// A first-order step from the gradient in the parameters' `gradient` (whose squared norm
  /// is `squares`): clipping, the scheduled rate, the optimizer's update, and the step
  /// count. Shared by `update` and `stepVJP`, so both step the same way. Throws `.numeric`,
  /// changing no weight, when the update would make a weight non-finite.
  func descend(squares: Double) throws {
    let step = stepsTaken
    let horizon = max(self.horizon, step + 1)
    if config.clipNorm > 0 {
      let norm = squares.squareRoot()
      if norm > config.clipNorm {
        let scale = Float(config.clipNorm / (norm + 1e-6))
        for p in parameters {
          p.gradient.withUnsafeMutableBufferPointer { g in
            for i in g.indices { g[i] *= scale }
          }
        }
      }
    }
    let rate = config.learningRate(step: step, horizon: horizon)
    guard optimizer.checkedUpdate(parameters, learningRate: rate) else {
      throw LaminaError.numeric(
        "training diverged: the update made a weight non-finite; weights left as before the step")
    }
    stepsTaken += 1
  }

  /// The batch loss at the current weights, with its gradient written into every
  /// parameter's `gradient` (forward, loss, backward): what every optimizer steps from.
  /// Also returns the gradient's squared norm, the prediction loss alone and pykan's
  /// regulariser (NaN when KAN regularisation is off). Throws `.numeric`, changing no
  /// weight, when the loss or a gradient element is not finite. With KAN regularisation on,
  /// the loss and gradient are those of pykan's objective, loss + lamb * reg (so the
  /// reported training loss includes the penalty; `evaluate` does not).
  func lossAndGradient(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int
  ) throws -> (loss: Float, squares: Double, prediction: Float, reg: Double) {
    try model.withSymbolicSingularity(config.symbolicThreshold) {
      try plainLossAndGradient(x, y, n)
    }
  }

  /// `lossAndGradient` with the model's symbolic branches as they are set.
  private func plainLossAndGradient(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int
  ) throws -> (loss: Float, squares: Double, prediction: Float, reg: Double) {
    for p in parameters {
      p.gradient.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }
    let reg = config.regularization
    let pipelined =
      !reg.isActive && (usesRowPipeline ?? (n >= RowPipeline.minimumRows))
      ? rowPipeline : nil
    var loss: Float
    if let pipelined {
      loss = pipelined.lossAndGradient(
        x, y, count: n, loss: config.loss, truncation: Float(config.truncation))
    } else {
      let out = model.forward(x, count: n, workspace: workspace, keep: true)
      loss = config.loss.evaluate(
        out, y, rows: n, columns: model.outputDim, truncation: Float(config.truncation),
        gradient: workspace.gradientOut)
    }
    guard loss.isFinite else {
      throw LaminaError.numeric(
        "training diverged: the loss is \(loss); weights left as before the step")
    }
    let prediction = loss
    var regValue = Double.nan
    if pipelined != nil {
      // The pipeline ran the backward pass too.
    } else if reg.isActive {
      try Model.checkRegularization(reg, model: model)
      let value = model.backwardRegularized(x, count: n, workspace: workspace, settings: reg).reg
      regValue = value
      loss += Float(reg.lamb * value)
      guard loss.isFinite else {
        throw LaminaError.numeric(
          "training diverged: the loss is \(loss); weights left as before the step")
      }
    } else {
      model.backward(x, count: n, workspace: workspace, parameterGradients: true)
    }
    let (total, squares) = try addPenalties(to: loss)
    return (total, squares, prediction, regValue)
  }

  /// Adds the tri-plane penalties (plane_tv, plane_l2) to `loss` and their gradients to the
  /// planes', then measures the whole gradient: the objective and its squared norm. Throws
  /// `.numeric`, changing no weight, when either is not finite.
  func addPenalties(to prediction: Float) throws -> (loss: Float, squares: Double) {
    var loss = prediction
    if config.planeTV > 0 || config.planeL2 > 0 {
      // Tri-plane smoothness and size penalties: their value joins the loss, their gradient
      // is added into the planes' gradients before the update.
      loss += model.addTriplaneRegularization(tv: Float(config.planeTV), l2: Float(config.planeL2))
      guard loss.isFinite else {
        throw LaminaError.numeric(
          "training diverged: the loss is \(loss); weights left as before the step")
      }
    }
    var squares: Double = 0
    for p in parameters {
      p.gradient.withUnsafeBufferPointer { g in
        squares += Double(g.baseAddress.map { Trainer.sumOfSquares($0, count: g.count) } ?? 0)
      }
    }
    guard squares.isFinite else {
      throw LaminaError.numeric(
        "training diverged: a gradient is not finite; weights left as before the step")
    }
    return (loss, squares)
  }

  /// The sum of squares of `count` floats, in eight lanes (a single running sum would wait
  /// on the adder for every element); the lanes are added in a fixed order.
  static func sumOfSquares(_ p: UnsafePointer<Float>, count: Int) -> Float {
    var lanes = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
      let v = load8(p + i)
      lanes += v * v
      i += 8
    }
    var s = lanes.sum()
    while i < count {
      s += p[i] * p[i]
      i += 1
    }
    return s
  }

  /// The model's loss on `n` rows, changing nothing but scratch memory.
  public func evaluate(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) throws
    -> Float
  {
    guard n > 0 else {
      throw LaminaError.invalid("evaluating a loss needs at least one sample (n = 0)")
    }
    try checkData(x, y, n)
    return evaluateChecked(x, y, n)
  }

  /// `evaluate` on data `checkData` has accepted.
  func evaluateChecked(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int)
    -> Float
  {
    let rows = min(n, max(config.batchSize, model.chunkRows))
    var total: Double = 0
    var start = 0
    while start < n {
      let m = min(rows, n - start)
      let out = model.forward(x + start * model.inputDim, count: m, workspace: workspace)
      let l = config.loss.evaluate(
        out, y + start * model.outputDim, rows: m, columns: model.outputDim,
        truncation: Float(config.truncation), gradient: nil)
      total += Double(l) * Double(m)
      start += m
    }
    return Float(total / Double(n))
  }

  // MARK: - Fitting

  /// Trains for the configured epochs in shuffled mini-batches, with the configured
  /// validation split (the last rows) and early stopping. `progress` is called after each
  /// epoch (and every `progressEvery` steps); returning false stops with `.cancelled`,
  /// keeping the weights of the last completed step. Returns the last epoch's training loss.
  /// A step that diverges throws `.numeric` ("training diverged at step s of S (epoch e):
  /// ...") with the weights as they were before that step, all finite.
  @discardableResult
  public func fit(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int,
    progress: ((TrainingProgress) -> Bool)? = nil
  ) throws -> Float {
    guard n > 0 else { throw LaminaError.invalid("fit needs at least one sample (n = 0)") }
    try checkData(x, y, n)
    let start = ContinuousClock.now
    let din = model.inputDim
    let dout = model.outputDim
    let nValidation = Int(Double(n) * config.validationSplit)
    let nTrain = n - nValidation
    guard nTrain > 0 else {
      throw LaminaError.invalid("validation_split leaves no training samples (n = \(n))")
    }
    let batch = min(config.batchSize, nTrain)
    let batchesPerEpoch = (nTrain + batch - 1) / batch
    let totalSteps = batchesPerEpoch * config.epochs
    horizon = stepsTaken + totalSteps
    if batchX.count < batch * din { batchX = [Float](repeating: 0, count: batch * din) }
    if batchY.count < batch * dout { batchY = [Float](repeating: 0, count: batch * dout) }
    var order = Array(0..<nTrain)

    var info = TrainingProgress()
    info.steps = totalSteps
    info.epochs = config.epochs
    func elapsed() -> Double { Trainer.seconds(since: start) }

    var best = Float.infinity
    var bestWeights: [[Float]]? = nil
    var sinceBest = 0
    var lastLoss = Float.nan
    for epoch in 1...config.epochs {
      if config.shuffle { order.shuffle(using: &rng) }
      var lossSum: Double = 0
      var seen = 0
      var b = 0
      while b < nTrain {
        let m = min(batch, nTrain - b)
        batchX.withUnsafeMutableBufferPointer { bx in
          batchY.withUnsafeMutableBufferPointer { by in
            for r in 0..<m {
              let src = order[b + r]
              (bx.baseAddress! + r * din).update(from: x + src * din, count: din)
              (by.baseAddress! + r * dout).update(from: y + src * dout, count: dout)
            }
          }
        }
        let loss: Float
        do {
          loss = try batchX.withUnsafeBufferPointer { bx in
            try batchY.withUnsafeBufferPointer { by in
              try update(bx.baseAddress!, by.baseAddress!, m).loss
            }
          }
        } catch let error as LaminaError where error.code == .numeric {
          // Say where: the weights are those after step `info.step` of this call.
          let reason =
            error.message.hasPrefix("training diverged: ")
            ? String(error.message.dropFirst("training diverged: ".count)) : error.message
          throw LaminaError.numeric(
            "training diverged at step \(info.step + 1) of \(totalSteps) (epoch \(epoch)): "
              + reason)
        }
        lossSum += Double(loss) * Double(m)
        seen += m
        b += m
        info.step += 1
        if config.progressEvery > 0, info.step % config.progressEvery == 0, let progress {
          info.loss = Float(lossSum / Double(seen))
          info.elapsedSeconds = elapsed()
          if !progress(info) {
            throw LaminaError(.cancelled, "training cancelled by the progress callback")
          }
        }
      }
      lastLoss = Float(lossSum / Double(seen))
      info.epoch = epoch
      info.loss = lastLoss
      var monitored = lastLoss
      if nValidation > 0 {
        info.validationLoss = evaluateChecked(x + nTrain * din, y + nTrain * dout, nValidation)
        monitored = info.validationLoss
      }
      if monitored < best {
        best = monitored
        sinceBest = 0
        if nValidation > 0 && config.restoreBest { bestWeights = parameters.map(\.value) }
      } else {
        sinceBest += 1
      }
      info.elapsedSeconds = elapsed()
      if let progress, !progress(info) {
        throw LaminaError(.cancelled, "training cancelled by the progress callback")
      }
      if config.patience > 0 && sinceBest >= config.patience { break }
    }
    if let bestWeights {
      for (p, w) in zip(parameters, bestWeights) { p.value = w }
      // The curvature pairs describe the path to the last weights, not these.
      lbfgs?.reset()
    }
    return lastLoss
  }

  /// Wall time from `start` to now, in seconds (`TrainingProgress.elapsedSeconds`).
  static func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
  }
}
