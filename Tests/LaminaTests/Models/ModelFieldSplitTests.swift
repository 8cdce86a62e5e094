import XCTest

@testable import Lamina

/// `Model.fieldSplit` and `Model.fieldStack` (Models/Model+FieldSplit.swift): parts predict
/// as their field did, stacks of parts give the model back, and every refusal.
final class ModelFieldSplitTests: XCTestCase {
  /// Rows (field, x, y, z) for points in [-1.2, 1.2]^3, and the same points as (x, y, z).
  func points(field: Int, count: Int = 200) -> (rows: [Float], xyz: [Float]) {
    var rng = RandomSource(seed: 42)
    let xyz = (0..<(3 * count)).map { _ in Float(rng.uniform(-1.2, 1.2)) }
    var rows: [Float] = []
    for i in 0..<count { rows += [Float(field)] + xyz[(3 * i)..<(3 * i + 3)] }
    return (rows, xyz)
  }

  func bits(_ v: [Float]) -> [UInt32] { v.map(\.bitPattern) }

  func testSharedDecoderPartsPredictTheirFieldBitForBit() throws {
    for decoder in [#"{"hidden": [16, 16]}"#, #"{"kind": "kan", "hidden": [4]}"#] {
      let m = try Model(
        json: #"{"kind": "triplane", "resolution": [6, 10], "channels": 4, "fields": 3, "#
          + #""fourier": 1, "init_std": 0.5, "decoder": \#(decoder), "seed": 4}"#)
      let parts = try m.fieldSplitAll()
      XCTAssertEqual(parts.count, 3)
      for (k, part) in parts.enumerated() {
        XCTAssertEqual(part.inputDim, 3)
        XCTAssertEqual(part.spec["fields"], .number(1))
        XCTAssertEqual(part.spec["decoder_per_field"], .bool(false))
        XCTAssertEqual(part.spec["seed"], .number(4))
        XCTAssertEqual(part.spec["decoder"], m.spec["decoder"])
        let (rows, xyz) = points(field: k)
        XCTAssertEqual(bits(try part.predict(xyz)), bits(try m.predict(rows)), "field \(k)")
      }
      var options = FieldStackOptions()
      options.decoder = .shared
      let back = try Model.fieldStack(parts, options: options)
      XCTAssertEqual(back.spec, m.spec)
      for (a, b) in zip(back.tensors, m.tensors) {
        XCTAssertEqual(a.name, b.name)
        XCTAssertEqual(bits(a.parameter.value), bits(b.parameter.value), a.name)
      }
    }
  }

  func testPerFieldDecodersSplitAndStackBack() throws {
    let m = try Model(
      json: #"{"kind": "triplane", "resolution": 8, "channels": 8, "fields": 3, "#
        + #""decoder": {"hidden": [16]}, "decoder_per_field": true, "init_std": 0.5}"#)
    let parts = try m.fieldSplitAll()
    for (k, part) in parts.enumerated() {
      let slice = try XCTUnwrap(m.tensor(named: "1.0.weight"))
      let weight = try XCTUnwrap(part.tensor(named: "1.weight"))
      XCTAssertEqual(
        Array(slice.value[(k * weight.count)..<((k + 1) * weight.count)]), weight.value)
      let (rows, xyz) = points(field: k)
      for (a, b) in zip(try part.predict(xyz), try m.predict(rows)) {
        XCTAssertEqual(a, b, accuracy: 1e-5 * (1 + abs(b)), "field \(k)")
      }
    }
    let back = try Model.fieldStack(parts)
    XCTAssertEqual(back.spec, m.spec)
    for k in 0..<3 {
      let rows = points(field: k).rows
      XCTAssertEqual(bits(try back.predict(rows)), bits(try m.predict(rows)), "field \(k)")
    }
  }

  func testOptionsAndRefusals() throws {
    XCTAssertEqual(try FieldStackOptions(json: .object([])).decoder, .perField)
    XCTAssertEqual(
      try FieldStackOptions(json: .object([("decoder", .string("shared"))])).decoder, .shared)
    XCTAssertThrowsError(try FieldStackOptions(json: .object([("decoders", .string("shared"))])))
    XCTAssertThrowsError(try FieldStackOptions(json: .object([("decoder", .string("both"))])))

    func code(_ body: () throws -> Any) -> LaminaError.Code? {
      do { _ = try body() } catch let e as LaminaError { return e.code } catch { return nil }
      return nil
    }
    let one = try Model(json: #"{"kind": "triplane", "resolution": 4, "channels": 2}"#)
    let other = try Model(json: #"{"kind": "triplane", "resolution": 4, "channels": 3}"#)
    let mlp = try Model(json: #"{"kind": "mlp", "input": 3, "hidden": [4], "output": 1}"#)
    let seq = try Model(
      json: #"{"kind": "sequential", "input": 4, "layers": [{"type": "triplane", "#
        + #""resolution": 4, "channels": 2, "fields": 2}, {"type": "dense", "output": 1}]}"#)
    XCTAssertEqual(code { try one.fieldSplit(1) }, .invalidArgument)
    XCTAssertEqual(code { try one.fieldSplit(-1) }, .invalidArgument)
    XCTAssertEqual(code { try mlp.fieldSplit(0) }, .invalidArgument)
    XCTAssertEqual(code { try seq.fieldSplit(0) }, .unsupported)
    XCTAssertEqual(code { try Model.fieldStack([]) }, .invalidArgument)
    XCTAssertEqual(code { try Model.fieldStack([one, mlp]) }, .invalidArgument)
    XCTAssertEqual(code { try Model.fieldStack([one, seq]) }, .unsupported)
    do {
      _ = try Model.fieldStack([one, other])
      XCTFail("different channels stacked")
    } catch let e as LaminaError {
      XCTAssertTrue(e.message.contains("model 1's \"channels\""), e.message)
    }
    var shared = FieldStackOptions()
    shared.decoder = .shared
    let reseeded = try Model(
      json: #"{"kind": "triplane", "resolution": 4, "channels": 2, "seed": 1}"#)
    do {
      _ = try Model.fieldStack([one, reseeded], options: shared)
      XCTFail("different decoders shared")
    } catch let e as LaminaError {
      XCTAssertTrue(e.message.contains("model 1"), e.message)
    }
    let kan = try Model(
      json: #"{"kind": "triplane", "resolution": 4, "channels": 2, "#
        + #""decoder": {"kind": "kan", "hidden": [3]}}"#)
    XCTAssertEqual(code { try Model.fieldStack([kan, kan]) }, .invalidArgument)
    XCTAssertEqual(try Model.fieldStack([kan, kan], options: shared).spec["fields"], .number(2))
  }
}
