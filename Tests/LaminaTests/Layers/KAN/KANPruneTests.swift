import XCTest

@testable import Lamina

/// Attribution (`kanAttribute`) and pruning (`kanPrune`) of B-spline KANs against pykan.
final class KANPruneTests: XCTestCase {
  typealias R = KANPruneReference

  /// The reference model of `Tests/Reference/kan_prune_reference.py`.
  func referenceModel() throws -> Model {
    let m = try Model(json: #"{"kind": "kan", "widths": [2, 3, 2], "grid": 5, "seed": 0}"#)
    let tensors: [(String, [Float])] = [
      ("0.coef", R.coef0), ("0.scale_base", R.scaleBase0), ("0.scale_sp", R.scaleSp0),
      ("0.mask", R.mask0), ("0.grid", R.grid0), ("1.coef", R.coef1),
      ("1.scale_base", R.scaleBase1), ("1.scale_sp", R.scaleSp1), ("1.mask", R.mask1),
      ("1.grid", R.grid1),
    ]
    for (name, value) in tensors {
      let t = try XCTUnwrap(m.tensor(named: name), name)
      XCTAssertEqual(t.value.count, value.count, name)
      t.value = value
    }
    return m
  }

  func attribute(_ m: Model, _ x: [Float]) throws -> KANAttribution {
    try x.withUnsafeBufferPointer {
      try m.kanAttribute(samples: $0.baseAddress!, count: x.count / m.inputDim)
    }
  }

  func prune(_ m: Model, _ x: [Float], node: Double = 1e-2, edge: Double = 3e-2) throws -> Model {
    try x.withUnsafeBufferPointer {
      try m.kanPrune(
        samples: $0.baseAddress!, count: x.count / m.inputDim, nodeThreshold: node,
        edgeThreshold: edge)
    }
  }

  func assertClose(
    _ a: [Float], _ b: [Float], tolerance: Float, _ what: String, line: UInt = #line
  ) {
    XCTAssertEqual(a.count, b.count, what, line: line)
    for (p, (u, v)) in zip(a, b).enumerated() {
      XCTAssertEqual(u, v, accuracy: tolerance * max(1, abs(v)), "\(what)[\(p)]", line: line)
    }
  }

  func testAttributionMatchesPykan() throws {
    let s = try attribute(try referenceModel(), R.x)
    assertClose(s.edgeScores[0], R.edgeScores0, tolerance: 2e-5, "edge scores 0")
    assertClose(s.edgeScores[1], R.edgeScores1, tolerance: 2e-5, "edge scores 1")
    assertClose(s.nodeScores[0], R.nodeScores0, tolerance: 2e-5, "node scores 0")
    assertClose(s.nodeScores[1], R.nodeScores1, tolerance: 2e-5, "node scores 1")
    assertClose(s.nodeScores[2], R.nodeScores2, tolerance: 0, "node scores 2")
    // The masked edge (0: 1 -> 2) contributes nothing: its score is exactly 0.
    XCTAssertEqual(s.edgeScores[0][1 * 3 + 2], 0)
  }

  /// Edge pruning on the reference model (no node falls below 1e-2): widths stay, and
  /// exactly the edges scoring at most edge_th are masked, the others keep their mask.
  func testEdgePruningMasksLowScores() throws {
    let m = try referenceModel()
    let th = 0.2
    let p = try prune(m, R.x, edge: th)
    XCTAssertEqual(p.spec["widths"], .array([.number(2), .number(3), .number(2)]))
    let s = try attribute(m, R.x)
    for l in 0..<2 {
      let old = try XCTUnwrap(m.tensor(named: "\(l).mask")).value
      let new = try XCTUnwrap(p.tensor(named: "\(l).mask")).value
      for e in old.indices {
        XCTAssertEqual(new[e], Double(s.edgeScores[l][e]) > th ? old[e] : 0, "mask \(l)[\(e)]")
      }
    }
    XCTAssertEqual(try XCTUnwrap(p.tensor(named: "1.mask")).value.filter { $0 == 0 }.count, 3)
    // The source model is unchanged.
    XCTAssertEqual(try XCTUnwrap(m.tensor(named: "0.mask")).value, R.mask0)
  }

  /// A hidden node whose outgoing edges are all masked is removed; the tensors around it
  /// are sliced and predictions do not change.
  func testDeadHiddenNodeIsRemoved() throws {
    let m = try Model(json: #"{"kind": "kan", "widths": [3, 5, 2], "grid": 4, "seed": 5}"#)
    let mask1 = try XCTUnwrap(m.tensor(named: "1.mask"))
    for j in 0..<2 { mask1.value[3 * 2 + j] = 0 }  // node 3 feeds nothing
    var rng = RandomSource(seed: 9)
    let x = (0..<(40 * 3)).map { _ in Float(rng.uniform(-1, 1)) }
    let s = try attribute(m, x)
    XCTAssertEqual(s.nodeScores[1][3], 0)
    XCTAssertTrue(s.nodeScores[1].enumerated().allSatisfy { $0.offset == 3 || $0.element > 1e-2 })
    let p = try prune(m, x, edge: -1)
    XCTAssertEqual(p.spec["widths"], .array([.number(3), .number(4), .number(2)]))
    XCTAssertEqual(p.layers.map(\.outputDim), [4, 2])
    let kept = [0, 1, 2, 4]
    let (oldCoef, newCoef) = (
      try XCTUnwrap(m.tensor(named: "0.coef")).value, try XCTUnwrap(p.tensor(named: "0.coef")).value
    )
    let nb = 4 + 3
    for i in 0..<3 {
      for (b, j) in kept.enumerated() {
        XCTAssertEqual(
          Array(newCoef[((i * 4 + b) * nb)..<((i * 4 + b + 1) * nb)]),
          Array(oldCoef[((i * 5 + j) * nb)..<((i * 5 + j + 1) * nb)]))
      }
    }
    let (oldBase, newBase) = (
      try XCTUnwrap(m.tensor(named: "1.scale_base")).value,
      try XCTUnwrap(p.tensor(named: "1.scale_base")).value
    )
    XCTAssertEqual(newBase, kept.flatMap { oldBase[($0 * 2)..<($0 * 2 + 2)] })
    assertClose(try p.predict(x), try m.predict(x), tolerance: 1e-6, "predictions")
    // pykan's defaults prune this model too, and the result still runs.
    let q = try prune(m, x)
    XCTAssertEqual(q.layers[0].outputDim, 4)
    XCTAssertEqual(try q.predict(x).count, 40 * 2)
  }

  /// A level whose nodes all score under node_th keeps its best node.
  func testEveryLevelKeepsOneNode() throws {
    let m = try Model(json: #"{"kind": "kan", "widths": [2, 3, 1], "seed": 1}"#)
    var rng = RandomSource(seed: 2)
    let x = (0..<(20 * 2)).map { _ in Float(rng.uniform(-1, 1)) }
    let p = try prune(m, x, node: 1e9)
    XCTAssertEqual(p.layers.map(\.outputDim), [1, 1])
  }

  func testSequentialModelsArePrunedToo() throws {
    let m = try Model(
      json:
        #"{"kind": "sequential", "input": 2, "layers": [{"type": "kan", "output": 4}, {"type": "kan", "output": 1}]}"#
    )
    let mask1 = try XCTUnwrap(m.tensor(named: "1.mask"))
    mask1.value[1] = 0
    var rng = RandomSource(seed: 4)
    let x = (0..<(30 * 2)).map { _ in Float(rng.uniform(-1, 1)) }
    let p = try prune(m, x, edge: -1)
    XCTAssertEqual(p.layers.map(\.outputDim), [3, 1])
    assertClose(try p.predict(x), try m.predict(x), tolerance: 1e-6, "predictions")
  }

  func testBadCalls() throws {
    let m = try referenceModel()
    XCTAssertThrowsError(try attribute(m, Array(R.x[0..<2]))) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .shape)
    }
    var bad = R.x
    bad[3] = .nan
    XCTAssertThrowsError(try attribute(m, bad)) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .numeric)
    }
    XCTAssertThrowsError(try prune(m, R.x, node: .nan)) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .invalidArgument)
    }
    XCTAssertThrowsError(try prune(m, R.x, edge: .infinity)) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .invalidArgument)
    }
    let cheb = try Model(json: #"{"kind": "kan", "widths": [2, 3, 2], "basis": "chebyshev"}"#)
    XCTAssertThrowsError(try attribute(cheb, R.x)) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .unsupported)
    }
    let mlp = try Model(json: #"{"kind": "mlp", "input": 2, "hidden": [3], "output": 2}"#)
    XCTAssertThrowsError(try prune(mlp, R.x)) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .unsupported)
    }
  }
}
