import XCTest

@testable import Lamina

/// Signed distance, closest points and winding numbers of triangle meshes (TriangleBVH).
final class MeshDistanceTests: XCTestCase {
  func testFixturesAreClosedAndOutward() {
    XCTAssertEqual(
      MeshFixtures.signedVolume(MeshFixtures.box([0.5, 0.3, 0.4])), 0.48, accuracy: 1e-6)
    XCTAssertGreaterThan(MeshFixtures.signedVolume(MeshFixtures.icosphere(levels: 2)), 4.0)
    let torus = MeshFixtures.signedVolume(MeshFixtures.torus())
    XCTAssertEqual(torus, 2 * .pi * .pi * 0.6 * 0.25 * 0.25, accuracy: 0.02)
  }

  /// Brute force over every triangle with the same kernel.
  func bruteNearest(_ mesh: TriangleMesh, _ q: SIMD3<Float>) -> Float {
    var best = Float.infinity
    for t in 0..<mesh.faceCount {
      let p = ClosestPoint.onTriangle(
        q, mesh.vertex(Int(mesh.faces[3 * t])), mesh.vertex(Int(mesh.faces[3 * t + 1])),
        mesh.vertex(Int(mesh.faces[3 * t + 2])))
      best = min(best, ClosestPoint.distanceSquared(q, p))
    }
    return best
  }

  func testClosestPointMatchesBruteForce() throws {
    // A soup of random triangles (overlapping, unoriented, some slivers) and a torus.
    var rng = RandomSource(seed: 5)
    var v: [Float] = []
    for _ in 0..<300 {
      let c = (0..<3).map { _ in Float(rng.uniform(-1, 1)) }
      for _ in 0..<3 { for k in 0..<3 { v.append(c[k] + Float(rng.uniform(-0.2, 0.2))) } }
    }
    // Degenerate triangles too: a repeated corner, three collinear points, one point.
    v += [0.3, 0.2, 0.1, 0.3, 0.2, 0.1, 0.5, -0.4, 0.2]
    v += [-0.5, 0.5, 0.5, 0, 0.25, 0.5, 0.5, 0, 0.5]
    v += [0.7, 0.7, -0.7, 0.7, 0.7, -0.7, 0.7, 0.7, -0.7]
    let soup = try TriangleMesh(vertices: v, faces: (0..<909).map { UInt32($0) })
    for mesh in [soup, MeshFixtures.torus()] {
      let bvh = TriangleBVH(mesh)
      let q = MeshFixtures.randomPoints(500, -1.5, 1.5, seed: 6)
      for i in 0..<500 {
        let p = SIMD3(q[3 * i], q[3 * i + 1], q[3 * i + 2])
        let hit = bvh.nearest(to: p)
        // The tree picks its winner with a branch-free kernel, so near-ties between
        // triangles may go either way: equal up to rounding.
        let brute = bruteNearest(mesh, p)
        XCTAssertEqual(hit.distanceSquared, brute, accuracy: 2e-6 * brute + 1e-12, "query \(i)")
        // The reported triangle really holds the reported point at that distance.
        let t = hit.triangle
        let again = ClosestPoint.onTriangle(
          p, mesh.vertex(Int(mesh.faces[3 * t])), mesh.vertex(Int(mesh.faces[3 * t + 1])),
          mesh.vertex(Int(mesh.faces[3 * t + 2])))
        XCTAssertEqual(again, hit.point)
      }
    }
  }

  func testClosestPointOnTriangleRegions() {
    let (a, b, c) = (SIMD3<Float>(0, 0, 0), SIMD3<Float>(1, 0, 0), SIMD3<Float>(0, 1, 0))
    XCTAssertEqual(ClosestPoint.onTriangle([-1, -1, 3], a, b, c), a)
    XCTAssertEqual(ClosestPoint.onTriangle([2, -0.5, 1], a, b, c), b)
    XCTAssertEqual(ClosestPoint.onTriangle([-0.1, 2, 0], a, b, c), c)
    XCTAssertEqual(ClosestPoint.onTriangle([0.5, -1, -2], a, b, c), [0.5, 0, 0])
    XCTAssertEqual(ClosestPoint.onTriangle([-3, 0.25, 0], a, b, c), [0, 0.25, 0])
    XCTAssertEqual(ClosestPoint.onTriangle([1, 1, 0], a, b, c), [0.5, 0.5, 0])
    XCTAssertEqual(ClosestPoint.onTriangle([0.25, 0.25, 7], a, b, c), [0.25, 0.25, 0])
    // Degenerate triangles: a repeated vertex, and three collinear points.
    let p = ClosestPoint.onTriangle([0.5, 1, 0], a, a, b)
    XCTAssertEqual(p, [0.5, 0, 0])
    let q = ClosestPoint.onTriangle([1.5, 1, 0], a, [2, 0, 0], b)
    XCTAssertEqual(q, [1.5, 0, 0])
    let r = ClosestPoint.onTriangle([3, 4, 5], a, a, a)
    XCTAssertEqual(r, a)
  }

  /// Exact SDF of the box `[-h, h]`.
  func boxSDF(_ p: SIMD3<Float>, _ h: SIMD3<Float>) -> Double {
    let q = SIMD3<Double>(Double(abs(p.x)), Double(abs(p.y)), Double(abs(p.z))) - SIMD3<Double>(h)
    let outside = pointwiseMax(q, SIMD3<Double>.zero)
    return (outside * outside).sum().squareRoot() + min(max(q.x, max(q.y, q.z)), 0)
  }

  func testBoxSDFMatchesAnalytic() {
    let h = SIMD3<Float>(0.5, 0.3, 0.4)
    let bvh = TriangleBVH(MeshFixtures.box(h))
    let q = MeshFixtures.randomPoints(4000, -1, 1, seed: 11)
    let sdf = bvh.signedDistances(q)
    var inside = 0
    for i in 0..<4000 {
      let p = SIMD3(q[3 * i], q[3 * i + 1], q[3 * i + 2])
      let want = boxSDF(p, h)
      XCTAssertEqual(Double(sdf[i]), want, accuracy: 1e-5, "point \(p)")
      if want < 0 { inside += 1 }
    }
    // Enough points on both sides to mean something (the box is 6% of the cube).
    XCTAssertGreaterThan(inside, 150)
  }

  func testIcosphereBetweenInscribedAndCircumscribedSpheres() {
    let mesh = MeshFixtures.icosphere(levels: 3)
    // Inscribed radius: the nearest face plane to the centre.
    var inner = Float.infinity
    for t in 0..<mesh.faceCount {
      inner = min(inner, (mesh.triangleNormal(t) * mesh.vertex(Int(mesh.faces[3 * t]))).sum())
    }
    XCTAssertGreaterThan(inner, 0.98)
    let bvh = TriangleBVH(mesh)
    let q = MeshFixtures.randomPoints(3000, -1.6, 1.6, seed: 12)
    let sdf = bvh.signedDistances(q)
    for i in 0..<3000 {
      let r = SIMD3(q[3 * i], q[3 * i + 1], q[3 * i + 2])
      let norm = (r * r).sum().squareRoot()
      XCTAssertGreaterThanOrEqual(sdf[i], norm - 1 - 1e-6, "point \(r)")
      XCTAssertLessThanOrEqual(sdf[i], norm - inner + 1e-6, "point \(r)")
    }
  }

  func testFastWindingNumberMatchesExact() {
    let mesh = MeshFixtures.torus(nu: 48, nv: 24)
    let fast = TriangleBVH(mesh)
    let exact = TriangleBVH(mesh, beta: .infinity)
    let q = MeshFixtures.randomPoints(300, -1.2, 1.2, seed: 13)
    var worst: Float = 0
    var total: Float = 0
    for i in 0..<300 {
      let p = SIMD3(q[3 * i], q[3 * i + 1], q[3 * i + 2])
      let we = exact.windingNumber(at: p)
      let error = abs(we - fast.windingNumber(at: p))
      worst = max(worst, error)
      total += error
      // Exact winding numbers of a closed mesh are integers away from the surface.
      if fast.distance(to: p) > 1e-3 {
        XCTAssertEqual(we, we.rounded(), accuracy: 1e-3, "point \(p)")
      }
    }
    // First-order expansions with beta = 2: measured worst 0.025, mean 0.0027 (the error
    // falls as beta grows: 0.008 and 0.0008 at beta 3). Far below the 0.5 that decides
    // the sign.
    XCTAssertLessThan(worst, 0.05)
    XCTAssertLessThan(total / 300, 0.005)
    // A wider beta is more accurate.
    let wide = TriangleBVH(mesh, beta: 4)
    var wideWorst: Float = 0
    for i in 0..<300 {
      let p = SIMD3(q[3 * i], q[3 * i + 1], q[3 * i + 2])
      wideWorst = max(wideWorst, abs(exact.windingNumber(at: p) - wide.windingNumber(at: p)))
    }
    XCTAssertLessThan(wideWorst, 0.01)
  }

  func testSignsSurviveHolesAndCracks() throws {
    // An icosphere with three triangles removed (a hole) and the vertices of one more
    // triangle's neighbourhood pulled apart (a crack), compared with the exact sphere.
    let sphere = MeshFixtures.icosphere(levels: 3)
    var faces = sphere.faces
    faces.removeSubrange(0..<9)
    var vertices = sphere.vertices
    let seam = Int(faces[300])
    // Duplicate one vertex, move the copy 0.01 along x, and use it in half of its faces.
    vertices += [vertices[3 * seam] + 0.01, vertices[3 * seam + 1], vertices[3 * seam + 2]]
    var used = 0
    for k in 0..<faces.count where faces[k] == UInt32(seam) {
      if used % 2 == 0 { faces[k] = UInt32(vertices.count / 3 - 1) }
      used += 1
    }
    XCTAssertGreaterThan(used, 3)
    let mesh = try TriangleMesh(vertices: vertices, faces: faces)
    let bvh = TriangleBVH(mesh)
    let q = MeshFixtures.randomPoints(3000, -1.5, 1.5, seed: 14)
    let sdf = bvh.signedDistances(q)
    var checked = 0
    for i in 0..<3000 {
      let p = SIMD3(q[3 * i], q[3 * i + 1], q[3 * i + 2])
      let r = (p * p).sum().squareRoot()
      // Points clearly inside or outside: away from the surface by more than the mesh's
      // deviation from the sphere (about 0.005) plus a margin.
      guard abs(r - 1) > 0.03 else { continue }
      checked += 1
      XCTAssertEqual(sdf[i] < 0, r < 1, "point \(p) at radius \(r)")
    }
    XCTAssertGreaterThan(checked, 2500)
  }

  func testBatchIsDeterministicAndMatchesSinglePoints() {
    let bvh = TriangleBVH(MeshFixtures.torus())
    // Above spatialOrderThreshold, so the points are visited in Morton order.
    let n = TriangleBVH.spatialOrderThreshold + 1000
    let q = MeshFixtures.randomPoints(n, -1, 1, seed: 15)
    let a = bvh.signedDistances(q)
    let b = bvh.signedDistances(q)
    XCTAssertEqual(a, b)
    var w = [Float](repeating: 0, count: n)
    var closest = [Float](repeating: 0, count: 3 * n)
    var triangles = [UInt32](repeating: 0, count: n)
    q.withUnsafeBufferPointer { p in
      bvh.windingNumbers(p.baseAddress!, count: n, into: &w)
      bvh.closestPoints(p.baseAddress!, count: n, into: &closest, triangles: &triangles)
    }
    for i in stride(from: 0, to: n, by: 97) {
      let p = SIMD3(q[3 * i], q[3 * i + 1], q[3 * i + 2])
      XCTAssertEqual(a[i], bvh.signedDistance(at: p))
      XCTAssertEqual(w[i], bvh.windingNumber(at: p))
      let hit = bvh.nearest(to: p)
      XCTAssertEqual(SIMD3(closest[3 * i], closest[3 * i + 1], closest[3 * i + 2]), hit.point)
      XCTAssertEqual(Int(triangles[i]), hit.triangle)
    }
  }

  func testEmptyMesh() throws {
    let bvh = TriangleBVH(try TriangleMesh(vertices: [0, 0, 0], faces: []))
    XCTAssertEqual(bvh.nodeCount, 0)
    XCTAssertEqual(bvh.nearest(to: .zero).triangle, -1)
    XCTAssertEqual(bvh.windingNumber(at: .zero), 0)
    XCTAssertEqual(bvh.signedDistance(at: .zero), .infinity)
  }

  func testCoincidentTrianglesKeepTheTreeShallow() throws {
    // 5000 copies of one triangle: no plane separates them, so every split is a median.
    let mesh = try TriangleMesh(
      vertices: [0, 0, 0, 1, 0, 0, 0, 1, 0],
      faces: [UInt32](repeating: 0, count: 0)
        + (0..<5000).flatMap { _ in [UInt32(0), 1, 2] })
    let bvh = TriangleBVH(mesh)
    XCTAssertEqual(bvh.nearest(to: [0.2, 0.2, 1]).distanceSquared, 1)
    XCTAssertLessThan(bvh.nodeCount, 2 * 5000)
  }
}

/// Agreement with an independent implementation (trimesh), to 1e-4.
final class MeshSDFReferenceTests: XCTestCase {
  func testCoarseTorusMatchesTrimesh() {
    let bvh = TriangleBVH(MeshFixtures.torus(major: 0.6, minor: 0.25, nu: 24, nv: 12))
    let sdf = bvh.signedDistances(MeshSDFReference.points)
    XCTAssertEqual(sdf.count, MeshSDFReference.sdf.count)
    XCTAssertEqual(MeshSDFReference.sdf.filter { $0 < 0 }.count, 12)
    for (i, want) in MeshSDFReference.sdf.enumerated() {
      XCTAssertEqual(Double(sdf[i]), want, accuracy: 1e-4, "point \(i)")
    }
  }
}

/// Training-point sampling: options, mixture, determinism.
final class SDFSamplingTests: XCTestCase {
  func testOptionsParseWithDefaultsAndRefuseBadKeys() throws {
    let defaults = try SDFSampleOptions(json: JSONValue.parse("{}"))
    XCTAssertEqual(defaults, SDFSampleOptions())
    XCTAssertEqual(defaults.nearFraction, 0.5)
    XCTAssertEqual(defaults.sigma, 0.01)
    XCTAssertEqual(defaults.sigmaFar, 0)
    XCTAssertEqual(defaults.low, SIMD3(repeating: -1))
    let custom = try SDFSampleOptions(
      json: JSONValue.parse(
        #"{"near_fraction": 0.8, "sigma": 0.02, "sigma_far": 0.2, "bounds": [-1, -2, -3, 1, 2, 3], "seed": 9}"#
      ))
    XCTAssertEqual(custom.high, SIMD3(1, 2, 3))
    XCTAssertEqual(custom.seed, 9)
    // The full form reads back to the same options.
    XCTAssertEqual(try SDFSampleOptions(json: custom.json), custom)
    for bad in [
      #"{"near_fraction": -0.1}"#, #"{"sigma": "x"}"#, #"{"bounds": [0, 0]}"#, #"{"bounds": [1]}"#,
      #"{"bounds": "box"}"#, #"{"seed": 1.5}"#, #"{"sigm": 1}"#, "[]",
    ] {
      XCTAssertThrowsError(try SDFSampleOptions(json: JSONValue.parse(bad)), bad) {
        XCTAssertEqual(($0 as? LaminaError)?.code, .invalidArgument, bad)
      }
    }
  }

  func testMixtureAndDeterminism() throws {
    let mesh = MeshFixtures.icosphere(levels: 2, radius: 0.5)
    var options = SDFSampleOptions()
    options.seed = 3
    let (p, sdf) = try SDFSampling.sample(mesh, count: 4000, options: options)
    let again = try SDFSampling.sample(mesh, count: 4000, options: options)
    XCTAssertEqual(p, again.points)
    XCTAssertEqual(sdf, again.sdf)
    // The signed distances are the mesh's.
    XCTAssertEqual(sdf, TriangleBVH(mesh).signedDistances(p))
    // About half within a few sigma of the surface; the points are shuffled, so the first
    // and second halves both hold about the same share.
    let firstNear = sdf[0..<2000].filter { abs($0) < 0.03 }.count
    let secondNear = sdf[2000...].filter { abs($0) < 0.03 }.count
    for share in [firstNear, secondNear] {
      XCTAssertEqual(Double(share) / 2000, 0.52, accuracy: 0.05)
    }
    XCTAssertTrue(p.allSatisfy { abs($0) <= 1 })
    // Uniform points only: inside share = ball volume / cube volume (~0.065 for the mesh).
    options.nearFraction = 0
    let uniform = try SDFSampling.sample(mesh, count: 20000, options: options)
    let inside = Double(uniform.sdf.filter { $0 < 0 }.count) / 20000
    XCTAssertEqual(inside, MeshFixtures.signedVolume(mesh) / 8, accuracy: 0.01)
  }
}
