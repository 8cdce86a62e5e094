/// Distances between two triangle meshes, the usual surface-reconstruction metrics.
///
/// Both meshes are sampled area-uniformly (`TriangleMesh.sampleSurface`) with `samples` points
/// each — mesh `a` with `RandomSource(seed:)`, mesh `b` with `seed + 1`, so a mesh compared
/// with itself shows the sampling noise rather than an exact 0 — and every sample is matched
/// to the nearest sample of the other mesh (point to point, exact, by a k-d tree; the
/// convention of Occupancy Networks / ConvONet evaluation code).
///
/// - Chamfer distance: the mean of the two directions' mean nearest distances, with
///   Euclidean (L2, not squared) distances: `(mean_a d(a, B) + mean_b d(b, A)) / 2`.
/// - F-score at `threshold`: precision is the fraction of `a`'s samples within `threshold` of
///   `b`'s, recall the fraction of `b`'s within `threshold` of `a`'s; F = 2PR / (P + R) (0
///   when both are 0). Read `a` as the prediction and `b` as the reference.
/// - Normal consistency: the mean over both directions of |n_a . n_b| for nearest pairs,
///   with the (unsigned, so orientation-blind) normals of the triangles the samples lie on.
/// - Volumetric IoU, when asked for (it costs two winding-number queries per sample): see
///   `volumeIoU`.
public struct MeshComparison: Sendable, Equatable {
  /// Mean distance from `a`'s samples to `b`'s.
  public var accuracy: Double
  /// Mean distance from `b`'s samples to `a`'s.
  public var completeness: Double
  /// `(accuracy + completeness) / 2`.
  public var chamfer: Double { (accuracy + completeness) / 2 }
  /// Fraction of `a`'s samples within the threshold of `b`.
  public var precision: Double
  /// Fraction of `b`'s samples within the threshold of `a`.
  public var recall: Double
  /// Harmonic mean of precision and recall (0 when both are 0).
  public var fscore: Double {
    precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
  }
  /// Mean |cos| of the angle between nearest samples' triangle normals, both directions.
  public var normalConsistency: Double
  /// Intersection over union of the two meshes' insides (`volumeIoU`), or nil when the
  /// comparison was made without `volume`.
  public var iou: Double?

  /// Default number of samples per mesh.
  public static let defaultSamples = 100_000
  /// Default F-score threshold (REFERENCES.md: 0.01 in [-1, 1]^3).
  public static let defaultThreshold: Float = 0.01
  /// Largest number of samples per mesh.
  public static let maxSamples = 1 << 24

  /// Compares `a` with `b` (see the type's documentation); with `volume`, also their
  /// volumetric IoU (`volumeIoU` with the same samples and seed, through `bvhA` and `bvhB`
  /// when given, else hierarchies built here). Throws when `samples` is not in
  /// 1...`maxSamples`, `threshold` is negative or not finite, or a mesh has no area.
  public init(
    _ a: TriangleMesh, _ b: TriangleMesh, samples: Int = defaultSamples, seed: UInt64 = 0,
    threshold: Float = defaultThreshold, volume: Bool = false, bvhA: TriangleBVH? = nil,
    bvhB: TriangleBVH? = nil
  ) throws {
    guard samples >= 1, samples <= MeshComparison.maxSamples else {
      throw LaminaError.invalid(
        "mesh comparison: samples = \(samples); it must be between 1 and \(MeshComparison.maxSamples)"
      )
    }
    guard threshold.isFinite, threshold >= 0 else {
      throw LaminaError.invalid(
        "mesh comparison: threshold is \(threshold); it must be finite and >= 0")
    }
    var rngA = RandomSource(seed: seed)
    var rngB = RandomSource(seed: seed &+ 1)
    let sa = try a.sampleSurface(count: samples, rng: &rngA)
    let sb = try b.sampleSurface(count: samples, rng: &rngB)
    let na = sa.triangles.map { a.triangleNormal($0) }
    let nb = sb.triangles.map { b.triangleNormal($0) }
    let treeA = PointKDTree(xyz: sa.points)
    let treeB = PointKDTree(xyz: sb.points)
    let ab = MeshComparison.direction(sa.points, na, treeB, nb, threshold)
    let ba = MeshComparison.direction(sb.points, nb, treeA, na, threshold)
    accuracy = ab.distance
    completeness = ba.distance
    precision = ab.within
    recall = ba.within
    normalConsistency = (ab.normal + ba.normal) / 2
    iou =
      volume
      ? MeshComparison.volumeIoU(
        a, b, samples: samples, seed: seed, bvhA: bvhA ?? TriangleBVH(a),
        bvhB: bvhB ?? TriangleBVH(b)) : nil
  }

  /// Monte Carlo estimate of the intersection over union of the insides of `a` and `b`
  /// (inside: generalized winding number > 0.5, as signed distances decide it; meant for
  /// closed meshes): `samples` points uniform in the union of the two bounding boxes, grown
  /// on every side by 1% of its largest extent (so a flat box still has volume), drawn
  /// with `RandomSource(seed: seed + 2)`; IoU = points inside both / points inside either,
  /// 1 when no point is inside either. The standard error is about
  /// sqrt(IoU (1 - IoU) / (samples x union volume / box volume)). `samples` must be >= 1
  /// (the initialiser checks the range).
  public static func volumeIoU(
    _ a: TriangleMesh, _ b: TriangleMesh, samples: Int, seed: UInt64, bvhA: TriangleBVH,
    bvhB: TriangleBVH
  ) -> Double {
    var low = SIMD3<Float>(repeating: .infinity)
    var high = SIMD3<Float>(repeating: -.infinity)
    for mesh in [a, b] {
      for i in 0..<mesh.vertexCount {
        low = pointwiseMin(low, mesh.vertex(i))
        high = pointwiseMax(high, mesh.vertex(i))
      }
    }
    guard all(low .<= high) else { return 1 }  // no vertices at all
    let pad = max(0.01 * (high - low).max(), Float.leastNormalMagnitude)
    let (lo, hi) = (SIMD3<Double>(low - pad), SIMD3<Double>(high + pad))
    var rng = RandomSource(seed: seed &+ 2)
    var points = [Float](repeating: 0, count: 3 * samples)
    for i in 0..<samples {
      for k in 0..<3 { points[3 * i + k] = Float(rng.uniform(lo[k], hi[k])) }
    }
    var wa = [Float](repeating: 0, count: samples)
    var wb = [Float](repeating: 0, count: samples)
    points.withUnsafeBufferPointer { p in
      wa.withUnsafeMutableBufferPointer {
        bvhA.windingNumbers(p.baseAddress!, count: samples, into: $0.baseAddress!)
      }
      wb.withUnsafeMutableBufferPointer {
        bvhB.windingNumbers(p.baseAddress!, count: samples, into: $0.baseAddress!)
      }
    }
    var both = 0
    var either = 0
    for i in 0..<samples {
      let (ia, ib) = (wa[i] > 0.5, wb[i] > 0.5)
      both += ia && ib ? 1 : 0
      either += ia || ib ? 1 : 0
    }
    return either == 0 ? 1 : Double(both) / Double(either)
  }

  /// Mean nearest distance, fraction within `threshold` and mean |normal dot| from `points`
  /// to the tree's points, in fixed chunks summed in order (bit-identical run to run).
  static func direction(
    _ points: [Float], _ normals: [SIMD3<Float>], _ tree: PointKDTree,
    _ treeNormals: [SIMD3<Float>], _ threshold: Float
  ) -> (distance: Double, within: Double, normal: Double) {
    let n = points.count / 3
    let chunk = 4096
    let chunks = (n + chunk - 1) / chunk
    var partial = [SIMD3<Double>](repeating: .zero, count: chunks)
    partial.withUnsafeMutableBufferPointer { out in
      let base = out.baseAddress!
      Parallel.forEach(chunks) { c in
        var sum = SIMD3<Double>.zero
        for i in (c * chunk)..<min(n, (c + 1) * chunk) {
          let q = SIMD3(points[3 * i], points[3 * i + 1], points[3 * i + 2])
          let (j, d2) = tree.nearest(q)
          let d = d2.squareRoot()
          sum.x += Double(d)
          sum.y += d <= threshold ? 1 : 0
          sum.z += Double(abs((normals[i] * treeNormals[j]).sum()))
        }
        base[c] = sum
      }
    }
    let total = partial.reduce(SIMD3<Double>.zero, +)
    return (total.x / Double(n), total.y / Double(n), total.z / Double(n))
  }
}
