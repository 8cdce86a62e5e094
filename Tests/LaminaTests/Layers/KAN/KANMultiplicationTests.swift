import XCTest

@testable import Lamina

/// pykan's multiplication nodes (`MultiplicationNodes`, "widths" entries [n_sum, n_mult]):
/// gradients against finite differences, values against pykan 0.2.8's MultKAN and exact
/// products, specs, and files.
final class KANMultiplicationTests: XCTestCase {
  typealias R = KANMultiplicationReference

  // MARK: - The layer

  func testLayerGradientsMatchFiniteDifferences() {
    for (label, layer) in [
      ("sum 2, arities [2, 3]", MultiplicationNodes(sum: 2, arities: [2, 3])),
      ("sum 0, arities [2, 2]", MultiplicationNodes(sum: 0, arities: [2, 2])),
      ("sum 1, arity 4", MultiplicationNodes(sum: 1, arities: [4])),
    ] {
      assertGradientsCorrect(of: layer, label: label, batch: 9) { _, _, rng in
        Float(rng.uniform(-1.5, 1.5))
      }
    }
  }

  func testLayerValuesAndZeros() {
    let layer = MultiplicationNodes(sum: 1, arities: [2, 3])
    XCTAssertEqual(layer.inputDim, 6)
    XCTAssertEqual(layer.outputDim, 3)
    let x: [Float] = [7, 2, -3, 0.5, 4, 0, 1, 2, 0, 3, 4, 5]
    var y = [Float](repeating: .nan, count: 6)
    layer.forward(x, &y, count: 2)
    XCTAssertEqual(y, [7, -6, 0, 1, 0, 60])
    // d(x3 x4 x5)/dx5 at x5 = 0 is x3 x4 = 2, taken without dividing by zero.
    var dx = [Float](repeating: .nan, count: 12)
    layer.backward(x, y, [1, 1, 1, 1, 1, 1], &dx, count: 2, parameterGradients: false)
    XCTAssertEqual(dx, [1, -3, 2, 0, 0, 2, 1, 0, 2, 20, 15, 12])
  }

  // MARK: - Models

  /// pykan's fixed model of `Tests/Reference/kan_mult_reference.py`: width [2, [3, 2], 1]
  /// ("homo") or [2, [1, 2], 1] with arities [[], [2, 3], []] ("listed").
  func referenceModel(_ name: String) throws -> Model {
    let homo = name == "homo"
    let m = try Model(
      json: homo
        ? #"{"kind": "kan", "widths": [2, [3, 2], 1], "grid": 5, "seed": 0}"#
        : #"{"kind": "kan", "widths": [2, [1, 2], 1], "mult_arity": [[], [2, 3], []], "grid": 5}"#
    )
    let t0: [[Float]] =
      homo
      ? [R.homoCoef0, R.homoScaleBase0, R.homoScaleSp0, R.homoMask0, R.homoGrid0]
      : [R.listedCoef0, R.listedScaleBase0, R.listedScaleSp0, R.listedMask0, R.listedGrid0]
    let t1: [[Float]] =
      homo
      ? [R.homoCoef1, R.homoScaleBase1, R.homoScaleSp1, R.homoMask1, R.homoGrid1]
      : [R.listedCoef1, R.listedScaleBase1, R.listedScaleSp1, R.listedMask1, R.listedGrid1]
    // Layer 1 is the multiplication nodes: the second KAN layer's tensors are "2.*".
    for (prefix, values) in [("0", t0), ("2", t1)] {
      for (name, value) in zip(["coef", "scale_base", "scale_sp", "mask", "grid"], values) {
        let t = try XCTUnwrap(m.tensor(named: "\(prefix).\(name)"), "\(prefix).\(name)")
        XCTAssertEqual(t.value.count, value.count, "\(prefix).\(name)")
        t.value = value
      }
    }
    return m
  }

  func testForwardMatchesPykanMultKAN() throws {
    for (name, y) in [("homo", R.homoY), ("listed", R.listedY)] {
      let m = try referenceModel(name)
      let out = try m.predict(R.x)
      XCTAssertEqual(out.count, y.count, name)
      for (p, (u, v)) in zip(out, y).enumerated() {
        XCTAssertEqual(u, v, accuracy: 2e-5 * max(1, abs(v)), "\(name) y[\(p)]")
      }
    }
  }

  func testSpecLayersAndTensorNames() throws {
    let m = try Model(json: #"{"kind": "kan", "widths": [2, [5, 2], 1]}"#)
    XCTAssertEqual(
      m.spec.text,
      #"{"kind": "kan", "widths": [2, [5, 2], 1], "mult_arity": 2, "basis": "bspline", "grid": 5, "order": 3, "grid_range": [-1, 1], "noise_scale": 0.3, "scale_base_mu": 0, "scale_base_sigma": 1, "base_fun": "silu", "seed": 0}"#
    )
    XCTAssertEqual(m.layers.map(\.inputDim), [2, 9, 7])
    XCTAssertEqual(m.layers.map(\.outputDim), [9, 7, 1])
    XCTAssertEqual(
      m.layers[1].spec.text, #"{"type": "multiply", "sum": 5, "mult": 2, "arity": 2}"#)
    XCTAssertEqual(m.tensor(named: "0.coef")?.shape, [2, 9, 8])
    XCTAssertEqual(m.tensor(named: "2.coef")?.shape, [7, 1, 8])
    XCTAssertEqual(m.parameterCount, 2 * 9 * 10 + 7 * 10)
    XCTAssertEqual(try Model(spec: m.spec).spec, m.spec)
    // [n, 0] is n; plain KANs keep their spec (no "mult_arity").
    let plain = try Model(json: #"{"kind": "kan", "widths": [[2, 0], 3, [1, 0]]}"#)
    XCTAssertEqual(plain.spec, try Model(json: #"{"kind": "kan", "widths": [2, 3, 1]}"#).spec)
    // Arity 3, and per-node arities as pykan lists them (one list per width entry).
    let three = try Model(json: #"{"kind": "kan", "widths": [2, [1, 2], 1], "mult_arity": 3}"#)
    XCTAssertEqual(three.layers[0].outputDim, 7)
    let listed = try Model(
      json: #"{"kind": "kan", "widths": [2, [1, 2], [0, 1]], "mult_arity": [[], [2, 4], [2]]}"#)
    XCTAssertEqual(listed.layers.map(\.outputDim), [7, 3, 2, 1])
    XCTAssertEqual(try Model(spec: listed.spec).spec, listed.spec)
    if case .array(let a)? = listed.spec["mult_arity"] {
      XCTAssertEqual(a.count, 3)
    } else {
      XCTFail("mult_arity is echoed as a list")
    }
    // A sequential model with the same layers gives the same predictions.
    let seq = try Model(
      json: #"""
        {"kind": "sequential", "input": 2, "seed": 0, "layers": [
         {"type": "kan", "output": 9}, {"type": "multiply", "sum": 5, "arity": 2},
         {"type": "kan", "output": 1}]}
        """#)
    XCTAssertEqual(seq.layers[1].spec, m.layers[1].spec)
    let x = KANJetTests.points(10, seed: 2).prefix(20).map { $0 }
    XCTAssertEqual(try seq.predict(x), try m.predict(x))
  }

  func testSpecErrorsNameTheProblem() {
    for (json, message) in [
      (#"{"kind": "kan", "widths": [[2, 1], 3, 1]}"#, "inputs must be sum nodes only"),
      (#"{"kind": "kan", "widths": [2, [3], 1]}"#, "[sum nodes, multiplication nodes]"),
      (#"{"kind": "kan", "widths": [2, [0, 0], 1]}"#, "has 0 nodes"),
      (#"{"kind": "kan", "widths": [2, [1, 1], 1], "mult_arity": 1}"#, "between 2 and"),
      (
        #"{"kind": "kan", "widths": [2, [1, 1], 1], "mult_arity": [[2], []]}"#,
        "one list of arities per width"
      ),
      (
        #"{"kind": "kan", "widths": [2, [1, 1], 1], "mult_arity": [[], [], []]}"#,
        "one arity per multiplication node"
      ),
      (
        #"{"kind": "sequential", "input": 5, "layers": [{"type": "multiply", "sum": 2, "arity": 2}]}"#,
        "do not split"
      ),
      (
        #"{"kind": "sequential", "input": 5, "layers": [{"type": "multiply", "sum": 1, "mult": 1}]}"#,
        "need 3 inputs"
      ),
      (
        #"{"kind": "sequential", "input": 5, "layers": [{"type": "multiply", "arity": [2, 2], "mult": 1}]}"#,
        "lists 2 arities"
      ),
    ] {
      XCTAssertThrowsError(try Model(json: json), json) { error in
        let text = (error as? LaminaError)?.message ?? "\(error)"
        XCTAssertTrue(text.contains(message), "\(json): \(text)")
      }
    }
  }

  /// Input gradients and parameter gradients of the whole model against central
  /// differences (Double sums of Float forwards).
  func testModelGradientsMatchFiniteDifferences() throws {
    for json in [
      #"{"kind": "kan", "widths": [2, [2, 2], 1], "seed": 3}"#,
      #"{"kind": "kan", "widths": [3, [1, 2], [1, 1]], "mult_arity": [[], [3, 2], [2]], "seed": 4}"#,
    ] {
      let m = try Model(json: json)
      let n = 7
      var rng = RandomSource(seed: 5)
      let x = (0..<(n * m.inputDim)).map { _ in Float(rng.uniform(-0.9, 0.9)) }
      let r = (0..<(n * m.outputDim)).map { _ in Float(rng.uniform(-1, 1)) }
      func loss(_ x: [Float]) throws -> Double {
        zip(try m.predict(x), r).reduce(0) { $0 + Double($1.0) * Double($1.1) }
      }
      var grads = [Float](repeating: 0, count: m.parameterCount)
      var dx = [Float](repeating: 0, count: x.count)
      try grads.withUnsafeMutableBufferPointer { g in
        try m.parameterVJP(x, count: n, dy: r, parameterGradients: g, dx: &dx)
      }
      let h: Float = 1e-2
      for i in x.indices {
        var (p, q) = (x, x)
        p[i] += h
        q[i] -= h
        let numeric = (try loss(p) - loss(q)) / Double(p[i] - q[i])
        XCTAssertEqual(
          Double(dx[i]), numeric, accuracy: 2e-3 * (1 + abs(numeric)), "\(json) dx[\(i)]")
      }
      var offset = 0
      for param in m.parameters {
        for e in stride(from: 0, to: param.count, by: max(1, param.count / 23)) {
          let v = param.value[e]
          param.value[e] = v + h
          let plus = try loss(x)
          param.value[e] = v - h
          let minus = try loss(x)
          param.value[e] = v
          let numeric = (plus - minus) / Double(2 * h)
          XCTAssertEqual(
            Double(grads[offset + e]), numeric, accuracy: 2e-3 * (1 + abs(numeric)),
            "\(json) \(param.name)[\(e)]")
        }
        offset += param.count
      }
    }
  }

  /// [2, [0, 1], 1] with both inner edges the identity and the cross edges masked computes
  /// x * y exactly (up to the last layer, also the identity).
  func testExactProductThroughLinearEdges() throws {
    let m = try Model(
      json: #"{"kind": "kan", "widths": [2, [0, 1], 1], "symbolic": true, "seed": 0}"#)
    let samples = KANJetTests.points(32, seed: 1).enumerated().filter { $0.offset % 3 != 2 }
      .map(\.element)
    XCTAssertEqual(samples.count % 2, 0)
    // Edges 0 -> 0 and 1 -> 1 fixed to x, the cross edges to 0, the last edge to x.
    for (layer, i, j, f) in [
      (0, 0, 0, "x"), (0, 1, 1, "x"), (0, 0, 1, "0"), (0, 1, 0, "0"), (2, 0, 0, "x"),
    ] {
      _ = try m.kanFixSymbolic(layer: layer, input: i, output: j, function: f, samples: samples)
      let kan = m.layers[layer] as! BSplineKANLayer
      let e = i * kan.outputDim + j
      kan.symbolicTensors!.affine.value.replaceSubrange(
        (4 * e)..<(4 * e + 4), with: f == "x" ? [1, 0, 1, 0] : [0, 0, 0, 0])
    }
    let x: [Float] = [0.5, -0.25, 0.75, 0.5, -1, -1, 3, 0.125]
    XCTAssertEqual(try m.predict(x), [-0.125, 0.375, 1, 0.375])
  }

  func testSaveLoadRoundTrip() throws {
    let m = try referenceModel("listed")
    let path = NSTemporaryDirectory() + "lamina-mult-\(getpid()).safetensors"
    defer { try? FileManager.default.removeItem(atPath: path) }
    try m.save(to: path)
    let back = try Model.load(from: path)
    XCTAssertEqual(back.spec, m.spec)
    XCTAssertEqual(back.tensors.map(\.name), m.tensors.map(\.name))
    for (a, b) in zip(back.tensors, m.tensors) {
      XCTAssertEqual(a.parameter.value.map(\.bitPattern), b.parameter.value.map(\.bitPattern))
    }
    XCTAssertEqual(
      try back.predict(R.x).map(\.bitPattern), try m.predict(R.x).map(\.bitPattern))
  }

  /// Training on x1 * x2 through one multiplication node lowers the loss.
  func testTrainsOnAProduct() throws {
    let m = try Model(json: #"{"kind": "kan", "widths": [2, [1, 1], 1], "seed": 1}"#)
    var rng = RandomSource(seed: 2)
    let n = 256
    let x = (0..<(2 * n)).map { _ in Float(rng.uniform(-1, 1)) }
    let y = (0..<n).map { x[2 * $0] * x[2 * $0 + 1] }
    let trainer = try Trainer(
      model: m, json: #"{"optimizer": "adam", "learning_rate": 0.02, "batch_size": 256}"#)
    var first: Float = 0
    var last: Float = 0
    for s in 0..<150 {
      last = try trainer.step(x, y, count: n)
      if s == 0 { first = last }
    }
    XCTAssertLessThan(last, 0.1 * first, "loss \(first) -> \(last)")
  }

  // MARK: - pykan's tools through multiplication nodes

  func assertClose(
    _ a: [Float], _ b: [Float], tolerance: Float, _ what: String, line: UInt = #line
  ) {
    XCTAssertEqual(a.count, b.count, what, line: line)
    for (p, (u, v)) in zip(a, b).enumerated() {
      XCTAssertEqual(u, v, accuracy: tolerance * max(1, abs(v)), "\(what)[\(p)]", line: line)
    }
  }

  func testAttributionMatchesPykan() throws {
    let m = try referenceModel("homo")
    let s = try R.x.withUnsafeBufferPointer {
      try m.kanAttribute(samples: $0.baseAddress!, count: 16)
    }
    assertClose(s.edgeScores[0], R.homoEdgeScores0, tolerance: 2e-5, "edge scores 0")
    assertClose(s.edgeScores[1], R.homoEdgeScores1, tolerance: 2e-5, "edge scores 1")
    assertClose(s.nodeScores[0], R.homoNodeScores0, tolerance: 2e-5, "node scores 0")
    assertClose(s.nodeScores[1], R.homoNodeScores1, tolerance: 2e-5, "node scores 1")
    assertClose(s.nodeScores[2], R.homoNodeScores2, tolerance: 0, "node scores 2")
    assertClose(s.subnodeScores[0], R.homoSubnodeScores0, tolerance: 2e-5, "subnode scores 0")
    assertClose(s.subnodeScores[1], R.homoSubnodeScores1, tolerance: 0, "subnode scores 1")
  }

  /// Node pruning removes a whole multiplication node with its factors, as pykan's
  /// prune_node: the widths and the pruned model's outputs match pykan's.
  func testPruneRemovesWholeMultiplicationNodesAsPykan() throws {
    let m = try referenceModel("homo")
    let pruned = try R.x.withUnsafeBufferPointer {
      try m.kanPrune(
        samples: $0.baseAddress!, count: 16, nodeThreshold: 0.23, edgeThreshold: -1)
    }
    XCTAssertEqual(R.homoPrunedWidth, [[2, 0], [3, 1], [1, 0]])
    XCTAssertEqual(
      pruned.spec["widths"], .array([.number(2), .array([.number(3), .number(1)]), .number(1)]))
    XCTAssertEqual(pruned.layers.map(\.outputDim), [5, 4, 1])
    assertClose(try pruned.predict(R.x), R.homoPrunedY, tolerance: 2e-5, "pruned y")

    // Listed arities are sliced with their nodes; a sequential spec prunes the same way.
    let listed = try Model(
      json: #"{"kind": "kan", "widths": [2, [2, 2], 1], "mult_arity": [[], [3, 2], []], "seed": 1}"#
    )
    // Mask every edge into the first multiplication node's factors: it scores 0.
    let kan0 = try XCTUnwrap(listed.layers[0] as? BSplineKANLayer)
    for i in 0..<2 { for j in 2..<5 { kan0.mask.value[i * kan0.outputDim + j] = 0 } }
    let x = KANJetTests.points(32, seed: 4).enumerated().filter { $0.offset % 3 != 2 }
      .map(\.element)
    let p = try x.withUnsafeBufferPointer {
      try listed.kanPrune(samples: $0.baseAddress!, count: 32, edgeThreshold: -1)
    }
    XCTAssertEqual(p.spec["mult_arity"]?.text, "[[], [2], []]")
    XCTAssertEqual(p.layers.map(\.outputDim), [4, 3, 1])
    XCTAssertEqual(
      p.layers[1].spec.text, #"{"type": "multiply", "sum": 2, "mult": 1, "arity": [2]}"#)
  }

  func testSequentialPruneRewritesTheMultiplyEntry() throws {
    let m = try Model(
      json: #"""
        {"kind": "sequential", "input": 2, "seed": 2, "layers": [
         {"type": "kan", "output": 6}, {"type": "multiply", "sum": 2, "arity": 2},
         {"type": "kan", "output": 1}]}
        """#)
    // Mask the first multiplication node's (node 2's) outgoing edge: it feeds nothing.
    let kan2 = try XCTUnwrap(m.layers[2] as? BSplineKANLayer)
    kan2.mask.value[2] = 0
    let x = KANJetTests.points(32, seed: 4).enumerated().filter { $0.offset % 3 != 2 }
      .map(\.element)
    let p = try x.withUnsafeBufferPointer {
      try m.kanPrune(samples: $0.baseAddress!, count: 32, edgeThreshold: -1)
    }
    XCTAssertEqual(p.layers.map(\.outputDim), [4, 3, 1])
    XCTAssertEqual(p.layers[1].spec.text, #"{"type": "multiply", "sum": 2, "mult": 1, "arity": 2}"#)
    // The removed node fed nothing (its outgoing edge was masked): same predictions.
    assertClose(try p.predict(x), try m.predict(x), tolerance: 1e-5, "pruned y")
  }

  /// pykan's Interp_1: with x_1 and x_2 through a multiplication node the formula is their
  /// product.
  func testSymbolicFormulaMultipliesFactors() throws {
    let m = try Model(
      json: #"{"kind": "kan", "widths": [2, [0, 1], 1], "symbolic": true, "seed": 0}"#)
    let samples = KANJetTests.points(32, seed: 1).enumerated().filter { $0.offset % 3 != 2 }
      .map(\.element)
    for (layer, i, j, f) in [
      (0, 0, 0, "x"), (0, 1, 1, "x"), (0, 0, 1, "0"), (0, 1, 0, "0"), (2, 0, 0, "x"),
    ] {
      _ = try m.kanFixSymbolic(layer: layer, input: i, output: j, function: f, samples: samples)
      let kan = m.layers[layer] as! BSplineKANLayer
      let e = i * kan.outputDim + j
      kan.symbolicTensors!.affine.value.replaceSubrange(
        (4 * e)..<(4 * e + 4), with: f == "x" ? [1, 0, 1, 0] : [0, 0, 0, 0])
    }
    XCTAssertEqual(
      try m.kanSymbolicFormula(),
      ["1*(1*((1*(1*x_1 + 0) + 0)*(1*(1*x_2 + 0) + 0)) + 0) + 0"])
  }

  /// Grid updates and refinement walk the KAN layers of a model with multiplication nodes.
  func testUpdateGridAndRefine() throws {
    let m = try Model(json: #"{"kind": "kan", "widths": [2, [2, 1], 1], "seed": 5}"#)
    let x = KANJetTests.points(48, seed: 6).enumerated().filter { $0.offset % 3 != 2 }
      .map(\.element)
    let before = try m.predict(x)
    try m.updateGrid(samples: x)
    assertClose(try m.predict(x), before, tolerance: 2e-2, "after update_grid")
    let fine = try m.refine(grid: 10, samples: x)
    XCTAssertEqual(fine.spec["widths"], m.spec["widths"])
    XCTAssertEqual(fine.spec["mult_arity"], m.spec["mult_arity"])
    assertClose(try fine.predict(x), try m.predict(x), tolerance: 2e-2, "after refine")
  }

  /// pykan's fit schedule (LBFGS, grid updates, the sparsity regulariser) through
  /// multiplication nodes, on x1 * x2 as pykan's MultKAN tutorial.
  func testKANFitLearnsAProduct() throws {
    let m = try Model(json: #"{"kind": "kan", "widths": [2, [0, 1], 1], "seed": 3}"#)
    var rng = RandomSource(seed: 8)
    let n = 200
    let x = (0..<(2 * n)).map { _ in Float(rng.uniform(-1, 1)) }
    let y = (0..<n).map { x[2 * $0] * x[2 * $0 + 1] }
    let trainer = try Trainer(model: m, json: #"{"optimizer": "lbfgs", "lamb": 0.001}"#)
    var options = KANFitOptions()
    options.steps = 30
    let history = try trainer.kanFit(x, y, count: n, options: options)
    XCTAssertFalse(history.gridUpdates.isEmpty)
    let rmse = history.trainLoss.last ?? .nan
    XCTAssertLessThan(rmse, 0.05, "train RMSE \(history.trainLoss)")
  }
}
