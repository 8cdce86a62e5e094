/// `PointCloudFitOptions` from JSON: the options of `lamina_model_fit_points`.
///
/// Keys, with defaults (every key optional; unknown keys are refused, naming the known ones):
///
///     steps            1000     optimizer steps (at most 2^40)
///     surface_weight   1        the value term: f = 0 on the points (with no normals, f =
///                               the unsigned distance at the query points)
///     normal_weight    1        grad f = the normal on the points (ignored without normals)
///     normal_metric    "l2"     "l2" (IGR's) or "cosine" (SIREN's)
///     eikonal_weight   0.1      |grad f| = 1 at the space points
///     far_weight       1        with normals: f = the signed nearest-point distance at the
///                               space points (0 turns the term off)
///     surface_batch    8192     cloud points per step for the value and normal terms
///     space_batch      8192     space points per step
///     space_points     200000   space points drawn once (a quarter uniform in the box)
///     sigma            0.01     std of the near points' offset from the cloud
///     sigma_far        0.1      the wider std every second near point uses
///     bounds           the field's box: [low, high] or [x_lo, y_lo, z_lo, x_hi, y_hi, z_hi]
///     seed             0        the sampling and the trainer's batches
///     plane_learning_rate  learning_rate
///   and every trainer key of `TrainerConfig` but "epochs", "batch_size" and "loss" (the
///   terms have their own), with these defaults changed: "optimizer" "adam" ("lbfgs" is
///   refused, as for the other field fits), "learning_rate" 5e-3, "schedule" "cosine".
extension PointCloudFitOptions {
  /// Keys read here rather than by `TrainerConfig`.
  static let ownKeys = [
    "steps", "surface_weight", "normal_weight", "normal_metric", "eikonal_weight", "far_weight",
    "surface_batch", "space_batch", "space_points", "sigma", "sigma_far", "bounds",
    "plane_learning_rate",
  ]

  /// Trainer keys that mean nothing here, with the tail of the message refusing them.
  static let refusedKeys = [
    "epochs": "does not apply (give \"steps\" instead)",
    "batch_size": "does not apply (give \"surface_batch\" and \"space_batch\" instead)",
    "loss": "does not apply (the terms have their own losses)",
  ]

  /// Largest `space_points`, `surface_batch` and `space_batch`.
  public static let maxPoints = 1 << 24

  /// Options from a JSON object (see the extension's documentation).
  public init(json: JSONValue) throws {
    self.init()
    let what = "point cloud fit options"
    let split = try TrainerConfig.splitFitOptions(
      json, own: PointCloudFitOptions.ownKeys, refused: PointCloudFitOptions.refusedKeys,
      defaults: [
        ("optimizer", .string("adam")), ("learning_rate", .number(5e-3)),
        ("schedule", .string("cosine")),
      ], what: what)
    let own = split.own
    trainer = split.trainer
    guard trainer.optimizer != .lbfgs else {
      throw LaminaError.invalid(
        "\(what): optimizer \"lbfgs\" is not supported (use \"adam\", \"adamw\" or \"sgd\", "
          + "or fit the model's point-cloud loss terms with fit_terms)")
    }
    seed = trainer.seed
    let r = try JSONObjectReader(.object(own), what: what)
    steps = try r.int("steps", default: steps, min: 1, max: FieldFitOptions.maxSteps)
    surfaceWeight = try r.double("surface_weight", default: surfaceWeight, min: 0)
    normalWeight = try r.double("normal_weight", default: normalWeight, min: 0)
    normalMetric = try r.string("normal_metric", default: normalMetric)
    guard ["l2", "cosine"].contains(normalMetric) else {
      throw LaminaError.invalid(
        "\(what): \"normal_metric\" must be \"l2\" or \"cosine\", not \"\(normalMetric)\"")
    }
    eikonalWeight = try r.double("eikonal_weight", default: eikonalWeight, min: 0)
    farWeight = try r.double("far_weight", default: farWeight, min: 0)
    let most = PointCloudFitOptions.maxPoints
    surfaceBatch = try r.int("surface_batch", default: surfaceBatch, min: 1, max: most)
    spaceBatch = try r.int("space_batch", default: spaceBatch, min: 1, max: most)
    spacePoints = try r.int("space_points", default: spacePoints, min: 1, max: most)
    sigma = try r.double("sigma", default: sigma, min: 0)
    sigmaFar = try r.double("sigma_far", default: sigmaFar, min: 0)
    if let box = r.value("bounds") {
      let sampling = try SDFSampleOptions(json: .object([("bounds", box)]))
      bounds = Model.Box(lower: SIMD3<Float>(sampling.low), upper: SIMD3<Float>(sampling.high))
    }
    if r.value("plane_learning_rate") != nil {
      planeLearningRate = try r.double("plane_learning_rate", min: 0, max: 1e6)
    }
    try r.finish()
  }

  /// The history column (1-based, after the objective) of each of `termsJSON(normals:)`'s
  /// terms in `lamina_model_fit_points`'s fixed rows: value 1, normal 2, eikonal 3, far 4.
  public func historyColumns(normals: Bool) -> [Int] {
    normals ? (farWeight > 0 ? [1, 2, 3, 4] : [1, 2, 3]) : [1, 3]
  }

  /// Floats per row of `lamina_model_fit_points`'s history: the objective, then the value,
  /// normal, eikonal and far-field terms' losses (NaN for a term the fit does not have).
  public static let historyWidth = 5
}
