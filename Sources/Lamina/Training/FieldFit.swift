/// How a field is fitted to signed distances: the options of `lamina_model_fit_mesh` and
/// `lamina_model_fit_config`, and the one rule that turns them into a trainer config.
///
/// JSON keys, with defaults (every key optional; unknown keys are refused):
///
///     steps                1000     optimizer steps at least; training runs whole epochs,
///                                   ceil(steps / batches per epoch) of them
///     batch_size           16384    points per step (at most the training points)
///     learning_rate        1e-3     the decoder's (and every non-plane tensor's) rate
///     plane_learning_rate  learning_rate
///                                   the rate of every tri-plane "planes" tensor (one rate
///                                   for everything unless given; see `planeRateFactor`)
///     loss                 "l1"     any trainer loss ("mse", "huber", "unsigned_distance",
///                                   "bce_with_logits" for occupancy, ...)
///     truncation           0        clamp prediction and target first (DeepSDF); 0 = off
///     seed                 0        the sampling stream and the trainer's shuffling
///     optimizer            "adam"   "adam", "adamw" or "sgd" ("lbfgs" is refused: it has
///                                   neither per-tensor rates nor mini-batch steps)
///   fitting to a mesh (ignored when the points are given):
///     samples              500000   training points drawn (1 to `maxSamples`)
///     near_fraction        0.5      share of near-surface points, the rest uniform in the box
///     sigma                0.01     std of the Gaussian offset of near points
///     sigma_far            0        when > 0, every second near point uses this std instead
///     bounds               the field's box (a tri-plane encoding's bounds, else [-1, 1]^3):
///                                   [low, high] or [x_lo, y_lo, z_lo, x_hi, y_hi, z_hi]
///   and every other trainer key of `TrainerConfig` but "epochs" (which `steps` sets):
///   "learning_rates" (entries win over the plane rate), "plane_tv", "plane_l2",
///   "schedule", "warmup_steps", "validation_split", "progress_every", ...
public struct FieldFitOptions: Sendable {
  /// Optimizer steps at least (`steps`); the fit runs whole epochs.
  public var steps = 1000
  /// Learning rate of the planes (`plane_learning_rate`); nil for
  /// `planeRateFactor` x the trainer's learning rate.
  public var planeLearningRate: Double? = nil
  /// Training points drawn from a mesh (`samples`).
  public var samples = 500_000
  /// How those points are drawn (`near_fraction`, `sigma`, `sigma_far`, `seed`; its bounds
  /// are used only when `bounds` is set).
  public var sampling = SDFSampleOptions()
  /// The sampling box (`bounds`); nil for the model's `fieldBox`.
  public var bounds: Model.Box? = nil
  /// Everything else: loss, optimizer, rates, batch size, seed, regularisers. Its `epochs`
  /// and plane entries are set by `trainerConfig(for:count:)`.
  public var trainer: TrainerConfig

  /// The plane rate is this multiple of `learning_rate` unless given: 1, one rate for
  /// everything, as a PyTorch optimizer with one parameter group. Planes at 10x (Lamina
  /// 0.1's Python rule) fitted a torus no better at learning rate 1e-3 (IoU 0.987 against
  /// 0.985 to 0.990, normals 4.9 to 5.7 degrees against 4.2) and worse above it (at 5e-3:
  /// IoU 0.948 and 17 degrees against 0.977 and 5.6); `bench/plane_rate.py` measures it.
  public static let planeRateFactor = 1.0
  /// Largest `samples`.
  public static let maxSamples = 1 << 24
  /// Largest `steps`.
  public static let maxSteps = 1 << 40
  /// Keys read here rather than by `TrainerConfig`.
  static let ownKeys = [
    "steps", "plane_learning_rate", "samples", "near_fraction", "sigma", "sigma_far", "bounds",
  ]

  /// All defaults.
  public init() {
    trainer = TrainerConfig()
    trainer.loss = .l1
    trainer.batchSize = 16384
  }

  /// Options from a JSON object (see the type's documentation).
  public init(json: JSONValue) throws {
    let split = try TrainerConfig.splitFitOptions(
      json, own: FieldFitOptions.ownKeys,
      refused: ["epochs": "is set from \"steps\" (give steps instead)"],
      defaults: [
        ("optimizer", .string("adam")), ("loss", .string("l1")), ("batch_size", .number(16384)),
      ], what: "fit options")
    let own = split.own
    trainer = split.trainer
    guard trainer.optimizer != .lbfgs else {
      throw LaminaError.invalid(
        "fit options: optimizer \"lbfgs\" is not supported (use \"adam\", \"adamw\" or \"sgd\")")
    }
    let r = try JSONObjectReader(.object(own), what: "fit options")
    steps = try r.int("steps", default: 1000, min: 1, max: FieldFitOptions.maxSteps)
    if r.value("plane_learning_rate") != nil {
      planeLearningRate = try r.double("plane_learning_rate", min: 0, max: 1e6)
    }
    samples = try r.int("samples", default: 500_000, min: 1, max: FieldFitOptions.maxSamples)
    var sample: [(String, JSONValue)] = [("seed", .number(Double(trainer.seed)))]
    for key in ["near_fraction", "sigma", "sigma_far", "bounds"] {
      if let v = r.value(key) { sample.append((key, v)) }
    }
    sampling = try SDFSampleOptions(json: .object(sample))
    if r.value("bounds") != nil {
      bounds = Model.Box(
        lower: SIMD3<Float>(sampling.low), upper: SIMD3<Float>(sampling.high))
    }
    try r.finish()
  }

  /// The trainer config for fitting `model` to `count` points: these options' trainer
  /// settings with `batchSize` at most the training points, `epochs` the fewest whole epochs
  /// that make `steps` steps, and every trainable tensor named "planes" or "planes_<k>"
  /// (tri-plane encodings) at the plane rate unless `learning_rates` names it (by full or
  /// short name). Throws for `count` < 1, a split that leaves no training point, or too
  /// many epochs.
  public func trainerConfig(for model: Model, count: Int) throws -> TrainerConfig {
    guard count >= 1 else { throw LaminaError.invalid("fitting needs at least one point") }
    var config = trainer
    let training = count - Int(Double(count) * config.validationSplit)
    guard training > 0 else {
      throw LaminaError.invalid("validation_split leaves no training points (n = \(count))")
    }
    config.batchSize = min(config.batchSize, training)
    let perEpoch = (training + config.batchSize - 1) / config.batchSize
    let epochs = (steps + perEpoch - 1) / perEpoch
    guard epochs <= 1 << 30 else {
      throw LaminaError.invalid("fit options: \(steps) steps need more than 2^30 epochs")
    }
    config.epochs = max(1, epochs)
    let rate = planeLearningRate ?? FieldFitOptions.planeRateFactor * config.learningRate
    guard rate <= 1e6 else {
      throw LaminaError.invalid("fit options: the plane learning rate \(rate) is over 1e6")
    }
    let given = config.learningRates.map(\.name)
    for (name, parameter) in model.tensors
    where model.parameters.contains(where: { $0 === parameter }) {
      let short = name.split(separator: ".", maxSplits: 1).last.map(String.init) ?? name
      guard short == "planes" || short.hasPrefix("planes_") else { continue }
      if !given.contains(name) && !given.contains(short) {
        config.learningRates.append((name, rate))
      }
    }
    return config
  }
}

extension Model {
  /// Fits the model's single output to signed distances (or, with loss "bce_with_logits",
  /// occupancy logits) `sdf` at `count` points (`inputDim` floats each) under `options`:
  /// a `Trainer` made from `options.trainerConfig(for:count:)` runs its `fit`. `progress`
  /// is the trainer's (false cancels, leaving the weights of the last completed step).
  /// Returns the last epoch's mean training loss. Throws `.numeric` when training
  /// diverges (the weights are those before the failing step, all finite).
  @discardableResult
  public func fitSDF(
    _ points: UnsafePointer<Float>, _ sdf: UnsafePointer<Float>, count: Int,
    options: FieldFitOptions = FieldFitOptions(), progress: ((TrainingProgress) -> Bool)? = nil
  ) throws -> Float {
    guard outputDim == 1 else {
      throw LaminaError.shape(
        "fitting a field needs a model with 1 output; this one has \(outputDim)")
    }
    let config = try options.trainerConfig(for: self, count: count)
    let trainer = try Trainer(model: self, json: config.json.text)
    return try trainer.fit(points, sdf, count: count, progress: progress)
  }

  /// Fits the model (3 inputs, 1 output) to the signed distance of `mesh`: draws
  /// `options.samples` points (`SDFSampling`, in `options.bounds` or the model's
  /// `fieldBox`, seeded by the options' seed), takes their exact signed distances from
  /// `bvh` (built here when nil), and runs `fitSDF`. Returns the last epoch's mean loss.
  @discardableResult
  public func fitMesh(
    _ mesh: TriangleMesh, bvh: TriangleBVH? = nil, options: FieldFitOptions = FieldFitOptions(),
    progress: ((TrainingProgress) -> Bool)? = nil
  ) throws -> Float {
    try requireField("fitting to a mesh")
    guard outputDim == 1 else {
      throw LaminaError.shape(
        "fitting to a mesh needs a model with 1 output; this one has \(outputDim)")
    }
    guard mesh.faceCount > 0 else { throw LaminaError.invalid("the mesh has no triangles") }
    let config = try options.trainerConfig(for: self, count: options.samples)
    let trainer = try Trainer(model: self, json: config.json.text)
    var sampling = options.sampling
    let box = options.bounds ?? fieldBox
    sampling.low = SIMD3<Double>(box.lower)
    sampling.high = SIMD3<Double>(box.upper)
    let n = options.samples
    var points = [Float](repeating: 0, count: 3 * n)
    var sdf = [Float](repeating: 0, count: n)
    let tree = bvh ?? TriangleBVH(mesh)
    try points.withUnsafeMutableBufferPointer { p in
      try sdf.withUnsafeMutableBufferPointer { s in
        try SDFSampling.sample(
          mesh, bvh: tree, count: n, options: sampling, points: p.baseAddress!,
          sdf: s.baseAddress!)
      }
    }
    return try points.withUnsafeBufferPointer { p in
      try sdf.withUnsafeBufferPointer { s in
        try trainer.fit(p.baseAddress!, s.baseAddress!, count: n, progress: progress)
      }
    }
  }
}
