import Foundation
import XCTest

@testable import Lamina

/// The C suite's malformed and hostile model and mesh files, loaded through the Swift API.
///
/// Tests/Data/loader_cases holds every file that the load entries of
/// Tests/C/test_abi_bad_calls.c's bad-call table and Tests/C/test_mesh_abi.c's malformed-file
/// table load, written by those tables (Tests/Data/loader_cases/regenerate.sh), with manifests
/// naming the status each must give. Each goes through `Model.load(from:)` or
/// `TriangleMesh.load(from:)` here and must throw exactly that code, with a message, or load;
/// bindings/python/tests/test_loader_cases.py loads the same files through the Python package.
final class LoaderCaseTests: XCTestCase {
  struct Case {
    let file: String
    let status: String
    let prefixes: String
    let what: String
  }

  static let directory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Data/loader_cases").path

  /// The manifest's names of the statuses -> the engine's codes (nil: loads).
  static let codes: [String: LaminaError.Code?] = [
    "LAMINA_OK": nil, "LAMINA_E_INVALID_ARGUMENT": .invalidArgument, "LAMINA_E_SHAPE": .shape,
    "LAMINA_E_IO": .io, "LAMINA_E_FORMAT": .format, "LAMINA_E_UNSUPPORTED": .unsupported,
  ]

  func manifest(_ name: String) throws -> [Case] {
    let text = try String(contentsOfFile: "\(Self.directory)/\(name)", encoding: .utf8)
    return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
      let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
      return Case(file: f[0], status: f[1], prefixes: f[2], what: f.count > 3 ? f[3] : "")
    }
  }

  /// Loads `path` (a model or, by extension, a mesh) and checks the outcome is `status`.
  func expect(
    _ status: String, _ what: String, file: StaticString = #filePath, line: UInt = #line,
    _ load: () throws -> Void
  ) {
    guard let want = Self.codes[status] else {
      return XCTFail("\(what): unknown status \(status) in the manifest", file: file, line: line)
    }
    do {
      try load()
      if let want { XCTFail("\(what): loaded; want \(want)", file: file, line: line) }
    } catch let e as LaminaError {
      XCTAssertEqual(e.code, want, "\(what): \"\(e.message)\"", file: file, line: line)
      XCTAssertFalse(e.message.isEmpty, "\(what): no message", file: file, line: line)
    } catch {
      XCTFail("\(what): unexpected \(error)", file: file, line: line)
    }
  }

  func load(_ path: String) throws {
    if path.hasSuffix(".obj") || path.hasSuffix(".ply") {
      _ = try TriangleMesh.load(from: path)
    } else {
      _ = try Model.load(from: path)
    }
  }

  func testTheManifestsHoldTheCTables() throws {
    let models = try manifest("safetensors.tsv")
    let meshes = try manifest("mesh.tsv")
    XCTAssertGreaterThanOrEqual(models.count, 55)
    XCTAssertGreaterThanOrEqual(meshes.count, 7)
    XCTAssertTrue(models.contains { $0.file == "offsets_size.safetensors" }, "the short span")
    XCTAssertEqual(Set(models.map(\.status)), ["LAMINA_OK", "LAMINA_E_FORMAT", "LAMINA_E_IO"])
    XCTAssertEqual(
      Set(meshes.map(\.status)), ["LAMINA_OK", "LAMINA_E_FORMAT", "LAMINA_E_UNSUPPORTED"])
  }

  func testEachFileGivesItsStatus() throws {
    for c in try manifest("safetensors.tsv") + manifest("mesh.tsv") {
      expect(c.status, "\(c.file) (\(c.what))") { try load("\(Self.directory)/\(c.file)") }
    }
  }

  /// The corrupted files are corruptions of these: each loads to the same tensors.
  func testValidRebuildsLoadTheSameModel() throws {
    let valid = try manifest("safetensors.tsv").filter { $0.status == "LAMINA_OK" }
      .map { try Model.load(from: "\(Self.directory)/\($0.file)") }
    XCTAssertEqual(valid.count, 4)
    let x: [Float] = (0..<48).map { Float($0 % 7) / 3 - 1 }
    for m in valid.dropFirst() {
      XCTAssertEqual(m.tensors.map(\.name), valid[0].tensors.map(\.name))
      for (a, b) in zip(m.tensors, valid[0].tensors) {
        XCTAssertEqual(a.parameter.value, b.parameter.value, a.name)
      }
      XCTAssertEqual(try m.predict(x), try valid[0].predict(x))
    }
  }

  func testEveryProperPrefixGivesItsStatus() throws {
    for c in try manifest("safetensors.tsv") + manifest("mesh.tsv") where c.prefixes != "-" {
      let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(Self.directory)/\(c.file)")))
      for length in 0..<bytes.count {
        let prefix = Array(bytes[0..<length])
        expect(c.prefixes, "\(c.file) cut to \(length) bytes") {
          if c.file.hasSuffix(".obj") {
            _ = try MeshFile.decodeOBJ(prefix)
          } else if c.file.hasSuffix(".ply") {
            _ = try MeshFile.decodePLY(prefix)
          } else {
            _ = try Model.decode(prefix)
          }
        }
      }
    }
  }

  func testADirectoryIsAnIOError() throws {
    let dir = NSTemporaryDirectory() + "lamina-loader-cases-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for name in ["model.safetensors", "mesh.obj", "mesh.ply"] {
      try FileManager.default.createDirectory(
        atPath: "\(dir)/\(name)", withIntermediateDirectories: true)
      expect("LAMINA_E_IO", name) { try load("\(dir)/\(name)") }
    }
  }
}
