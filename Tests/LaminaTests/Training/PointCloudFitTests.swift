import Foundation
import XCTest

@testable import Lamina

/// Fitting fields to point clouds without distances (`Model.fitPoints`): a torus from points
/// and normals sampled from its mesh, by a tri-plane field and by an MLP, judged by IoU,
/// normal angle and Chamfer distance against the true torus; and the unsigned variant.
///
/// The tests run at a small size (CI time); the full-quality figures of bench/NOTES.md
/// ("Fitting an oriented point cloud") come from `Examples/pointcloud` (`swift run -c release
/// lamina-pointcloud-fit`), which measures them the same way.
final class PointCloudFitTests: XCTestCase {
  static let torus = Shape.torus(center: .zero, major: 0.5, minor: 0.2)

  /// The torus's mesh (marching cubes of its distance at `resolution`^3 over [-1, 1]^3).
  static func reference(resolution: Int) throws -> TriangleMesh {
    try MarchingCubes.extract(
      resolution: (resolution, resolution, resolution), lower: SIMD3(repeating: -1),
      upper: SIMD3(repeating: 1), evaluate: { torus.sdf($0, $1, into: $2) })
  }

  /// `n` area-uniform points of `mesh` with their triangles' normals.
  static func orientedCloud(_ mesh: TriangleMesh, _ n: Int, seed: UInt64) throws -> (
    [Float], [Float]
  ) {
    var rng = RandomSource(seed: seed)
    let s = try mesh.sampleSurface(count: n, rng: &rng)
    let normals = s.triangles.flatMap { t -> [Float] in
      let v = mesh.triangleNormal(t)
      return [v.x, v.y, v.z]
    }
    return (s.points, normals)
  }

  /// Quality of a fitted signed field against the torus.
  struct Quality: CustomStringConvertible {
    var iou: Double
    var degrees: Double
    var chamfer: Double
    var description: String {
      String(format: "IoU %.4f, normals %.2f deg, Chamfer %.2e", iou, degrees, chamfer)
    }
  }

  /// IoU by sign on `samples` uniform points of [-1, 1]^3, mean angle between the field's
  /// gradient and the torus's normal at `samples / 4` surface points, and the Chamfer
  /// distance (L2, `MeshComparison`) of the field's marching-cubes mesh at `resolution` to
  /// `reference`.
  static func quality(
    _ model: Model, reference: TriangleMesh, samples: Int, resolution: Int
  ) throws -> Quality {
    var rng = RandomSource(seed: 99)
    let x = (0..<(3 * samples)).map { _ in Float(rng.uniform(-1, 1)) }
    let predicted = try model.predict(x)
    var truth = [Float](repeating: 0, count: samples)
    x.withUnsafeBufferPointer { torus.sdf($0.baseAddress!, samples, into: &truth) }
    var (both, either) = (0, 0)
    for i in 0..<samples {
      let (a, b) = (predicted[i] < 0, truth[i] < 0)
      both += a && b ? 1 : 0
      either += a || b ? 1 : 0
    }
    let m = samples / 4
    let (on, _) = try orientedCloud(reference, m, seed: 98)
    var g = [Float](repeating: 0, count: 3 * m)
    try model.inputGradient(on, count: m, into: &g)
    var exact = [Float](repeating: 0, count: 3 * m)
    on.withUnsafeBufferPointer { torus.gradient($0.baseAddress!, m, into: &exact) }
    var angle = 0.0
    for i in 0..<m {
      let a = SIMD3<Double>(Double(g[3 * i]), Double(g[3 * i + 1]), Double(g[3 * i + 2]))
      let b = SIMD3<Double>(
        Double(exact[3 * i]), Double(exact[3 * i + 1]), Double(exact[3 * i + 2]))
      let c = (a * b).sum() / max(1e-12, ((a * a).sum() * (b * b).sum()).squareRoot())
      angle += acos(min(1, max(-1, c))) * 180 / .pi
    }
    let mesh = try model.extractMesh(resolution: resolution)
    let chamfer = try MeshComparison(mesh, reference, samples: m).chamfer
    return Quality(
      iou: either == 0 ? 1 : Double(both) / Double(either), degrees: angle / Double(m),
      chamfer: chamfer)
  }

  /// Fits `spec` to an oriented cloud of the torus and returns the quality and seconds.
  static func fitTorus(_ spec: String, cloud n: Int, options: PointCloudFitOptions) throws -> (
    Quality, Double
  ) {
    let reference = try reference(resolution: 96)
    let (points, normals) = try Self.orientedCloud(reference, n, seed: 1)
    let model = try Model(json: spec)
    let start = Date()
    let history = try model.fitPoints(points: points, normals: normals, options: options)
    let seconds = Date().timeIntervalSince(start)
    XCTAssertEqual(history.totals.count, options.steps)
    XCTAssertLessThan(history.totals.last!, history.totals.first!)
    let q = try Self.quality(
      model, reference: reference, samples: 40_000, resolution: 64)
    print(
      "point cloud fit: \(spec): \(options.steps) steps, \(String(format: "%.1f", seconds)) s: \(q)"
    )
    return (q, seconds)
  }
}

extension PointCloudFitTests {
  /// The default options scaled down for the fast tests.
  static func options(steps: Int, batch: Int = 1024) -> PointCloudFitOptions {
    var o = PointCloudFitOptions()
    o.steps = steps
    o.surfaceBatch = batch
    o.spaceBatch = batch
    o.spacePoints = 20_000
    return o
  }

  static let triplaneSpec =
    #"{"kind": "triplane", "resolution": 24, "channels": 8, "decoder": {"hidden": [32]}, "seed": 0}"#

  static let mlpSpec =
    #"{"kind": "mlp", "input": 3, "hidden": [32, 32, 32], "output": 1, "activation": {"name": "softplus", "beta": 100}, "seed": 0}"#

  func testTriplaneFieldFromOrientedPoints() throws {
    let (q, _) = try Self.fitTorus(
      Self.triplaneSpec, cloud: 10_000, options: Self.options(steps: 200))
    XCTAssertGreaterThan(q.iou, 0.97, "\(q)")
    XCTAssertLessThan(q.degrees, 8, "\(q)")
    XCTAssertLessThan(q.chamfer, 0.02, "\(q)")
  }

  /// An MLP needs more steps than a tri-plane field: the fast test takes 400 smaller ones.
  func testMLPFromOrientedPoints() throws {
    let (q, _) = try Self.fitTorus(
      Self.mlpSpec, cloud: 10_000,
      options: Self.options(steps: 400, batch: 512))
    XCTAssertGreaterThan(q.iou, 0.9, "\(q)")
    XCTAssertLessThan(q.degrees, 10, "\(q)")
    XCTAssertLessThan(q.chamfer, 0.02, "\(q)")
  }
}

extension PointCloudFitTests {
  /// The terms `fitPoints` trains on: kinds, weights and points, and the far-field
  /// targets' signs from the nearest point's normal.
  func testPointCloudTerms() throws {
    // A sphere of radius 0.5: normals point outward.
    var rng = RandomSource(seed: 2)
    var points: [Float] = []
    for _ in 0..<2000 {
      var v = (0..<3).map { _ in Float(rng.normal()) }
      let norm = (v.map { $0 * $0 }.reduce(0, +)).squareRoot()
      v = v.map { $0 / norm }
      points += v
    }
    let normals = points
    points = points.map { 0.5 * $0 }
    let model = try Model(json: Self.mlpSpec)
    var options = PointCloudFitOptions()
    options.spacePoints = 4000
    let terms = try model.pointCloudTerms(
      points: points, normals: normals, count: 2000, options: options)
    XCTAssertEqual(terms.terms.map(\.kind), [.value, .normal, .eikonal, .value])
    XCTAssertEqual(terms.terms.map(\.weight), [1, 1, 0.1, 1])
    XCTAssertEqual(terms.terms.map(\.count), [2000, 2000, 4000, 4000])
    XCTAssertEqual(terms.terms[0].targets, [Float](repeating: 0, count: 2000))
    // Far-field targets: |target| is the distance to the nearest cloud point (close to the
    // sphere's distance for this dense cloud), negative inside.
    let far = terms.terms[3]
    for r in 0..<far.count {
      let p = far.points[(3 * r)..<(3 * r + 3)]
      let d = (p.map { $0 * $0 }.reduce(0, +)).squareRoot() - 0.5
      XCTAssertEqual(far.targets[r], d, accuracy: 0.06, "point \(r)")
      if abs(d) > 0.06 { XCTAssertEqual(far.targets[r] < 0, d < 0, "point \(r)") }
    }
    // A quarter of the space points are uniform in the box, the rest near the cloud.
    let near = (0..<4000).filter { r in
      let p = far.points[(3 * r)..<(3 * r + 3)]
      return abs((p.map { $0 * $0 }.reduce(0, +)).squareRoot() - 0.5) < 0.05
    }.count
    XCTAssertGreaterThan(near, 2000)
    // Without normals: the unsigned distances at the same points, and the eikonal term.
    let unsigned = try model.pointCloudTerms(
      points: points, normals: nil, count: 2000, options: options)
    XCTAssertEqual(unsigned.terms.map(\.kind), [.value, .eikonal])
    XCTAssertEqual(unsigned.terms[0].targets, far.targets.map { abs($0) })
    options.farWeight = 0
    XCTAssertEqual(
      try model.pointCloudTerms(points: points, normals: normals, count: 2000, options: options)
        .terms.count, 3)
    XCTAssertThrowsError(
      try Model(json: #"{"kind": "mlp", "input": 2, "output": 1}"#).fitPoints(
        points: [0, 0, 0], normals: [1, 0, 0]))
    XCTAssertThrowsError(try model.fitPoints(points: [0, 0, 0, 1], normals: nil))
  }

  /// Without normals: the unsigned distance to the cloud, close to |sdf| near the torus.
  func testUnsignedDistanceFromPoints() throws {
    let reference = try Self.reference(resolution: 96)
    let (points, _) = try Self.orientedCloud(reference, 10_000, seed: 1)
    let model = try Model(json: Self.triplaneSpec)
    let options = Self.options(steps: 200)
    try model.fitPoints(points: points, normals: nil, options: options)
    var rng = RandomSource(seed: 5)
    var error = 0.0
    var count = 0
    var lowest: Float = 0
    let test = (0..<30_000).map { _ in Float(rng.uniform(-1, 1)) }
    let f = try model.predict(test)
    var truth = [Float](repeating: 0, count: 10_000)
    test.withUnsafeBufferPointer { Self.torus.sdf($0.baseAddress!, 10_000, into: &truth) }
    for i in 0..<10_000 where abs(truth[i]) < 0.2 {
      error += Double(abs(f[i] - abs(truth[i])))
      count += 1
      lowest = min(lowest, f[i])
    }
    let mean = error / Double(count)
    print("unsigned fit: mean |f - |sdf|| within 0.2 of the torus \(mean), lowest f \(lowest)")
    XCTAssertLessThan(mean, 0.02)
    XCTAssertGreaterThan(lowest, -0.04)
  }

  /// The JSON options (`lamina_model_fit_points`): "{}" is the Swift defaults, every key
  /// lands in its field, and keys that do not apply are refused by name.
  func testOptionsFromJSON() throws {
    func options(_ text: String) throws -> PointCloudFitOptions {
      try PointCloudFitOptions(json: JSONValue.parse(text))
    }
    let plain = PointCloudFitOptions()
    let empty = try options("{}")
    XCTAssertEqual(empty.termsJSON(normals: true), plain.termsJSON(normals: true))
    XCTAssertEqual(empty.trainer.json, plain.trainer.json)
    XCTAssertEqual(empty.steps, plain.steps)
    XCTAssertEqual(empty.spacePoints, plain.spacePoints)
    XCTAssertEqual(empty.sigmaFar, plain.sigmaFar)
    XCTAssertNil(empty.bounds)
    let set = try options(
      #"{"steps": 7, "surface_weight": 2, "normal_weight": 3, "normal_metric": "cosine", "eikonal_weight": 4, "far_weight": 0, "surface_batch": 5, "space_batch": 6, "space_points": 8, "sigma": 0.5, "sigma_far": 0.25, "bounds": [-2, 2], "seed": 9, "plane_learning_rate": 0.1, "learning_rate": 0.2, "schedule": "constant"}"#
    )
    XCTAssertEqual(set.steps, 7)
    XCTAssertEqual(
      [set.surfaceWeight, set.normalWeight, set.eikonalWeight, set.farWeight], [2, 3, 4, 0])
    XCTAssertEqual(set.normalMetric, "cosine")
    XCTAssertEqual([set.surfaceBatch, set.spaceBatch, set.spacePoints], [5, 6, 8])
    XCTAssertEqual([set.sigma, set.sigmaFar], [0.5, 0.25])
    XCTAssertEqual(set.bounds?.lower, SIMD3(repeating: -2))
    XCTAssertEqual(set.bounds?.upper, SIMD3(repeating: 2))
    XCTAssertEqual(set.seed, 9)
    XCTAssertEqual(set.trainer.seed, 9)
    XCTAssertEqual(set.planeLearningRate, 0.1)
    XCTAssertEqual(set.trainer.learningRate, 0.2)
    XCTAssertEqual(set.historyColumns(normals: true), [1, 2, 3])
    XCTAssertEqual(empty.historyColumns(normals: true), [1, 2, 3, 4])
    XCTAssertEqual(empty.historyColumns(normals: false), [1, 3])
    for bad in [
      #"{"batch_size": 4}"#, #"{"epochs": 2}"#, #"{"loss": "mse"}"#, #"{"optimizer": "lbfgs"}"#,
      #"{"normal_metric": "dot"}"#, #"{"far_weight": -1}"#, #"{"space_points": 0}"#,
      #"{"surface_batch": 16777217}"#, #"{"stepz": 1}"#, "[]",
    ] {
      XCTAssertThrowsError(try options(bad), bad)
    }
  }
}
