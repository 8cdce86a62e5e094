/// Reading and writing triangle meshes as Wavefront OBJ and Stanford PLY files.
///
/// Reading: OBJ (`v` and `f` lines; polygons fan-triangulated; `f a/b/c` forms; negative,
/// relative indices; everything else ignored) and PLY (`ascii` and `binary_little_endian`;
/// see `MeshFile+PLY.swift`). Writing: OBJ, or binary little-endian PLY (ASCII PLY from
/// `encodePLY(_:binary:)`). Every count, offset and index in a file is checked, counts are
/// compared with the file's size before anything is allocated for them, and sizes are bound
/// by `Limits.maxMeshVertices`, `Limits.maxMeshFaces` and `MeshFile.maxFileBytes`: a
/// malformed file is an error (`.format`), never a crash.
public enum MeshFile {
  /// A file format.
  public enum Format: Sendable, Equatable {
    /// Wavefront OBJ (text).
    case obj
    /// PLY with ASCII data.
    case plyASCII
    /// PLY with binary little-endian data.
    case plyBinary
  }

  /// Largest mesh file read (4 GiB): the whole file is read into memory.
  public static let maxFileBytes = 1 << 32

  /// The format a path's extension names, case-insensitively: `.obj`, or `.ply` (binary
  /// when writing; reading accepts either PLY encoding).
  public static func format(ofPath path: String) throws -> Format {
    try FileIO.checkPath(path)
    let lower = path.lowercased()
    if lower.hasSuffix(".obj") { return .obj }
    if lower.hasSuffix(".ply") { return .plyBinary }
    throw LaminaError.invalid(
      "mesh file \"\(path)\": unknown extension (use .obj or .ply)")
  }

  /// Reads the mesh at `path` (format by extension).
  public static func load(from path: String) throws -> TriangleMesh {
    let format = try format(ofPath: path)
    let bytes = try FileIO.readFile(path, limit: maxFileBytes, what: "mesh")
    do {
      return format == .obj ? try decodeOBJ(bytes) : try decodePLY(bytes)
    } catch let e as LaminaError {
      throw LaminaError(e.code, "\"\(path)\": \(e.message)")
    }
  }

  /// Writes `mesh` to `path` atomically (a temporary file beside it, synced, then renamed
  /// over it), in `format`, or the format the extension names.
  public static func save(_ mesh: TriangleMesh, to path: String, format: Format? = nil) throws {
    let chosen = try format ?? self.format(ofPath: path)
    let bytes = chosen == .obj ? encodeOBJ(mesh) : encodePLY(mesh, binary: chosen == .plyBinary)
    try FileIO.writeAtomically(bytes, to: path)
  }

  // MARK: - Shared scanning helpers

  /// Whitespace inside a line (space, tab, and the CR of CRLF line ends, vertical tab, form feed).
  @inline(__always)
  static func isBlank(_ c: UInt8) -> Bool {
    c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0B || c == 0x0C
  }

  /// A decimal integer with an optional sign, or nil when `text` is not one or overflows.
  static func integer(_ text: UnsafeBufferPointer<UInt8>) -> Int? {
    var i = 0
    var negative = false
    if i < text.count && (text[i] == 0x2D || text[i] == 0x2B) {
      negative = text[i] == 0x2D
      i += 1
    }
    guard i < text.count else { return nil }
    var value = 0
    while i < text.count {
      let d = Int(text[i]) - 0x30
      guard d >= 0, d <= 9 else { return nil }
      let (m, o1) = value.multipliedReportingOverflow(by: 10)
      let (s, o2) = m.addingReportingOverflow(d)
      guard !o1, !o2 else { return nil }
      value = s
      i += 1
    }
    return negative ? -value : value
  }

  /// A floating-point number (decimal, exponent, `inf`, `nan`: as Swift's `Float(_:)`,
  /// which is locale-independent and correctly rounded, so written floats read back
  /// exactly), or nil. Tokens of 15 bytes or fewer make no allocation.
  static func float(_ text: UnsafeBufferPointer<UInt8>) -> Float? {
    guard text.count > 0, text.count <= 256 else { return nil }
    return Float(String(decoding: text, as: UTF8.self))
  }

  /// As `float(_:)`, in double precision (for PLY `double` properties).
  static func double(_ text: UnsafeBufferPointer<UInt8>) -> Double? {
    guard text.count > 0, text.count <= 256 else { return nil }
    return Double(String(decoding: text, as: UTF8.self))
  }

  /// The bytes of `text` as a short, printable excerpt for error messages.
  static func excerpt(_ text: UnsafeBufferPointer<UInt8>) -> String {
    let shown = text.prefix(40).map { $0 >= 0x20 && $0 < 0x7F ? Character(UnicodeScalar($0)) : "?" }
    return String(shown) + (text.count > 40 ? "..." : "")
  }
}

extension TriangleMesh {
  /// Reads a mesh from an OBJ or PLY file (see `MeshFile`).
  public static func load(from path: String) throws -> TriangleMesh {
    try MeshFile.load(from: path)
  }

  /// Writes the mesh atomically as OBJ or binary PLY, by the path's extension.
  public func save(to path: String) throws {
    try MeshFile.save(self, to: path)
  }
}
