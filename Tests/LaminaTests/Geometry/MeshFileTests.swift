import XCTest

@testable import Lamina

#if canImport(Glibc)
  import Glibc
#endif

/// OBJ and PLY reading and writing: round trips, the forms each format allows, and malformed
/// files, which must give errors, never crashes.
final class MeshFileTests: XCTestCase {
  var directory = ""

  override func setUpWithError() throws {
    var template = Array("/tmp/lamina-meshfile-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    directory = String(cString: try XCTUnwrap(made))
  }

  override func tearDown() {
    for name in directoryEntries(directory) { unlink("\(directory)/\(name)") }
    rmdir(directory)
  }

  func files() -> [String] {
    directoryEntries(directory).sorted()
  }

  func write(_ bytes: [UInt8], _ name: String) -> String {
    let path = "\(directory)/\(name)"
    let f = fopen(path, "wb")!
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, bytes.count, f) }
    fclose(f)
    return path
  }

  /// A mesh whose coordinates need all of a float's digits, with normals.
  func awkwardMesh(normals: Bool) throws -> TriangleMesh {
    let torus = MeshFixtures.torus(nu: 12, nv: 8)
    let v = torus.vertices.enumerated().map { $0.element * 1.000_000_1 + Float($0.offset) * 1e-7 }
    let n =
      normals
      ? (0..<torus.vertexCount).flatMap { i -> [Float] in [Float(i % 3) - 1, 0.5, -0.25] } : []
    return try TriangleMesh(vertices: v, faces: torus.faces, normals: n)
  }

  func assertFails(
    _ body: @autoclosure () throws -> TriangleMesh, _ code: LaminaError.Code = .format,
    _ containing: String = "",
    file: StaticString = #filePath, line: UInt = #line
  ) {
    do {
      _ = try body()
      XCTFail("expected an error", file: file, line: line)
    } catch let e as LaminaError {
      XCTAssertEqual(e.code, code, e.message, file: file, line: line)
      if !containing.isEmpty {
        XCTAssertTrue(
          e.message.contains(containing), "\"\(e.message)\" lacks \"\(containing)\"", file: file,
          line: line)
      }
    } catch {
      XCTFail("unexpected \(error)", file: file, line: line)
    }
  }

  // MARK: - Round trips

  func testRoundTripsAreExact() throws {
    let plain = try awkwardMesh(normals: false)
    let withNormals = try awkwardMesh(normals: true)
    XCTAssertEqual(try MeshFile.decodeOBJ(MeshFile.encodeOBJ(plain)), plain)
    XCTAssertEqual(try MeshFile.decodePLY(MeshFile.encodePLY(plain, binary: true)), plain)
    XCTAssertEqual(try MeshFile.decodePLY(MeshFile.encodePLY(plain, binary: false)), plain)
    XCTAssertEqual(
      try MeshFile.decodePLY(MeshFile.encodePLY(withNormals, binary: true)), withNormals)
    XCTAssertEqual(
      try MeshFile.decodePLY(MeshFile.encodePLY(withNormals, binary: false)), withNormals)
    // OBJ does not carry normals.
    XCTAssertEqual(try MeshFile.decodeOBJ(MeshFile.encodeOBJ(withNormals)), plain)
    // An empty mesh.
    let empty = try TriangleMesh(vertices: [], faces: [])
    XCTAssertEqual(try MeshFile.decodeOBJ(MeshFile.encodeOBJ(empty)), empty)
    XCTAssertEqual(try MeshFile.decodePLY(MeshFile.encodePLY(empty)), empty)
  }

  func testSaveAndLoadByExtension() throws {
    let mesh = try awkwardMesh(normals: true)
    for name in ["a.obj", "b.ply", "C.PLY", "d.Obj"] {
      let path = "\(directory)/\(name)"
      try mesh.save(to: path)
      let back = try TriangleMesh.load(from: path)
      XCTAssertEqual(back.vertices, mesh.vertices)
      XCTAssertEqual(back.faces, mesh.faces)
    }
    // .ply is written binary; no temporary files are left behind.
    let bytes = try FileIO.readFile("\(directory)/b.ply", limit: 1 << 20)
    XCTAssertTrue(
      String(decoding: bytes.prefix(40), as: UTF8.self).contains("binary_little_endian"))
    XCTAssertEqual(files(), ["C.PLY", "a.obj", "b.ply", "d.Obj"])
    // Overwriting replaces the file.
    let box = MeshFixtures.box([1, 1, 1])
    try box.save(to: "\(directory)/a.obj")
    XCTAssertEqual(try TriangleMesh.load(from: "\(directory)/a.obj"), box)
    // Explicit ASCII PLY.
    try MeshFile.save(box, to: "\(directory)/e.ply", format: .plyASCII)
    XCTAssertEqual(try TriangleMesh.load(from: "\(directory)/e.ply"), box)
  }

  func testPathErrors() throws {
    let mesh = MeshFixtures.box([1, 1, 1])
    XCTAssertThrowsError(try mesh.save(to: "\(directory)/x.stl")) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .invalidArgument)
    }
    assertFails(try TriangleMesh.load(from: "\(directory)/x.off"), .invalidArgument, "extension")
    assertFails(try TriangleMesh.load(from: "\(directory)/missing.obj"), .io)
    // An empty path is that, not an unknown extension.
    assertFails(try TriangleMesh.load(from: ""), .invalidArgument, "path is empty")
    XCTAssertThrowsError(try mesh.save(to: "")) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .invalidArgument)
      XCTAssertTrue("\($0)".contains("path is empty"), "\($0)")
    }
    XCTAssertThrowsError(try mesh.save(to: "\(directory)/no/such/dir.obj")) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .io)
    }
    // A directory is not a mesh file.
    mkdir("\(directory)/dir.ply", 0o755)
    assertFails(try TriangleMesh.load(from: "\(directory)/dir.ply"), .io)
    rmdir("\(directory)/dir.ply")
  }

  // MARK: - OBJ forms

  func testOBJForms() throws {
    let text = """
      # a comment\r
      mtllib x.mtl\r
      o thing
      v 0 0 0
      v 1 0 0 1.0
      v\t1 1 0  0.5 0.5 0.5
      v 0 1 0
      vt 0 0
      vn 0 0 1
      g group
      usemtl m
      s off
      f 1/1/1 2/1/1 3//1 4/1
      v 0 0 1
      f -5 -4 -1
      f 1 2 5 4 3
      l 1 2

      """
    let mesh = try MeshFile.decodeOBJ(Array(text.utf8))
    XCTAssertEqual(mesh.vertexCount, 5)
    XCTAssertEqual(mesh.vertices[3...5], [1, 0, 0])
    // A quad (2 triangles), a relative triangle, a pentagon (3 triangles), fan-triangulated.
    XCTAssertEqual(mesh.faces, [0, 1, 2, 0, 2, 3, 0, 1, 4, 0, 1, 4, 0, 4, 3, 0, 3, 2])
    // Forward references are allowed when the vertex exists by the end.
    let forward = try MeshFile.decodeOBJ(Array("f 1 2 3\nv 0 0 0\nv 1 0 0\nv 0 1 0\n".utf8))
    XCTAssertEqual(forward.faces, [0, 1, 2])
    // Exponents, signs.
    let numbers = try MeshFile.decodeOBJ(Array("v -1.5e-3 +2E2 .5\n".utf8))
    XCTAssertEqual(numbers.vertices, [-1.5e-3, 200, 0.5])
  }

  func testOBJMalformed() {
    func obj(_ s: String) throws -> TriangleMesh { try MeshFile.decodeOBJ(Array(s.utf8)) }
    assertFails(try obj("v 0 0\n"), .format, "line 1")
    assertFails(try obj("v 0 0 zero\n"), .format, "not a number")
    assertFails(try obj("v nan 0 0\n"), .format, "not finite")
    assertFails(try obj("v 0 0 1e39\n"), .format, "not finite")
    assertFails(try obj("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2\n"), .format, "at least 3")
    assertFails(try obj("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n"), .format, "index 0")
    assertFails(try obj("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n"), .format, "vertex 3")
    assertFails(try obj("v 0 0 0\nv 1 0 0\nv 0 1 0\nf -1 -2 -4\n"), .format, "before the first")
    assertFails(try obj("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 99999999999999999999\n"), .format)
    assertFails(try obj("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 x/1\n"), .format, "vertex reference")
    assertFails(try obj("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 /3\n"), .format)
    // Arbitrary bytes never crash.
    var rng = RandomSource(seed: 4)
    for _ in 0..<300 {
      let bytes = (0..<Int(rng.index(below: 200))).map { _ in
        [
          UInt8(ascii: "v"), UInt8(ascii: "f"), 0x20, 0x0A, 0x2F, 0x2D, UInt8(ascii: "1"),
          UInt8(ascii: "0"), 0xFF,
        ][rng.index(below: 9)]
      }
      _ = try? MeshFile.decodeOBJ(bytes)
    }
  }

  // MARK: - PLY forms

  /// Little-endian bytes of a value.
  func le<T: FixedWidthInteger>(_ x: T) -> [UInt8] {
    withUnsafeBytes(of: x.littleEndian) { Array($0) }
  }
  func le(_ x: Float) -> [UInt8] { le(x.bitPattern) }
  func le(_ x: Double) -> [UInt8] { le(x.bitPattern) }

  func testBinaryPLYForms() throws {
    // Double coordinates between other properties, a list in the vertex element, uint
    // counts and indices named vertex_index, a face flag, and elements before and after.
    var bytes = Array(
      """
      ply
      format binary_little_endian 1.0
      comment made by hand
      obj_info nothing
      element material 2
      property uchar r
      property list uchar float weights
      element vertex 4
      property uchar red
      property double x
      property double y
      property list uchar int tags
      property double z
      element face 2
      property uchar flags
      property list uint uint vertex_index
      property float quality
      element edge 1
      property int vertex1
      property int vertex2
      end_header

      """.utf8)
    // materials: r=1, two weights; r=2, zero weights
    bytes += [1] + [2] + le(Float(0.5)) + le(Float(0.25)) + [2] + [0]
    let corners: [[Double]] = [[0, 0, 0], [1, 0, 0], [1, 1, 0.1], [0, 1, 0]]
    for (i, c) in corners.enumerated() {
      bytes +=
        [UInt8(i)] + le(c[0]) + le(c[1]) + [UInt8(i % 2)] + (i % 2 == 1 ? le(Int32(7)) : [])
        + le(c[2])
    }
    bytes +=
      [9] + le(UInt32(4)) + le(UInt32(0)) + le(UInt32(1)) + le(UInt32(2)) + le(UInt32(3))
      + le(Float(1))
    bytes += [9] + le(UInt32(3)) + le(UInt32(3)) + le(UInt32(2)) + le(UInt32(1)) + le(Float(1))
    bytes += le(Int32(0)) + le(Int32(1))
    let mesh = try MeshFile.decodePLY(bytes)
    XCTAssertEqual(mesh.vertices, [0, 0, 0, 1, 0, 0, 1, 1, 0.1, 0, 1, 0])
    XCTAssertEqual(mesh.faces, [0, 1, 2, 0, 2, 3, 3, 2, 1])
    XCTAssertTrue(mesh.normals.isEmpty)
    // Truncated at every length: always an error, never a crash.
    for length in 0..<bytes.count {
      XCTAssertThrowsError(try MeshFile.decodePLY(Array(bytes[0..<length])), "length \(length)")
    }
    // A trailing extra byte is tolerated (as other readers do).
    XCTAssertEqual(try MeshFile.decodePLY(bytes + [0]), mesh)
  }

  func testTruncatedWrittenPLYAtEveryLength() throws {
    let bytes = MeshFile.encodePLY(MeshFixtures.box([1, 2, 3]))
    for length in 0..<bytes.count {
      XCTAssertThrowsError(try MeshFile.decodePLY(Array(bytes[0..<length])), "length \(length)")
    }
    // Every single-byte corruption is an error or a valid mesh; never a crash.
    var rng = RandomSource(seed: 8)
    for position in 0..<bytes.count {
      var bad = bytes
      bad[position] = UInt8(truncatingIfNeeded: rng.next())
      _ = try? MeshFile.decodePLY(bad)
    }
  }

  func testASCIIPLYForms() throws {
    let text = """
      ply\r
      format ascii 1.0\r
      element vertex 3\r
      property float x\r
      property float y\r
      property float z\r
      property uchar alpha\r
      element face 1\r
      property list int int vertex_indices\r
      end_header\r
      0 0 0 255\r
      1 0 0\r
      9 0 1 0 7 3 0 1
      2

      """
    // Line breaks are not significant in PLY text data.
    let mesh = try MeshFile.decodePLY(Array(text.utf8))
    XCTAssertEqual(mesh.vertices, [0, 0, 0, 1, 0, 0, 0, 1, 0])
    XCTAssertEqual(mesh.faces, [0, 1, 2])
    for length in 0..<(text.utf8.count - 3) {
      XCTAssertThrowsError(
        try MeshFile.decodePLY(Array(text.utf8.prefix(length))), "length \(length)")
    }
  }

  func testPLYMalformed() {
    func header(_ body: String, format: String = "ascii") -> String {
      "ply\nformat \(format) 1.0\n" + body
    }
    func ply(_ s: String) throws -> TriangleMesh { try MeshFile.decodePLY(Array(s.utf8)) }
    let vertexProps = "property float x\nproperty float y\nproperty float z\n"
    let tri = header(
      "element vertex 3\n" + vertexProps
        + "element face 1\nproperty list uchar int vertex_indices\nend_header\n")
    XCTAssertNoThrow(try ply(tri + "0 0 0 1 0 0 0 1 0 3 0 1 2\n"))
    assertFails(try ply(tri + "0 0 0 1 0 0 0 1 0 3 0 1 3\n"), .format, "vertex 3")
    assertFails(try ply(tri + "0 0 0 1 0 0 0 1 0 3 0 1 -1\n"), .format)
    assertFails(try ply(tri + "0 0 0 1 0 0 0 1 0 2 0 1\n"), .format, "3 or more")
    assertFails(try ply(tri + "0 0 0 1 0 0 0 1 0 300 0 1 2\n"), .format)
    assertFails(try ply(tri + "0 0 nan 1 0 0 0 1 0 3 0 1 2\n"), .format, "finite")
    assertFails(try ply(tri + "0 0 0 1 0 0 0 1 0 3 0 1 2.5\n"), .format)
    assertFails(try ply(tri + "0 0 0 1 0 0 0 1 0 3 0 1\n"), .format, "ends")
    assertFails(try ply("plyx\n"), .format, "not a PLY")
    assertFails(try ply("ply\nformat ascii 1.0\nelement vertex 1\n"), .format, "end_header")
    assertFails(try ply(header("end_header\n") + ""), .format, "no vertex")
    assertFails(try ply("ply\nelement vertex 0\nend_header\n"), .format, "no format")
    assertFails(try ply(header("end_header\n", format: "binary_big_endian")), .unsupported)
    assertFails(try ply(header("end_header\n", format: "utf16")), .format)
    assertFails(try ply(header("property float x\nend_header\n")), .format, "before any element")
    assertFails(try ply(header("element vertex 1\nproperty quad x\nend_header\n")), .format)
    assertFails(
      try ply(header("element vertex 1\nproperty list float int x\nend_header\n")), .format)
    assertFails(try ply(header("element vertex -1\nend_header\n")), .format)
    assertFails(
      try ply(header("element vertex 1\n" + vertexProps + "property float x\nend_header\n")),
      .format, "twice")
    assertFails(
      try ply(header("element vertex 1\nproperty float x\nproperty float y\nend_header\n0 0\n")),
      .format, "\"z\"")
    assertFails(
      try ply(header("element vertex 1\n" + vertexProps + "frobnicate\nend_header\n")), .format,
      "unknown keyword")
    // Face indices must be integers; face lists must exist.
    assertFails(
      try ply(
        header(
          "element vertex 3\n" + vertexProps
            + "element face 1\nproperty list uchar float vertex_indices\nend_header\n")),
      .format)
    assertFails(
      try ply(
        header(
          "element vertex 0\n" + vertexProps + "element face 1\nproperty int flags\nend_header\n1\n"
        )),
      .format, "vertex_indices")
    // Huge counts are refused against the file size before any allocation.
    assertFails(
      try ply(header("element vertex 2000000000\n" + vertexProps + "end_header\n0 0 0\n")), .format,
      "more than")
    assertFails(
      try ply(
        header(
          "element vertex 2000000000\n" + vertexProps + "end_header\n",
          format: "binary_little_endian") + "abc"),
      .format, "more than")
    assertFails(
      try ply(
        header(
          "element vertex 3\n" + vertexProps
            + "element face 1\nproperty list int int vertex_indices\nend_header\n",
          format: "binary_little_endian") + String(repeating: "\0", count: 36)
          + "\u{7F}\u{7F}\u{7F}\u{7F}"),
      .format, "runs past")
    // An element with no properties costs nothing, whatever its count.
    XCTAssertNoThrow(
      try ply(
        header("element nothing 2000000000\nelement vertex 0\n" + vertexProps + "end_header\n")))
  }

  func testBinaryPLYWithNaNIsRefused() {
    var mesh = MeshFile.encodePLY(MeshFixtures.box([1, 1, 1]))
    let start = mesh.count - 8 * 12 - 12 * 13
    mesh.replaceSubrange((start + 4)..<(start + 8), with: le(Float.nan))
    assertFails(try MeshFile.decodePLY(mesh), .format, "vertex 0")
  }
}
