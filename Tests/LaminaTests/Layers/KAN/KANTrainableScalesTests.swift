import Foundation
import XCTest

@testable import Lamina

/// pykan's `sp_trainable` / `sb_trainable` ("sp_trainable", "sb_trainable" B-spline keys):
/// false makes "scale_sp" / "scale_base" buffers that no optimizer changes.
final class KANTrainableScalesTests: XCTestCase {
  private let x: [Float] = (0..<64).map { Float($0 % 8) / 4 - 1 + Float($0 / 8) / 37 }
  private var y: [Float] {
    stride(from: 0, to: x.count, by: 2).map { sin(2 * x[$0]) + x[$0 + 1] * x[$0 + 1] }
  }

  private func model(_ keys: String) throws -> Model {
    try Model(json: #"{"kind": "kan", "widths": [2, 3, 1], "seed": 4\#(keys)}"#)
  }

  private func values(_ m: Model, _ name: String) throws -> [Float] {
    try XCTUnwrap(m.tensor(named: name), name).value
  }

  func testDefaultsTrainBothAndTheSpecIsUnchanged() throws {
    let m = try model("")
    let names = m.tensors.map(\.name)
    XCTAssertEqual(
      Array(names.prefix(5)), ["0.coef", "0.scale_base", "0.scale_sp", "0.grid", "0.mask"])
    XCTAssertNil(m.spec["sp_trainable"])
    XCTAssertNil(m.spec["sb_trainable"])
    let explicit = try model(#", "sp_trainable": true, "sb_trainable": true"#)
    XCTAssertEqual(explicit.spec, m.spec)
    XCTAssertEqual(explicit.parameterCount, m.parameterCount)
  }

  func testFrozenScalesAreBuffersEchoedAndSaved() throws {
    let plain = try model("")
    let m = try model(#", "sp_trainable": false, "sb_trainable": false"#)
    XCTAssertEqual(m.spec["sp_trainable"], .bool(false))
    XCTAssertEqual(m.spec["sb_trainable"], .bool(false))
    XCTAssertEqual(try Model(spec: m.spec).spec, m.spec)
    // Same initial values (the keys change no draw), 2 x edges fewer trained scalars.
    for name in plain.tensors.map(\.name) {
      XCTAssertEqual(try values(m, name), try values(plain, name), name)
    }
    XCTAssertEqual(m.parameterCount, plain.parameterCount - 2 * (2 * 3 + 3 * 1))
    for l in 0..<2 {
      for name in ["\(l).scale_sp", "\(l).scale_base"] {
        let p = try XCTUnwrap(m.tensor(named: name))
        XCTAssertFalse(m.parameters.contains { $0 === p }, name)
      }
      let coef = try XCTUnwrap(m.tensor(named: "\(l).coef"))
      XCTAssertTrue(m.parameters.contains { $0 === coef })
    }
    // Only one frozen.
    let sp = try model(#", "sp_trainable": false"#)
    XCTAssertEqual(sp.spec["sp_trainable"], .bool(false))
    XCTAssertNil(sp.spec["sb_trainable"])
    XCTAssertEqual(
      Array(sp.tensors.map(\.name).prefix(5)),
      ["0.coef", "0.scale_base", "0.scale_sp", "0.grid", "0.mask"])
    XCTAssertEqual(sp.parameterCount, plain.parameterCount - (2 * 3 + 3 * 1))
    let sb = try model(#", "sb_trainable": false"#)
    XCTAssertEqual(
      Array(sb.tensors.map(\.name).prefix(5)),
      ["0.coef", "0.scale_sp", "0.scale_base", "0.grid", "0.mask"])
    // Save and load keep them frozen.
    let path = NSTemporaryDirectory() + "lamina-kanfrozen-\(getpid()).safetensors"
    defer { unlink(path) }
    try m.save(to: path)
    let back = try Model.load(from: path)
    XCTAssertEqual(back.spec, m.spec)
    XCTAssertEqual(back.parameterCount, m.parameterCount)
    XCTAssertEqual(try back.predict(x), try m.predict(x))
    // Bad values and mixed layers are refused.
    XCTAssertThrowsError(try model(#", "sp_trainable": 0"#)) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .invalidArgument)
    }
    XCTAssertThrowsError(
      try Model(
        json: #"{"kind": "kan", "widths": [2, 1], "basis": "mixed", "#
          + #""bases": [{"name": "bspline", "sb_trainable": false}, "chebyshev"]}"#)
    ) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .invalidArgument)
      XCTAssertTrue("\($0)".contains("sb_trainable"), "\($0)")
    }
  }

  /// Training (first-order with the KAN regulariser, and L-BFGS) leaves frozen scales
  /// bit-unchanged and moves every trained tensor.
  func testTrainingLeavesFrozenScalesUnchanged() throws {
    let configs = [
      #"{"optimizer": "adam", "learning_rate": 1e-2, "lamb": 0.01}"#,
      #"{"optimizer": "lbfgs", "max_iter": 5}"#,
    ]
    for keys in [
      #", "sp_trainable": false, "sb_trainable": false"#, #", "sp_trainable": false"#,
      #", "sb_trainable": false"#,
    ] {
      for json in configs {
        let m = try model(keys)
        let trained = m.tensors.filter { t in m.parameters.contains { $0 === t.parameter } }
        let frozen = m.tensors.filter {
          $0.name.hasSuffix("scale_sp") || $0.name.hasSuffix("scale_base")
        }
        .filter { t in !m.parameters.contains { $0 === t.parameter } }
        XCTAssertFalse(frozen.isEmpty)
        let before = Dictionary(
          uniqueKeysWithValues: m.tensors.map { ($0.name, $0.parameter.value) })
        let trainer = try Trainer(model: m, json: json)
        let yv = y
        for _ in 0..<3 { _ = try trainer.step(x, yv, count: yv.count) }
        for t in frozen {
          XCTAssertEqual(t.parameter.value, before[t.name], "\(keys) \(json): \(t.name)")
          XCTAssertTrue(t.parameter.gradient.allSatisfy { $0 == 0 }, "no gradient: \(t.name)")
        }
        for t in trained where !t.name.hasSuffix("symbolic_affine") {
          XCTAssertNotEqual(t.parameter.value, before[t.name], "\(keys) \(json): \(t.name)")
        }
      }
    }
  }

  /// Derivative losses (the jet passes, both the plain and the symbolic layer's direct
  /// form) leave frozen scales alone too.
  func testDerivativeLossesLeaveFrozenScalesUnchanged() throws {
    for extra in ["", #", "symbolic": true"#] {
      let m = try model(#", "sp_trainable": false, "sb_trainable": false"# + extra)
      let frozen = try ["0.scale_sp", "0.scale_base", "1.scale_sp", "1.scale_base"].map {
        try XCTUnwrap(m.tensor(named: $0))
      }
      let before = frozen.map(\.value)
      let coef = try values(m, "0.coef")
      let terms = try LossTerms(
        json: #"[{"loss": "laplacian", "c": 1}, {"loss": "value"}]"#, inputDim: 2, outputDim: 1)
      let yv = y
      try terms.setPoints(0, x, count: 32, targets: yv, targetCount: 32)
      try terms.setPoints(1, x, count: 32, targets: yv, targetCount: 32)
      let trainer = try Trainer(model: m, json: #"{"optimizer": "adam", "learning_rate": 0.01}"#)
      for _ in 0..<3 { try trainer.stepTerms(terms) }
      XCTAssertEqual(frozen.map(\.value), before, extra)
      for p in frozen { XCTAssertTrue(p.gradient.allSatisfy { $0 == 0 }, extra) }
      XCTAssertNotEqual(try values(m, "0.coef"), coef, extra)
    }
  }

  func testRefineAndPruneKeepTheKeys() throws {
    let m = try model(#", "sp_trainable": false, "sb_trainable": false"#)
    let fine = try m.refine(grid: 8, samples: x)
    XCTAssertEqual(fine.spec["sp_trainable"], .bool(false))
    XCTAssertEqual(fine.spec["sb_trainable"], .bool(false))
    XCTAssertEqual(fine.parameterCount, m.parameterCount + 3 * (2 * 3 + 3 * 1))
    XCTAssertEqual(try values(fine, "0.scale_sp"), try values(m, "0.scale_sp"))
    let pruned = try x.withUnsafeBufferPointer {
      try m.kanPrune(samples: $0.baseAddress!, count: x.count / 2)
    }
    XCTAssertEqual(pruned.spec["sp_trainable"], .bool(false))
    XCTAssertEqual(pruned.spec["sb_trainable"], .bool(false))
    for t in pruned.tensors where t.name.hasSuffix("scale_sp") || t.name.hasSuffix("scale_base") {
      XCTAssertFalse(pruned.parameters.contains { $0 === t.parameter }, t.name)
    }
  }
}
