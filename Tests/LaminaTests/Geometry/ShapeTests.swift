import XCTest

@testable import Lamina

final class ShapeTests: XCTestCase {
  /// Closed-form values: (shape JSON, point, expected distance).
  let cases: [(String, SIMD3<Float>, Float)] = [
    (#"{"type": "sphere", "radius": 0.5, "center": [0.1, 0, 0]}"#, SIMD3(1.1, 0, 0), 0.5),
    (#"{"type": "sphere", "radius": 0.5, "center": [0.1, 0, 0]}"#, SIMD3(0.1, 0.2, 0), -0.3),
    (#"{"type": "sphere"}"#, SIMD3(0, 0, 0), -0.5),
    // Box: outside a face, outside an edge (distance to the edge), inside (nearest face).
    (#"{"type": "box", "half_extents": [0.5, 0.3, 0.2]}"#, SIMD3(0.9, 0, 0), 0.4),
    (#"{"type": "box", "half_extents": [0.5, 0.3, 0.2]}"#, SIMD3(0.8, 0.7, 0), 0.5),
    (#"{"type": "box", "half_extents": [0.5, 0.3, 0.2]}"#, SIMD3(0.1, 0.05, 0.15), -0.05),
    (
      #"{"type": "box", "half_extents": [0.5, 0.5, 0.5], "center": [1, 1, 1]}"#,
      SIMD3(2.5, 2.5, 2.5), Float(3).squareRoot()
    ),
    // Rounded box: at a corner direction, distance to the rounding sphere; faces unchanged.
    (#"{"type": "box", "half_extents": [0.5, 0.5, 0.5], "rounding": 0.2}"#, SIMD3(0.7, 0, 0), 0.2),
    (
      #"{"type": "box", "half_extents": [0.5, 0.5, 0.5], "rounding": 0.2}"#, SIMD3(0.6, 0.6, 0.6),
      0.3 * Float(3).squareRoot() - 0.2
    ),
    // Torus about y: on the ring -> -minor, on the axis -> sqrt(major^2 + y^2) - minor.
    (#"{"type": "torus", "major": 0.5, "minor": 0.2}"#, SIMD3(0, 0, 0.5), -0.2),
    (
      #"{"type": "torus", "major": 0.5, "minor": 0.2}"#, SIMD3(0, 0.3, 0),
      Float(0.34).squareRoot() - 0.2
    ),
    (
      #"{"type": "torus", "major": 0.5, "minor": 0.2}"#, SIMD3(0.6, 0.4, 0.8),
      Float(0.41).squareRoot() - 0.2
    ),
    (
      #"{"type": "torus", "major": 0.5, "minor": 0.2, "center": [0, 1, 0]}"#, SIMD3(0.5, 1, 0), -0.2
    ),
    // Capsule: beside the segment, beyond an end.
    (
      #"{"type": "capsule", "a": [0, 0, 0], "b": [1, 0, 0], "radius": 0.1}"#, SIMD3(0.5, 0.3, 0.4),
      0.4
    ),
    (
      #"{"type": "capsule", "a": [0, 0, 0], "b": [1, 0, 0], "radius": 0.1}"#, SIMD3(-0.3, 0.4, 0),
      0.4
    ),
    (#"{"type": "capsule"}"#, SIMD3(0, 0.9, 0), 0.2),
    // Cylinder about y: side, cap, rim, inside.
    (#"{"type": "cylinder", "radius": 0.3, "half_height": 0.5}"#, SIMD3(0.5, 0, 0), 0.2),
    (#"{"type": "cylinder", "radius": 0.3, "height": 1}"#, SIMD3(0, 0.8, 0.1), 0.3),
    (#"{"type": "cylinder", "radius": 0.3, "half_height": 0.5}"#, SIMD3(0, 0.9, 0.6), 0.5),
    (#"{"type": "cylinder", "radius": 0.3, "half_height": 0.5}"#, SIMD3(0.1, 0.35, 0), -0.15),
    (#"{"type": "cylinder", "radius": 0.3, "capped": false}"#, SIMD3(0, 100, 0.1), -0.2),
    // CSG: min, max, and max(a, -b).
    (
      #"{"type": "union", "shapes": [{"type": "sphere", "radius": 0.2}, {"type": "sphere", "radius": 0.2, "center": [1, 0, 0]}]}"#,
      SIMD3(0.6, 0, 0), 0.2
    ),
    (
      #"{"type": "intersection", "shapes": [{"type": "sphere", "radius": 0.5}, {"type": "box", "half_extents": [1, 1, 0.1]}]}"#,
      SIMD3(0, 0, 0), -0.1
    ),
    (
      #"{"type": "difference", "shapes": [{"type": "sphere", "radius": 0.5}, {"type": "sphere", "radius": 0.3}]}"#,
      SIMD3(0, 0, 0), 0.3
    ),
    (
      #"{"type": "difference", "shapes": [{"type": "sphere", "radius": 0.5}, {"type": "sphere", "radius": 0.3}]}"#,
      SIMD3(0.4, 0, 0), -0.1
    ),
  ]

  func testClosedFormValues() throws {
    for (json, p, expected) in cases {
      let shape = try Shape(json: json)
      XCTAssertEqual(shape.distance(p), expected, accuracy: 1e-5, json)
      XCTAssertEqual(shape.distanceAndGradient(p).0, shape.distance(p), json)
    }
  }

  /// Analytic gradients against central differences at random points away from kinks, and
  /// unit length; the batched entry points agree with the scalar ones.
  func testGradientsMatchFiniteDifferences() throws {
    var rng = RandomSource(seed: 2)
    let shapes = Set(cases.map { $0.0 }).sorted()
    for json in shapes {
      let shape = try Shape(json: json)
      var checked = 0
      var points: [Float] = []
      while checked < 200 {
        let p = SIMD3(
          Float(rng.uniform(-1.2, 1.2)), Float(rng.uniform(-1.2, 1.2)),
          Float(rng.uniform(-1.2, 1.2)))
        let h: Float = 1e-3
        var fd = SIMD3<Float>.zero
        var second: Float = 0
        for a in 0..<3 {
          var e = SIMD3<Float>.zero
          e[a] = h
          let plus = Double(shape.distance(p + e))
          let minus = Double(shape.distance(p - e))
          fd[a] = Float((plus - minus) / Double(2 * h))
          // Skip points near a kink, where the one-sided slopes differ.
          let right = (plus - Double(shape.distance(p))) / Double(h)
          let left = (Double(shape.distance(p)) - minus) / Double(h)
          second = max(second, Float(abs(right - left)))
        }
        if second > 0.05 { continue }
        let g = shape.distanceAndGradient(p).1
        XCTAssertEqual(Double((g - fd).max()), 0, accuracy: 2e-2, "\(json) at \(p)")
        XCTAssertEqual(Double((g - fd).min()), 0, accuracy: 2e-2, "\(json) at \(p)")
        XCTAssertEqual((g * g).sum(), 1, accuracy: 1e-4, "\(json) at \(p)")
        points += [p.x, p.y, p.z]
        checked += 1
      }
      var values = [Float](repeating: 0, count: 200)
      var values2 = values
      var gradients = [Float](repeating: 0, count: 600)
      shape.sdf(points, 200, into: &values)
      shape.gradient(points, 200, into: &gradients, values: &values2)
      XCTAssertEqual(values, values2)
      for i in 0..<200 {
        let p = SIMD3(points[3 * i], points[3 * i + 1], points[3 * i + 2])
        XCTAssertEqual(values[i], shape.distance(p))
        XCTAssertEqual(gradients[3 * i + 1], shape.distanceAndGradient(p).1.y)
      }
    }
  }

  /// Primitive distances are exact: |sdf(p - sdf(p) * grad)| ~ 0 (one step lands on the surface).
  func testPrimitivesAreExactDistances() throws {
    var rng = RandomSource(seed: 4)
    for json in [
      #"{"type": "sphere", "radius": 0.4}"#,
      #"{"type": "box", "half_extents": [0.5, 0.3, 0.2], "rounding": 0.1}"#,
      #"{"type": "torus"}"#, #"{"type": "capsule", "a": [0.1, 0.2, 0.3], "b": [-0.3, 0, 0.2]}"#,
      #"{"type": "cylinder"}"#,
    ] {
      let shape = try Shape(json: json)
      for _ in 0..<300 {
        let p = SIMD3(
          Float(rng.uniform(-1, 1)), Float(rng.uniform(-1, 1)), Float(rng.uniform(-1, 1)))
        let (d, g) = shape.distanceAndGradient(p)
        XCTAssertEqual(shape.distance(p - d * g), 0, accuracy: 1e-5, "\(json) at \(p)")
      }
    }
  }

  func testDefaultsAndJSONErrors() throws {
    XCTAssertEqual(try Shape(json: #"{"type": "sphere"}"#), .sphere(center: .zero, radius: 0.5))
    XCTAssertEqual(
      try Shape(json: #"{"type": "torus"}"#), .torus(center: .zero, major: 0.5, minor: 0.2))
    XCTAssertEqual(
      try Shape(json: #"{"type": "box"}"#),
      .box(center: .zero, halfExtents: SIMD3(repeating: 0.5), rounding: 0))
    XCTAssertEqual(
      try Shape(json: #"{"type": "capsule"}"#),
      .capsule(a: SIMD3(0, -0.5, 0), b: SIMD3(0, 0.5, 0), radius: 0.2))
    XCTAssertEqual(
      try Shape(json: #"{"type": "cylinder"}"#),
      .cylinder(center: .zero, radius: 0.3, halfHeight: 0.5))
    XCTAssertEqual(
      try Shape(json: #"{"type": "cylinder", "capped": false}"#),
      .cylinder(center: .zero, radius: 0.3, halfHeight: .infinity))
    let bad = [
      "", "[]", #"{}"#, #"{"type": "cone"}"#, #"{"type": "sphere", "radius": 0}"#,
      #"{"type": "sphere", "radius": -1}"#, #"{"type": "sphere", "radus": 1}"#,
      #"{"type": "sphere", "center": [0, 0]}"#, #"{"type": "sphere", "center": [0, 0, "x"]}"#,
      #"{"type": "sphere", "center": [0, 0, 1e300]}"#,
      #"{"type": "box", "half_extents": [1, 0, 1]}"#,
      #"{"type": "box", "rounding": 0.6}"#, #"{"type": "torus", "major": 0.2, "minor": 0.3}"#,
      #"{"type": "cylinder", "height": 1, "half_height": 0.5}"#,
      #"{"type": "cylinder", "capped": false, "height": 1}"#,
      #"{"type": "capsule", "center": [0, 0, 0]}"#,
      #"{"type": "union"}"#, #"{"type": "union", "shapes": []}"#,
      #"{"type": "union", "shapes": [{"type": "sphere", "radius": "big"}]}"#,
      #"{"type": "union", "shapes": [{"type": "sphere"}], "radius": 1}"#,
    ]
    for text in bad {
      XCTAssertThrowsError(try Shape(json: text), text) {
        XCTAssertEqual(($0 as? LaminaError)?.code, .invalidArgument, text)
      }
    }
    // Nested error messages name the path.
    XCTAssertThrowsError(
      try Shape(json: #"{"type": "union", "shapes": [{"type": "sphere"}, {"type": "x"}]}"#)
    ) {
      XCTAssertTrue("\($0)".contains("shape.shapes[1]"), "\($0)")
    }
  }

  /// A box's marching-cubes volume, and a CSG shape's topology (a box with a hole through it
  /// is a genus-1 solid: Euler characteristic 0).
  func testCSGMeshes() throws {
    let ring = try Shape(
      json:
        #"{"type": "difference", "shapes": [{"type": "box", "half_extents": [0.6, 0.25, 0.6], "rounding": 0.05}, {"type": "cylinder", "radius": 0.3, "capped": false}]}"#
    )
    let m = try MarchingCubes.extract(
      resolution: (64, 64, 64), lower: SIMD3(repeating: -1), upper: SIMD3(repeating: 1),
      evaluate: { ring.sdf($0, $1, into: $2) }, gradient: { ring.gradient($0, $1, into: $2) })
    let topo = MeshTopology(m)
    XCTAssertEqual(topo.boundaryOrNonManifoldEdges, 0)
    XCTAssertEqual(topo.euler, 0)
    // Volume of the rounded box (1.2 x 0.5 x 1.2 minus rounding) minus the hole (pi 0.3^2 0.5).
    let r = 0.05
    let boxVolume =
      1.2 * 0.5 * 1.2 - (8 - 4 * Double.pi / 3) * r * r * r
      - (4 - Double.pi) * r * r * (4 * (1.2 - 2 * r) + 4 * (1.2 - 2 * r) + 4 * (0.5 - 2 * r)) / 4
    XCTAssertEqual(topo.signedVolume, boxVolume - Double.pi * 0.09 * 0.5, accuracy: 0.01)
  }
}
