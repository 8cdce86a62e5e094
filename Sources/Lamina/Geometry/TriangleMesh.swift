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
