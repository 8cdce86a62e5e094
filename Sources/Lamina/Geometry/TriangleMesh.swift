/// An indexed triangle mesh: float32 vertex positions and uint32 vertex indices, three per
/// triangle, counter-clockwise seen from outside (so normals by the right-hand rule point
/// out). Optional per-vertex normals (marching cubes fills them from the field's gradient).
public struct TriangleMesh: Sendable, Equatable {
  /// x, y, z of each vertex, row-major (`vertexCount x 3`).
  public private(set) var vertices: [Float]
  /// Three vertex indices per triangle (`faceCount x 3`).
  public private(set) var faces: [UInt32]
  /// Unit normal per vertex (`vertexCount x 3`), or empty when the mesh has none.
  public private(set) var normals: [Float]

  /// A mesh of `vertices` (3 floats each) and `faces` (3 indices each); `normals`, when
  /// given, has 3 floats per vertex. Throws when a count is not a multiple of 3, an index is
  /// out of range, a coordinate is not finite, or a size is over `Limits`.
  public init(vertices: [Float], faces: [UInt32], normals: [Float] = []) throws {
    guard vertices.count % 3 == 0 else {
      throw LaminaError.shape("mesh: \(vertices.count) vertex coordinates is not a multiple of 3")
    }
    guard faces.count % 3 == 0 else {
      throw LaminaError.shape("mesh: \(faces.count) face indices is not a multiple of 3")
    }
    guard vertices.count / 3 <= Limits.maxMeshVertices else {
      throw LaminaError(.outOfMemory, "mesh: more than \(Limits.maxMeshVertices) vertices")
    }
    guard faces.count / 3 <= Limits.maxMeshFaces else {
      throw LaminaError(.outOfMemory, "mesh: more than \(Limits.maxMeshFaces) triangles")
    }
    guard normals.isEmpty || normals.count == vertices.count else {
      throw LaminaError.shape(
        "mesh: \(normals.count) normal components for \(vertices.count / 3) vertices (need 3 each)")
    }
    if let bad = vertices.firstIndex(where: { !$0.isFinite }) {
      throw LaminaError.numeric("mesh: vertex \(bad / 3) has a non-finite coordinate")
    }
    let count = UInt32(vertices.count / 3)
    if let bad = faces.firstIndex(where: { $0 >= count }) {
      throw LaminaError.invalid(
        "mesh: face \(bad / 3) refers to vertex \(faces[bad]) but the mesh has \(count) vertices")
    }
    self.vertices = vertices
    self.faces = faces
    self.normals = normals
  }

  /// Number of vertices.
  public var vertexCount: Int { vertices.count / 3 }
  /// Number of triangles.
  public var faceCount: Int { faces.count / 3 }

  /// Vertex `i` as a SIMD vector.
  @inline(__always)
  public func vertex(_ i: Int) -> SIMD3<Float> {
    SIMD3(vertices[3 * i], vertices[3 * i + 1], vertices[3 * i + 2])
  }
}

extension TriangleMesh {
  /// Total surface area (sum of the triangles' areas), in double precision.
  public var area: Double {
    var total = 0.0
    for t in 0..<faceCount { total += Double(triangleArea(t)) }
    return total
  }

  /// Area of triangle `t`.
  @inline(__always)
  public func triangleArea(_ t: Int) -> Float {
    let a = vertex(Int(faces[3 * t]))
    let b = vertex(Int(faces[3 * t + 1]))
    let c = vertex(Int(faces[3 * t + 2]))
    let n = cross(b - a, c - a)
    return 0.5 * (n * n).sum().squareRoot()
  }

  /// Unit normal of triangle `t` by the right-hand rule (zero for a degenerate triangle).
  @inline(__always)
  public func triangleNormal(_ t: Int) -> SIMD3<Float> {
    let a = vertex(Int(faces[3 * t]))
    let n = cross(vertex(Int(faces[3 * t + 1])) - a, vertex(Int(faces[3 * t + 2])) - a)
    let length = (n * n).sum().squareRoot()
    return length > 0 ? n / length : .zero
  }

  /// `count` points uniformly distributed over the surface by area (not by triangle, which
  /// would crowd small triangles; see REFERENCES.md on biased surface samples): a triangle
  /// is picked with probability proportional to its area, then a point uniformly inside it
  /// (sqrt-warped barycentric coordinates). Returns the points (count x 3) and, for each,
  /// the index of its triangle. Throws when the mesh has no triangle of positive area.
  public func sampleSurface(count: Int, rng: inout RandomSource) throws -> (
    points: [Float], triangles: [Int]
  ) {
    var cumulative = [Double](repeating: 0, count: faceCount)
    var total = 0.0
    for t in 0..<faceCount {
      total += Double(triangleArea(t))
      cumulative[t] = total
    }
    guard total > 0, total.isFinite else {
      throw LaminaError.invalid("mesh: cannot sample a surface with no triangle of positive area")
    }
    var points = [Float](repeating: 0, count: 3 * count)
    var triangles = [Int](repeating: 0, count: count)
    for s in 0..<count {
      let target = rng.unit() * total
      // First triangle whose cumulative area exceeds the target (binary search).
      var lo = 0
      var hi = faceCount - 1
      while lo < hi {
        let mid = (lo + hi) / 2
        if cumulative[mid] > target { hi = mid } else { lo = mid + 1 }
      }
      let r1 = Float(rng.unit()).squareRoot()
      let r2 = Float(rng.unit())
      let a = vertex(Int(faces[3 * lo]))
      let b = vertex(Int(faces[3 * lo + 1]))
      let c = vertex(Int(faces[3 * lo + 2]))
      let p = (1 - r1) * a + r1 * (1 - r2) * b + r1 * r2 * c
      points[3 * s] = p.x
      points[3 * s + 1] = p.y
      points[3 * s + 2] = p.z
      triangles[s] = lo
    }
    return (points, triangles)
  }
}

/// The cross product of two 3-vectors.
@inline(__always)
public func cross(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> SIMD3<Float> {
  SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}
