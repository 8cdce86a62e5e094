/// Wavefront OBJ: `v x y z` lines (extra values such as `w` or colours ignored) and
/// `f` lines of three or more vertex references (`i`, `i/t`, `i//n`, `i/t/n`; positive
/// indices count from 1, negative ones back from the last vertex read so far), fan-
/// triangulated. Other statements (`vt`, `vn`, `g`, `o`, `s`, `usemtl`, `mtllib`, `l`,
/// comments) are ignored.
extension MeshFile {
  /// Parses OBJ text.
  public static func decodeOBJ(_ bytes: [UInt8]) throws -> TriangleMesh {
    try bytes.withUnsafeBufferPointer { try decodeOBJ($0) }
  }

  static func decodeOBJ(_ text: UnsafeBufferPointer<UInt8>) throws -> TriangleMesh {
    var vertices: [Float] = []
    var faces: [UInt32] = []
    var polygon: [UInt32] = []
    var line = 0
    var position = 0
    let end = text.count
    while position < end {
      line += 1
      var lineEnd = position
      while lineEnd < end && text[lineEnd] != 0x0A { lineEnd += 1 }
      defer { position = lineEnd + 1 }
      // Tokens of this line, one at a time.
      var cursor = position
      func nextToken() -> UnsafeBufferPointer<UInt8>? {
        while cursor < lineEnd && isBlank(text[cursor]) { cursor += 1 }
        guard cursor < lineEnd else { return nil }
        let start = cursor
        while cursor < lineEnd && !isBlank(text[cursor]) { cursor += 1 }
        return UnsafeBufferPointer(rebasing: text[start..<cursor])
      }
      guard let keyword = nextToken() else { continue }
      if keyword.count == 1 && keyword[0] == 0x76 {  // "v"
        guard vertices.count / 3 < Limits.maxMeshVertices else {
          throw LaminaError(
            .outOfMemory, "line \(line): more than \(Limits.maxMeshVertices) vertices")
        }
        for axis in 0..<3 {
          guard let token = nextToken() else {
            throw LaminaError.format("line \(line): a vertex needs 3 coordinates, found \(axis)")
          }
          guard let x = float(token) else {
            throw LaminaError.format("line \(line): \"\(excerpt(token))\" is not a number")
          }
          guard x.isFinite else {
            throw LaminaError.format("line \(line): vertex coordinate \(x) is not finite")
          }
          vertices.append(x)
        }
      } else if keyword.count == 1 && keyword[0] == 0x66 {  // "f"
        polygon.removeAll(keepingCapacity: true)
        let count = vertices.count / 3
        while let token = nextToken() {
          // The vertex index is what precedes the first '/'.
          var slash = 0
          while slash < token.count && token[slash] != 0x2F { slash += 1 }
          guard let index = integer(UnsafeBufferPointer(rebasing: token[0..<slash])) else {
            throw LaminaError.format(
              "line \(line): \"\(excerpt(token))\" is not a vertex reference")
          }
          let resolved: Int
          if index > 0 {
            guard index <= Limits.maxMeshVertices else {
              throw LaminaError.format("line \(line): vertex index \(index) is out of range")
            }
            resolved = index - 1
          } else if index < 0 {
            guard -index <= count else {
              throw LaminaError.format(
                "line \(line): relative vertex index \(index) reaches before the first vertex")
            }
            resolved = count + index
          } else {
            throw LaminaError.format("line \(line): vertex index 0 (OBJ indices start at 1)")
          }
          polygon.append(UInt32(resolved))
        }
        guard polygon.count >= 3 else {
          throw LaminaError.format(
            "line \(line): a face needs at least 3 vertices, found \(polygon.count)")
        }
        guard faces.count / 3 + polygon.count - 2 <= Limits.maxMeshFaces else {
          throw LaminaError(
            .outOfMemory, "line \(line): more than \(Limits.maxMeshFaces) triangles")
        }
        for k in 1..<(polygon.count - 1) {
          faces.append(polygon[0])
          faces.append(polygon[k])
          faces.append(polygon[k + 1])
        }
      }
    }
    // Positive indices may refer to vertices listed later; TriangleMesh checks them all.
    do {
      return try TriangleMesh(vertices: vertices, faces: faces)
    } catch let e as LaminaError {
      throw LaminaError.format(e.message)
    }
  }

  /// OBJ text for `mesh`: one `v` line per vertex (shortest decimal that reads back to the
  /// same float), one `f` line per triangle. Normals are not written.
  public static func encodeOBJ(_ mesh: TriangleMesh) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(32 * mesh.vertexCount + 24 * mesh.faceCount + 64)
    out.append(contentsOf: "# written by Lamina \(Lamina.version)\n".utf8)
    for i in 0..<mesh.vertexCount {
      out.append(
        contentsOf:
          "v \(mesh.vertices[3 * i]) \(mesh.vertices[3 * i + 1]) \(mesh.vertices[3 * i + 2])\n".utf8
      )
    }
    for t in 0..<mesh.faceCount {
      out.append(
        contentsOf:
          "f \(mesh.faces[3 * t] + 1) \(mesh.faces[3 * t + 1] + 1) \(mesh.faces[3 * t + 2] + 1)\n"
          .utf8)
    }
    return out
  }
}
