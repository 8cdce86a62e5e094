/// How a field is fitted to a point cloud without given distances (`Model.fitPoints`).
///
/// **With normals** (an oriented cloud) the fit is IGR's (Gropp et al. 2020): the field is
/// 0 on the points (`value` term, L1), its gradient there is the normal (`normal` term), and
/// its gradient has unit length everywhere (`eikonal` term, on points uniform in the box
/// and points near the cloud), so the field is a signed distance whose zero set passes
/// through the points, negative on the side the normals point away from.
///
/// **Without normals** it fits the unsigned distance to the cloud, as the tri-plane
/// processing paper's code does for point clouds: query points near the cloud (at two
/// offset scales) and uniform in the box are labelled with their distance to the nearest
/// cloud point (`PointKDTree`), and a `value` term (L1) fits them, with the eikonal term.
/// The result is non-negative and has no inside: its small level sets are thin shells.
///
/// Default weights and why: value 1 and normal 1 (metric `"l2"`, the mean squared
/// difference per coordinate) with eikonal 0.1 are IGR's (its tau = 1, lambda = 0.1). Those
/// three pin the field near the cloud only: away from it a tri-plane field (no smoothness of
/// its own) kept its initial value, mostly below 0, and a torus fit reached IoU 0.20 with
/// 1.5-degree normals. So a fourth term, weight 1, fits f at the space points to the
/// distance to the nearest cloud point signed by that point's normal (`farWeight`): exact
/// far away, within the cloud's spacing near it, where the other terms take over. SIREN's
/// weights (3000 on the surface, 100 on normals by cosine, 50 eikonal, plus an off-surface
/// term this library does not have) are tuned for sine networks' large initial gradients;
/// they are one set of option values away. The learning rate, 5e-3 with a cosine decay,
/// suits both field kinds (an MLP at 1e-3 was still at IoU 0.96 after 500 steps); a SIREN
/// (sine layers) wants 1e-4 with the same weights. The
/// measured quality is in bench/NOTES.md ("Fitting an oriented point cloud").
public struct PointCloudFitOptions: Sendable {
  /// Optimizer steps.
  public var steps = 1000
  /// Weight of the `value` term (f = 0 on the points; with no normals, f = the distance
  /// at the query points).
  public var surfaceWeight = 1.0
  /// Weight of the `normal` term (ignored without normals).
  public var normalWeight = 1.0
  /// The normal term's metric: `"l2"` (IGR's, which also asks |grad f| = 1 on the surface)
  /// or `"cosine"` (SIREN's, direction only).
  public var normalMetric = "l2"
  /// Weight of the `eikonal` term.
  public var eikonalWeight = 0.1
  /// Weight of the far-field term (with normals; 0 turns it off): at the space points, f
  /// is fitted (L1) to the distance to the nearest cloud point, signed by that point's
  /// normal (negative behind it); see the type's documentation for why it is on.
  public var farWeight = 1.0
  /// Cloud points per step for the value and the normal term.
  public var surfaceBatch = 8192
  /// Points per step for the eikonal term (and, without normals, the value term's query
  /// points).
  public var spaceBatch = 8192
  /// Points drawn once for the eikonal term (and the unsigned distance's queries): a
  /// quarter uniform in the box, the rest near the cloud.
  public var spacePoints = 200_000
  /// Std of the Gaussian offset of near points from cloud points; every second near point
  /// uses `sigmaFar` instead. In the box's units.
  public var sigma = 0.01
  /// The wider offset std.
  public var sigmaFar = 0.1
  /// The box the uniform points fill; nil for the model's `fieldBox`.
  public var bounds: Model.Box? = nil
  /// Seed of the sampling (the trainer's own seed draws the batches).
  public var seed: UInt64 = 0
  /// The rate of tri-plane planes; nil for the trainer's learning rate (as
  /// `FieldFitOptions.planeRateFactor` explains).
  public var planeLearningRate: Double? = nil
  /// Optimizer, learning rate, schedule, plane regularisers. Defaults: Adam at 5e-3 with a
  /// cosine decay to 0 over the steps.
  public var trainer: TrainerConfig

  /// All defaults.
  public init() {
    trainer = TrainerConfig()
    trainer.optimizer = .adam
    trainer.learningRate = 5e-3
    trainer.schedule = .cosine
  }

  /// The loss terms' config, in this order: value, normal (with normals), eikonal, and
  /// with normals the far-field value term (when `farWeight` > 0).
  public func termsJSON(normals: Bool) -> String {
    var terms = [
      #"{"loss": "value", "metric": "l1", "weight": \#(surfaceWeight), "batch_size": \#(normals ? surfaceBatch : spaceBatch)}"#
    ]
    if normals {
      terms.append(
        #"{"loss": "normal", "metric": "\#(normalMetric)", "weight": \#(normalWeight), "batch_size": \#(surfaceBatch)}"#
      )
    }
    terms.append(#"{"loss": "eikonal", "weight": \#(eikonalWeight), "batch_size": \#(spaceBatch)}"#)
    if normals && farWeight > 0 {
      terms.append(
        #"{"loss": "value", "metric": "l1", "weight": \#(farWeight), "batch_size": \#(spaceBatch)}"#
      )
    }
    return "[" + terms.joined(separator: ", ") + "]"
  }

  /// `spacePoints` points: a quarter uniform in `box`, the rest cloud points (drawn
  /// uniformly from the `count` at `points`) offset by N(0, sigma^2) or, every second one,
  /// N(0, sigmaFar^2), clamped into the box.
  func spaceSamples(_ points: UnsafePointer<Float>, count: Int, box: Model.Box) -> [Float] {
    var rng = RandomSource(seed: seed)
    let n = spacePoints
    let uniform = n / 4
    var out = [Float](repeating: 0, count: 3 * n)
    for i in 0..<n {
      for a in 0..<3 {
        let (lo, hi) = (Double(box.lower[a]), Double(box.upper[a]))
        if i < uniform {
          out[3 * i + a] = Float(rng.uniform(lo, hi))
        }
      }
      guard i >= uniform else { continue }
      let j = Int(rng.next() % UInt64(count))
      let s = (i - uniform) % 2 == 0 ? sigma : sigmaFar
      for a in 0..<3 {
        let v = Double(points[3 * j + a]) + s * rng.normal()
        out[3 * i + a] = Float(min(max(v, Double(box.lower[a])), Double(box.upper[a])))
      }
    }
    return out
  }
}

extension Model {
  /// The loss terms that fit this model (3 inputs, 1 output) to `count` cloud points at
  /// `points` (x, y, z each) with their `normals` (3 floats each; nil for the unsigned
  /// variant), as `options` says (see `PointCloudFitOptions`): what `fitPoints` trains on,
  /// for callers running `Trainer.fitTerms` themselves.
  public func pointCloudTerms(
    points: UnsafePointer<Float>, normals: UnsafePointer<Float>?, count: Int,
    options: PointCloudFitOptions = PointCloudFitOptions()
  ) throws -> LossTerms {
    try requireField("fitting a point cloud")
    guard outputDim == 1 else {
      throw LaminaError.shape(
        "fitting a point cloud needs a model with 1 output; this one has \(outputDim)")
    }
    guard count > 0 else { throw LaminaError.invalid("fitting a point cloud needs points") }
    guard options.spacePoints > 0, options.surfaceBatch > 0, options.spaceBatch > 0 else {
      throw LaminaError.invalid("point cloud fit: point counts and batches must be > 0")
    }
    guard options.sigma >= 0, options.sigmaFar >= 0, options.sigma.isFinite,
      options.sigmaFar.isFinite
    else { throw LaminaError.invalid("point cloud fit: sigma must be finite and >= 0") }
    try Model.checkFinite(points, count: 3 * count, what: "points")
    if let normals {
      for i in 0..<(3 * count) where !normals[i].isFinite {
        throw LaminaError.numeric("normal \(i / 3) has a non-finite coordinate")
      }
    }
    let terms = try LossTerms(
      json: options.termsJSON(normals: normals != nil), inputDim: 3, outputDim: 1)
    let space = options.spaceSamples(points, count: count, box: options.bounds ?? fieldBox)
    let m = options.spacePoints
    try space.withUnsafeBufferPointer { s in
      let sp = s.baseAddress!
      if let normals {
        let zeros = [Float](repeating: 0, count: count)
        try terms.setPoints(0, points, count: count, targets: zeros, targetCount: count)
        try terms.setPoints(1, points, count: count, targets: normals, targetCount: 3 * count)
        try terms.setPoints(2, sp, count: m, targets: nil, targetCount: 0)
        if terms.terms.count > 3 {
          let far = Self.signedNearestDistances(sp, count: m, cloud: points, normals, count)
          try terms.setPoints(3, sp, count: m, targets: far, targetCount: m)
        }
      } else {
        var distances = [Float](repeating: 0, count: m)
        let tree = PointKDTree(points, count: count)
        distances.withUnsafeMutableBufferPointer {
          tree.distances(sp, count: m, into: $0.baseAddress!)
        }
        try terms.setPoints(0, sp, count: m, targets: distances, targetCount: m)
        try terms.setPoints(1, sp, count: m, targets: nil, targetCount: 0)
      }
    }
    return terms
  }

  /// The distance from each of `m` queries to its nearest cloud point, negative where the
  /// query lies behind that point's normal (the far-field term's targets).
  static func signedNearestDistances(
    _ q: UnsafePointer<Float>, count m: Int, cloud: UnsafePointer<Float>,
    _ normals: UnsafePointer<Float>, _ count: Int
  ) -> [Float] {
    var distances = [Float](repeating: 0, count: m)
    var nearest = [UInt32](repeating: 0, count: m)
    let tree = PointKDTree(cloud, count: count)
    distances.withUnsafeMutableBufferPointer { d in
      nearest.withUnsafeMutableBufferPointer { i in
        tree.distances(q, count: m, into: d.baseAddress!, nearest: i.baseAddress!)
      }
    }
    for r in 0..<m {
      let j = Int(nearest[r])
      var dot: Float = 0
      for a in 0..<3 { dot += (q[3 * r + a] - cloud[3 * j + a]) * normals[3 * j + a] }
      if dot < 0 { distances[r] = -distances[r] }
    }
    return distances
  }

  /// Fits the model (3 inputs, 1 output: an MLP, a KAN or a tri-plane field, with layers
  /// that have derivative passes) to a point cloud without distances: a signed distance from
  /// points and normals, or the unsigned distance when `normals` is nil (see
  /// `PointCloudFitOptions`). Runs `options.steps` steps of `Trainer.fitTerms` on
  /// `pointCloudTerms`, with `each` and `progress` as there (false cancels). Returns each
  /// step's total and per-term losses. Throws `.unsupported` for a layer without derivative
  /// passes (an RBF KAN layer with `normalize`), `.numeric` when training diverges.
  @discardableResult
  public func fitPoints(
    points: UnsafePointer<Float>, normals: UnsafePointer<Float>?, count: Int,
    options: PointCloudFitOptions = PointCloudFitOptions(),
    each: ((Int, Float, [Float]) -> Void)? = nil,
    progress: ((TrainingProgress) -> Bool)? = nil
  ) throws -> (totals: [Float], terms: [[Float]]) {
    let terms = try pointCloudTerms(
      points: points, normals: normals, count: count, options: options)
    var rates = FieldFitOptions()
    rates.trainer = options.trainer
    rates.planeLearningRate = options.planeLearningRate
    rates.steps = options.steps
    let config = try rates.trainerConfig(for: self, count: count)
    let trainer = try Trainer(model: self, json: config.json.text)
    return try trainer.fitTerms(terms, steps: options.steps, each: each, progress: progress)
  }

  /// `fitPoints` on arrays: `points` and `normals` (nil for the unsigned variant) of 3
  /// floats per point.
  @discardableResult
  public func fitPoints(
    points: [Float], normals: [Float]?, options: PointCloudFitOptions = PointCloudFitOptions(),
    progress: ((TrainingProgress) -> Bool)? = nil
  ) throws -> (totals: [Float], terms: [[Float]]) {
    guard points.count % 3 == 0, normals.map({ $0.count == points.count }) ?? true else {
      throw LaminaError.shape(
        "points need 3 floats each and normals as many floats as points (\(points.count))")
    }
    return try points.withUnsafeBufferPointer { p in
      try (normals ?? []).withUnsafeBufferPointer { q in
        try fitPoints(
          points: p.baseAddress!, normals: normals == nil ? nil : q.baseAddress!,
          count: points.count / 3, options: options, progress: progress)
      }
    }
  }
}
