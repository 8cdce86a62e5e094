import XCTest

@testable import Lamina

final class MetricsTests: XCTestCase {
  func sphereMesh(_ r: Float, _ n: Int = 64) throws -> TriangleMesh {
    let s = Shape.sphere(center: .zero, radius: r)
    return try MarchingCubes.extract(
      resolution: (n, n, n), lower: SIMD3(repeating: -1), upper: SIMD3(repeating: 1),
      evaluate: { s.sdf($0, $1, into: $2) })
  }

  /// The k-d tree agrees with brute force, including on duplicated and clustered points.
  func testKDTreeMatchesBruteForce() {
    var rng = RandomSource(seed: 11)
    var xyz: [Float] = []
    for i in 0..<3000 {
      // A third of the points on a coarse lattice (ties), the rest uniform.
      let lattice = i % 3 == 0
      for _ in 0..<3 {
        let u = Float(rng.uniform(-1, 1))
        xyz.append(lattice ? (u * 4).rounded() / 4 : u)
      }
    }
    let tree = PointKDTree(xyz: xyz)
    XCTAssertEqual(tree.count, 3000)
    for _ in 0..<500 {
      let q = SIMD3(
        Float(rng.uniform(-1.2, 1.2)), Float(rng.uniform(-1.2, 1.2)), Float(rng.uniform(-1.2, 1.2)))
      var best = Float.infinity
      for i in 0..<3000 {
        let d = SIMD3(xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2]) - q
        best = min(best, (d * d).sum())
      }
      let (index, d2) = tree.nearest(q)
      XCTAssertEqual(d2, best)
      let p = SIMD3(xyz[3 * index], xyz[3 * index + 1], xyz[3 * index + 2]) - q
      XCTAssertEqual((p * p).sum(), best)
    }
    XCTAssertEqual(PointKDTree(xyz: []).nearest(.zero).index, -1)
  }

  /// A mesh against itself: only sampling noise (independent samples), perfect F-score at a
  /// threshold above the sample spacing, normal consistency ~1; identical run to run.
  func testSelfComparison() throws {
    let m = try sphereMesh(0.5)
    let c = try MeshComparison(m, m, samples: 20000, seed: 1, threshold: 0.05)
    // Mean nearest-neighbour distance of 20000 uniform points on area pi: ~0.5 / sqrt(density).
    let spacing = 0.5 * (Double.pi / 20000).squareRoot()
    XCTAssertLessThan(c.chamfer, 1.5 * spacing)
    XCTAssertGreaterThan(c.chamfer, 0.5 * spacing)
    XCTAssertEqual(c.fscore, 1)
    XCTAssertGreaterThan(c.normalConsistency, 0.99)
    XCTAssertEqual(c, try MeshComparison(m, m, samples: 20000, seed: 1, threshold: 0.05))
    XCTAssertNotEqual(c, try MeshComparison(m, m, samples: 20000, seed: 2, threshold: 0.05))
  }

  /// Concentric spheres r1, r2: every distance is about |r1 - r2|.
  func testConcentricSpheres() throws {
    let a = try sphereMesh(0.5)
    let b = try sphereMesh(0.7)
    let c = try MeshComparison(a, b, samples: 10000, seed: 3, threshold: 0.01)
    XCTAssertEqual(c.chamfer, 0.2, accuracy: 0.01)
    // From the inner sphere every point is ~0.2 away; from the outer the same.
    XCTAssertEqual(c.accuracy, 0.2, accuracy: 0.01)
    XCTAssertEqual(c.completeness, 0.2, accuracy: 0.01)
    XCTAssertEqual(c.fscore, 0)
    XCTAssertGreaterThan(c.normalConsistency, 0.98)
    // Threshold between the gap and nothing: all within 0.25.
    XCTAssertEqual(try MeshComparison(a, b, samples: 5000, seed: 3, threshold: 0.25).fscore, 1)
  }

  /// F-score of a half-covered reference: a square vs a square twice its size, coplanar.
  /// Precision 1 (every point of the small one lies on the large one), recall ~1/4.
  func testFScoreKnownCase() throws {
    let small = try TriangleMesh(
      vertices: [0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0], faces: [0, 1, 2, 0, 2, 3])
    let large = try TriangleMesh(
      vertices: [0, 0, 0, 2, 0, 0, 2, 2, 0, 0, 2, 0], faces: [0, 1, 2, 0, 2, 3])
    let c = try MeshComparison(small, large, samples: 20000, seed: 5, threshold: 0.02)
    // P(no large-square sample within 0.02) ~ 0.002
    XCTAssertEqual(c.precision, 1, accuracy: 0.005)
    XCTAssertEqual(c.recall, 0.25, accuracy: 0.02)
    XCTAssertEqual(c.fscore, 2 * 0.25 / 1.25, accuracy: 0.02)
    XCTAssertEqual(c.normalConsistency, 1, accuracy: 1e-6)
    // A perpendicular square: normal consistency ~0.
    let wall = try TriangleMesh(
      vertices: [0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1], faces: [0, 1, 2, 0, 2, 3])
    XCTAssertLessThan(try MeshComparison(small, wall, samples: 2000).normalConsistency, 1e-6)
  }

  func testBadArguments() throws {
    let m = try sphereMesh(0.5, 16)
    let empty = try TriangleMesh(vertices: [], faces: [])
    XCTAssertThrowsError(try MeshComparison(m, m, samples: 0))
    XCTAssertThrowsError(try MeshComparison(m, m, samples: MeshComparison.maxSamples + 1))
    XCTAssertThrowsError(try MeshComparison(m, m, threshold: -1))
    XCTAssertThrowsError(try MeshComparison(m, m, threshold: .nan))
    XCTAssertThrowsError(try MeshComparison(m, empty, samples: 10))
  }

  /// An axis-aligned box as an exact closed mesh (12 triangles, counter-clockwise outside).
  func boxMesh(_ lo: SIMD3<Float>, _ hi: SIMD3<Float>) throws -> TriangleMesh {
    var v: [Float] = []
    for i in 0..<8 {
      v += [i & 1 != 0 ? hi.x : lo.x, i & 2 != 0 ? hi.y : lo.y, i & 4 != 0 ? hi.z : lo.z]
    }
    let f: [UInt32] = [
      0, 4, 6, 0, 6, 2, 1, 3, 7, 1, 7, 5, 0, 1, 5, 0, 5, 4, 2, 6, 7, 2, 7, 3, 0, 2, 3, 0, 3, 1,
      4, 5, 7, 4, 7, 6,
    ]
    return try TriangleMesh(vertices: v, faces: f)
  }

  /// Volumetric IoU against exact volumes: half-overlapping unit cubes (1/3), nested cubes
  /// (1/8), a mesh with itself (1), disjoint meshes (0); only computed when asked for.
  func testVolumeIoUOfBoxes() throws {
    let a = try boxMesh(SIMD3(repeating: -0.5), SIMD3(repeating: 0.5))
    let b = try boxMesh(SIMD3(0, -0.5, -0.5), SIMD3(1, 0.5, 0.5))
    let inner = try boxMesh(SIMD3(repeating: -0.25), SIMD3(repeating: 0.25))
    let far = try boxMesh(SIMD3(repeating: 2), SIMD3(repeating: 3))
    let (ba, bb) = (TriangleBVH(a), TriangleBVH(b))
    let half = MeshComparison.volumeIoU(a, b, samples: 40000, seed: 1, bvhA: ba, bvhB: bb)
    XCTAssertEqual(half, 1.0 / 3.0, accuracy: 0.01)
    XCTAssertEqual(
      MeshComparison.volumeIoU(
        inner, a, samples: 40000, seed: 1, bvhA: TriangleBVH(inner), bvhB: ba),
      0.125, accuracy: 0.006)
    XCTAssertEqual(MeshComparison.volumeIoU(a, a, samples: 1000, seed: 0, bvhA: ba, bvhB: ba), 1)
    XCTAssertEqual(
      MeshComparison.volumeIoU(a, far, samples: 1000, seed: 0, bvhA: ba, bvhB: TriangleBVH(far)), 0)
    XCTAssertNil(try MeshComparison(a, b, samples: 2000).iou)
    let c = try MeshComparison(a, b, samples: 40000, seed: 1, volume: true)
    XCTAssertEqual(c.iou, half)
    XCTAssertEqual(c.chamfer, try MeshComparison(a, b, samples: 40000, seed: 1).chamfer)
  }
}
