/// How training points for a signed distance field are drawn (`lamina_mesh_sample_points`).
/// JSON keys, with defaults:
///
///     near_fraction  0.5       share of points near the surface, in [0, 1]; the rest are
///                              uniform in `bounds`
///     sigma          0.01      std of the Gaussian offset of near points from area-uniform
///                              surface samples (>= 0)
///     sigma_far      0         when > 0, every second near point uses this std instead (a
///                              second, wider shell, as DeepSDF does)
///     bounds         [-1, 1]   the box: [low, high] for all axes, or
///                              [x_low, y_low, z_low, x_high, y_high, z_high]; near points
///                              are clamped into it
///     seed           0         the random stream; the same seed gives the same points
public struct SDFSampleOptions: Sendable, Equatable {
  /// Share of near-surface points (`near_fraction`).
  public var nearFraction: Double = 0.5
  /// Gaussian std of near points (`sigma`).
  public var sigma: Double = 0.01
  /// Second Gaussian std for every second near point, 0 for none (`sigma_far`).
  public var sigmaFar: Double = 0
  /// Low corner of the box (`bounds`).
  public var low = SIMD3<Double>(repeating: -1)
  /// High corner of the box (`bounds`).
  public var high = SIMD3<Double>(repeating: 1)
  /// Random seed (`seed`).
  public var seed: UInt64 = 0

  /// All defaults.
  public init() {}

  /// Options from a JSON object (unknown keys are refused; every key is optional).
  public init(json: JSONValue) throws {
    let r = try JSONObjectReader(json, what: "sample options")
    nearFraction = try r.double("near_fraction", default: nearFraction, min: 0, max: 1)
    sigma = try r.double("sigma", default: sigma, min: 0, max: 1e6)
    sigmaFar = try r.double("sigma_far", default: sigmaFar, min: 0, max: 1e6)
    seed = UInt64(try r.int("seed", default: 0, min: 0, max: 9_007_199_254_740_991))
    if let bounds = r.value("bounds") {
      guard case .array(let items) = bounds, items.count == 2 || items.count == 6 else {
        throw LaminaError.invalid(
          "sample options: \"bounds\" must be [low, high] or [x_low, y_low, z_low, x_high, y_high, z_high]"
        )
      }
      var values: [Double] = []
      for item in items {
        guard case .number(let x) = item, x.isFinite, abs(x) <= 1e30 else {
          throw LaminaError.invalid("sample options: \"bounds\" must hold finite numbers")
        }
        values.append(x)
      }
      if values.count == 2 {
        low = SIMD3(repeating: values[0])
        high = SIMD3(repeating: values[1])
      } else {
        low = SIMD3(values[0], values[1], values[2])
        high = SIMD3(values[3], values[4], values[5])
      }
      guard low.x < high.x, low.y < high.y, low.z < high.z else {
        throw LaminaError.invalid("sample options: \"bounds\" must have low < high on every axis")
      }
    }
    try r.finish()
  }

  /// The options with every key spelled out.
  public var json: JSONValue {
    .object([
      ("near_fraction", .number(nearFraction)), ("sigma", .number(sigma)),
      ("sigma_far", .number(sigmaFar)),
      ("bounds", .array([low.x, low.y, low.z, high.x, high.y, high.z].map { .number($0) })),
      ("seed", .number(Double(seed))),
    ])
  }
}

/// Training points for fitting a signed distance field: near-surface points (area-uniform
/// surface samples plus a Gaussian offset) and points uniform in a box, shuffled together,
/// with their signed distances (negative inside; occupancy is `sdf < 0`).
public enum SDFSampling {
  /// Draws `count` points into `points` (3 floats each) and their signed distances into
  /// `sdf`. The first `round(count * nearFraction)` draws are near points, the rest uniform,
  /// and a seeded shuffle then mixes them, so every prefix of the output has about the
  /// configured mixture. Deterministic in `options.seed`.
  public static func sample(
    _ mesh: TriangleMesh, bvh: TriangleBVH, count: Int, options: SDFSampleOptions,
    points: UnsafeMutablePointer<Float>, sdf: UnsafeMutablePointer<Float>
  ) throws {
    guard count >= 0 else { throw LaminaError.invalid("sample count must be >= 0") }
    guard mesh.faceCount > 0 else { throw LaminaError.invalid("mesh has no triangles") }
    var rng = RandomSource(seed: options.seed)
    let near = min(count, Int((Double(count) * options.nearFraction).rounded()))
    let (low, high) = (options.low, options.high)
    if near > 0 {
      let surface = try mesh.sampleSurface(count: near, rng: &rng).points
      for i in 0..<near {
        let sigma = options.sigmaFar > 0 && i % 2 == 1 ? options.sigmaFar : options.sigma
        for k in 0..<3 {
          let x = Double(surface[3 * i + k]) + sigma * rng.normal()
          points[3 * i + k] = Float(min(max(x, low[k]), high[k]))
        }
      }
    }
    for i in near..<count {
      for k in 0..<3 { points[3 * i + k] = Float(rng.uniform(low[k], high[k])) }
    }
    // Fisher-Yates over whole points.
    if count > 1 {
      for i in stride(from: count - 1, to: 0, by: -1) {
        let j = rng.index(below: i + 1)
        if j != i {
          for k in 0..<3 {
            (points[3 * i + k], points[3 * j + k]) = (points[3 * j + k], points[3 * i + k])
          }
        }
      }
    }
    bvh.signedDistances(UnsafePointer(points), count: count, into: sdf)
  }

  /// `sample` into new arrays, building the hierarchy for `mesh`.
  public static func sample(
    _ mesh: TriangleMesh, count: Int, options: SDFSampleOptions = SDFSampleOptions()
  )
    throws -> (points: [Float], sdf: [Float])
  {
    guard count >= 0 else { throw LaminaError.invalid("sample count must be >= 0") }
    var points = [Float](repeating: 0, count: 3 * count)
    var sdf = [Float](repeating: 0, count: count)
    let bvh = TriangleBVH(mesh)
    try points.withUnsafeMutableBufferPointer { p in
      try sdf.withUnsafeMutableBufferPointer { s in
        guard count > 0 else { return }
        try sample(
          mesh, bvh: bvh, count: count, options: options, points: p.baseAddress!,
          sdf: s.baseAddress!)
      }
    }
    return (points, sdf)
  }
}
