import XCTest

@testable import Lamina

/// Deterministic test meshes: an axis-aligned box, an icosphere and a torus, all closed and
/// oriented outward (checked by `signedVolume > 0`).
enum MeshFixtures {
  /// The box `[-h, h]` (12 triangles, 8 vertices).
  static func box(_ h: SIMD3<Float>) -> TriangleMesh {
    var v: [Float] = []
    for i in 0..<8 {
      v += [i & 1 == 0 ? -h.x : h.x, i & 2 == 0 ? -h.y : h.y, i & 4 == 0 ? -h.z : h.z]
    }
    // Each face as a quad listed counter-clockwise seen from outside.
    let quads: [[UInt32]] = [
      [0, 2, 3, 1], [4, 5, 7, 6],  // -z, +z
      [0, 1, 5, 4], [2, 6, 7, 3],  // -y, +y
      [0, 4, 6, 2], [1, 3, 7, 5],  // -x, +x
    ]
    var f: [UInt32] = []
    for q in quads { f += [q[0], q[1], q[2], q[0], q[2], q[3]] }
    return try! TriangleMesh(vertices: v, faces: f)
  }

  /// An icosahedron subdivided `levels` times, vertices on the sphere of `radius`.
  static func icosphere(levels: Int, radius: Float = 1) -> TriangleMesh {
    let t = (1 + 5.0.squareRoot()) / 2
    var points: [SIMD3<Double>] = [
      [-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t], [0, -1, -t],
      [0, 1, -t], [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1],
    ].map { $0 / ($0 * $0).sum().squareRoot() }
    var faces: [[Int]] = [
      [0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4],
      [11, 10, 2], [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8],
      [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1],
    ]
    for _ in 0..<levels {
      var midpoint: [Int: Int] = [:]
      func mid(_ a: Int, _ b: Int) -> Int {
        let key = min(a, b) * 1_000_000 + max(a, b)
        if let m = midpoint[key] { return m }
        let p = (points[a] + points[b]) / 2
        points.append(p / (p * p).sum().squareRoot())
        midpoint[key] = points.count - 1
        return points.count - 1
      }
      var next: [[Int]] = []
      for f in faces {
        let (ab, bc, ca) = (mid(f[0], f[1]), mid(f[1], f[2]), mid(f[2], f[0]))
        next += [[f[0], ab, ca], [f[1], bc, ab], [f[2], ca, bc], [ab, bc, ca]]
      }
      faces = next
    }
    let v = points.flatMap { p in [Float(p.x), Float(p.y), Float(p.z)].map { $0 * radius } }
    return try! TriangleMesh(vertices: v, faces: faces.flatMap { $0.map { UInt32($0) } })
  }

  /// A torus around the z axis (major radius `major`, minor `minor`), `nu` x `nv` quads.
  static func torus(major: Float = 0.6, minor: Float = 0.25, nu: Int = 48, nv: Int = 24)
    -> TriangleMesh
  {
    var v: [Float] = []
    for i in 0..<nu {
      let u = 2 * Double.pi * Double(i) / Double(nu)
      for j in 0..<nv {
        let w = 2 * Double.pi * Double(j) / Double(nv)
        let rho = Double(major) + Double(minor) * cos(w)
        v += [Float(rho * cos(u)), Float(rho * sin(u)), Float(Double(minor) * sin(w))]
      }
    }
    var f: [UInt32] = []
    for i in 0..<nu {
      for j in 0..<nv {
        let a = UInt32(i * nv + j)
        let b = UInt32(((i + 1) % nu) * nv + j)
        let c = UInt32(((i + 1) % nu) * nv + (j + 1) % nv)
        let d = UInt32(i * nv + (j + 1) % nv)
        f += [a, b, c, a, c, d]
      }
    }
    return try! TriangleMesh(vertices: v, faces: f)
  }

  /// Signed volume (positive for a closed mesh oriented outward).
  static func signedVolume(_ m: TriangleMesh) -> Double {
    var total = 0.0
    for t in 0..<m.faceCount {
      let a = SIMD3<Double>(m.vertex(Int(m.faces[3 * t])))
      let b = SIMD3<Double>(m.vertex(Int(m.faces[3 * t + 1])))
      let c = SIMD3<Double>(m.vertex(Int(m.faces[3 * t + 2])))
      total += (a * SIMD3(b.y * c.z - b.z * c.y, b.z * c.x - b.x * c.z, b.x * c.y - b.y * c.x))
        .sum()
    }
    return total / 6
  }

  /// `count` points uniform in `[lo, hi]^3`, x, y, z each.
  static func randomPoints(_ count: Int, _ lo: Double, _ hi: Double, seed: UInt64) -> [Float] {
    var rng = RandomSource(seed: seed)
    return (0..<(3 * count)).map { _ in Float(rng.uniform(lo, hi)) }
  }
}
