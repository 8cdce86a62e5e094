import XCTest

@testable import Lamina

/// pykan's sparsity regulariser (`MultKAN.reg`, "lamb" in the trainer config) on B-spline
/// KANs: value and gradient against pykan, a finite-difference check of the trained
/// objective, its effect on training, and the config keys.
final class KANRegularizationTests: XCTestCase {
  typealias R = KANRegularizationReference

  /// The reference model of `Tests/Reference/kan_reg_reference.py`.
  func referenceModel() throws -> Model {
    let m = try Model(json: #"{"kind": "kan", "widths": [2, 3, 1], "grid": 5, "seed": 0}"#)
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

  func settings(_ w: [Double], lamb: Double = 0) -> KANRegularization {
    var s = KANRegularization()
    (s.l1, s.entropy, s.coef, s.coefDiff) = (w[0], w[1], w[2], w[3])
    s.lamb = lamb
    return s
  }

  func assertClose(
    _ a: [Float], _ b: [Float], tolerance: Float, _ what: String, line: UInt = #line
  ) {
    XCTAssertEqual(a.count, b.count, what, line: line)
    for (p, (u, v)) in zip(a, b).enumerated() {
      XCTAssertEqual(u, v, accuracy: tolerance * max(1, abs(v)), "\(what)[\(p)]", line: line)
    }
  }

  func testValueMatchesPykan() throws {
    let m = try referenceModel()
    for (w, expected) in zip(R.settings, R.reg) {
      let value = try m.kanRegularization(R.x, settings: settings(w))
      XCTAssertEqual(value, expected, accuracy: 2e-5 * abs(expected), "\(w)")
    }
  }

  /// dreg/dtensor and dreg/dx against torch autograd through pykan's forward.
  func testGradientMatchesPykan() throws {
    let m = try referenceModel()
    let n = R.x.count / 2
    let ws = Workspace()
    ws.wantInputGradient = true
    var dx = [Float]()
    R.x.withUnsafeBufferPointer { xb in
      m.forward(xb.baseAddress!, count: n, workspace: ws)
      // No prediction loss: only the regulariser's gradient remains.
      ws.gradientOut.update(repeating: 0, count: n * m.outputDim)
      let (_, g) = m.backwardRegularized(
        xb.baseAddress!, count: n, workspace: ws, settings: settings(R.settings[1], lamb: 1))
      dx = Array(UnsafeBufferPointer(start: g, count: n * 2))
    }
    let expected: [(String, [Float])] = [
      ("0.coef", R.gradCoef0), ("0.scale_base", R.gradScaleBase0),
      ("0.scale_sp", R.gradScaleSp0), ("1.coef", R.gradCoef1),
      ("1.scale_base", R.gradScaleBase1), ("1.scale_sp", R.gradScaleSp1),
    ]
    for (name, value) in expected {
      assertClose(try XCTUnwrap(m.tensor(named: name)).gradient, value, tolerance: 1e-4, name)
    }
    assertClose(dx, R.gradX, tolerance: 1e-4, "dx")
  }

  /// pykan's "edge_forward_spline_u" and "edge_forward_sum": value and gradient against
  /// torch autograd (sum's scores are detached, so only coefficient terms have gradients).
  func testOtherMetricsMatchPykan() throws {
    typealias M = KANRegularizationMetricsReference
    let cases: [(String, [Double], [(String, [Float])], [Float])] = [
      (
        "edge_forward_spline_u", M.splineUReg,
        [
          ("0.coef", M.splineUGradCoef0), ("0.scale_base", M.splineUGradScaleBase0),
          ("0.scale_sp", M.splineUGradScaleSp0), ("1.coef", M.splineUGradCoef1),
          ("1.scale_base", M.splineUGradScaleBase1), ("1.scale_sp", M.splineUGradScaleSp1),
        ], M.splineUGradX
      ),
      (
        "edge_forward_sum", M.sumReg,
        [
          ("0.coef", M.sumGradCoef0), ("0.scale_base", M.sumGradScaleBase0),
          ("0.scale_sp", M.sumGradScaleSp0), ("1.coef", M.sumGradCoef1),
          ("1.scale_base", M.sumGradScaleBase1), ("1.scale_sp", M.sumGradScaleSp1),
        ], M.sumGradX
      ),
    ]
    for (metric, regs, grads, gradX) in cases {
      let m = try referenceModel()
      for (w, expected) in zip(R.settings, regs) {
        var s = settings(w)
        s.metric = metric
        let value = try m.kanRegularization(R.x, settings: s)
        XCTAssertEqual(value, expected, accuracy: 2e-5 * abs(expected), "\(metric) \(w)")
      }
      let n = R.x.count / 2
      let ws = Workspace()
      ws.wantInputGradient = true
      var dx = [Float]()
      var s = settings(R.settings[1], lamb: 1)
      s.metric = metric
      R.x.withUnsafeBufferPointer { xb in
        m.forward(xb.baseAddress!, count: n, workspace: ws)
        ws.gradientOut.update(repeating: 0, count: n * m.outputDim)
        let (_, g) = m.backwardRegularized(xb.baseAddress!, count: n, workspace: ws, settings: s)
        dx = Array(UnsafeBufferPointer(start: g, count: n * 2))
      }
      for (name, value) in grads {
        assertClose(
          try XCTUnwrap(m.tensor(named: name)).gradient, value, tolerance: 1e-4, "\(metric) \(name)"
        )
      }
      assertClose(dx, gradX, tolerance: 1e-4, "\(metric) dx")
    }
  }

  /// The settings object of lamina_model_kan_regularization: defaults, keys, refusals.
  func testSettingsJSON() throws {
    let d = try KANRegularization(settings: JSONValue.parse("{}"))
    XCTAssertEqual(d, KANRegularization())
    let s = try KANRegularization(
      settings: JSONValue.parse(
        #"{"lamb_l1": 0.5, "lamb_entropy": 0, "lamb_coef": 0.3, "lamb_coefdiff": 0.7, "reg_metric": "edge_forward_sum"}"#
      ))
    XCTAssertEqual(s.l1, 0.5)
    XCTAssertEqual(s.entropy, 0)
    XCTAssertEqual(s.coefDiff, 0.7)
    XCTAssertEqual(s.metric, "edge_forward_sum")
    let m = try referenceModel()
    XCTAssertEqual(
      try m.kanRegularization(
        R.x,
        settings: KANRegularization(
          settings: JSONValue.parse(
            #"{"lamb_l1": 0.5, "lamb_entropy": 0, "lamb_coef": 0.3, "lamb_coefdiff": 0.7}"#))),
      R.reg[2], accuracy: 2e-5 * R.reg[2])
    for bad in [
      #"{"lamb": 1}"#, #"{"lamb_l1": -1}"#, #"{"reg_metric": "edge_backward"}"#, "[]",
      #"{"lamb_coef": "x"}"#,
    ] {
      XCTAssertThrowsError(try KANRegularization(settings: JSONValue.parse(bad)), bad) {
        XCTAssertEqual(($0 as? LaminaError)?.code, .invalidArgument, bad)
      }
    }
  }

  /// Large layers run the regulariser's passes on several threads (one task per input, each
  /// summing over the samples in order): value and gradients must be bit-identical run to
  /// run, and the value equal to the one `kanRegularization` reports.
  func testParallelRegularizerIsDeterministic() throws {
    let m = try Model(json: #"{"kind": "kan", "widths": [24, 32, 4], "grid": 7, "seed": 2}"#)
    let n = 1024
    var rng = RandomSource(seed: 9)
    let x = (0..<(n * 24)).map { _ in Float(rng.unit() * 2 - 1) }
    var s = KANRegularization()
    s.lamb = 1
    var first: (Double, [[Float]], [Float])? = nil
    for _ in 0..<3 {
      let ws = Workspace()
      ws.wantInputGradient = true
      for p in m.parameters { p.gradient = [Float](repeating: 0, count: p.count) }
      var dx = [Float]()
      var reg = 0.0
      x.withUnsafeBufferPointer { xb in
        m.forward(xb.baseAddress!, count: n, workspace: ws)
        ws.gradientOut.update(repeating: 0, count: n * m.outputDim)
        let r = m.backwardRegularized(xb.baseAddress!, count: n, workspace: ws, settings: s)
        reg = r.reg
        dx = Array(UnsafeBufferPointer(start: r.inputGradient, count: n * 24))
      }
      let grads = m.parameters.map(\.gradient)
      if let first {
        XCTAssertEqual(reg.bitPattern, first.0.bitPattern)
        XCTAssertEqual(grads, first.1)
        XCTAssertEqual(dx, first.2)
      } else {
        first = (reg, grads, dx)
        XCTAssertTrue(grads.joined().contains { $0 != 0 })
      }
    }
    XCTAssertEqual(try m.kanRegularization(x, settings: s), first?.0)
  }

  /// The trainer's loss + lamb * reg and its gradient, every parameter, by central
  /// differences (the objective is computed in Float, so the step is large-ish).
  func testObjectiveGradientByFiniteDifferences() throws {
    let m = try referenceModel()
    let config = #"""
      {"lamb": 0.05, "lamb_l1": 1, "lamb_entropy": 2, "lamb_coef": 0.5, "lamb_coefdiff": 0.5,
       "optimizer": "sgd"}
      """#
    let trainer = try Trainer(model: m, json: config)
    let n = R.x.count / 2
    let y = (0..<n).map { Float(sin(Double($0))) }
    func objective() throws -> Float {
      try R.x.withUnsafeBufferPointer { xb in
        try y.withUnsafeBufferPointer { yb in
          try trainer.lossAndGradient(xb.baseAddress!, yb.baseAddress!, n).loss
        }
      }
    }
    let base = try objective()
    let pred = try trainer.evaluate(R.x, y)
    let reg = try m.kanRegularization(R.x, settings: trainer.config.regularization)
    XCTAssertEqual(Double(base), Double(pred) + 0.05 * reg, accuracy: 1e-5 * Double(base))
    let analytic = m.parameters.map(\.gradient)
    var checked = 0
    var worst: Float = 0
    for (pi, p) in m.parameters.enumerated() {
      for e in 0..<p.count {
        let v = p.value[e]
        let h: Float = 2e-3
        p.value[e] = v + h
        let up = try objective()
        p.value[e] = v - h
        let down = try objective()
        p.value[e] = v
        let fd = (up - down) / (2 * h)
        let g = analytic[pi][e]
        let error = abs(fd - g) / max(0.05, abs(g))
        worst = max(worst, error)
        XCTAssertEqual(fd, g, accuracy: 2e-2 * max(0.05, abs(g)), "\(p.name)[\(e)]")
        checked += 1
      }
    }
    XCTAssertEqual(checked, m.parameterCount)
    print(
      "KAN regularisation finite differences: \(checked) parameters, worst relative error \(worst)")
  }

  /// Training with lamb > 0 on a target that ignores input 1 leaves more near-zero edges.
  func testRegularizationMakesTheNetworkSparser() throws {
    let n = 256
    var rng = RandomSource(seed: 3)
    var x = [Float](repeating: 0, count: n * 2)
    for i in x.indices { x[i] = Float(rng.unit() * 2 - 1) }
    let y = (0..<n).map { Float(sin(Double.pi * Double(x[2 * $0]))) }
    func train(lamb: Double) throws -> (scores: [Float], loss: Float) {
      let m = try Model(json: #"{"kind": "kan", "widths": [2, 4, 1], "grid": 5, "seed": 1}"#)
      let trainer = try Trainer(
        model: m,
        json: #"{"optimizer": "lbfgs", "epochs": 10, "batch_size": 256, "lamb": \#(lamb)}"#)
      try trainer.fit(x, y)
      let s = try x.withUnsafeBufferPointer {
        try m.kanAttribute(samples: $0.baseAddress!, count: n)
      }
      return (s.edgeScores.flatMap { $0 }, try trainer.evaluate(x, y))
    }
    let plain = try train(lamb: 0)
    let sparse = try train(lamb: 0.01)
    func small(_ s: [Float]) -> Int {
      let top = s.max() ?? 0
      return s.filter { $0 < 1e-2 * top }.count
    }
    print(
      "KAN regularisation sparsity: small edges \(small(plain.scores)) -> \(small(sparse.scores)) of \(plain.scores.count); "
        + "sum of scores \(plain.scores.reduce(0, +)) -> \(sparse.scores.reduce(0, +)); "
        + "mse \(plain.loss) -> \(sparse.loss)")
    XCTAssertGreaterThan(small(sparse.scores), small(plain.scores))
    XCTAssertLessThan(sparse.loss, 0.05, "the regularised fit must still fit")
  }

  func testConfigKeys() throws {
    let c = try TrainerConfig(json: JSONValue.parse("{}", what: "t"))
    XCTAssertEqual(c.regularization, KANRegularization())
    XCTAssertFalse(c.regularization.isActive)
    let full = c.json
    guard case .object(let pairs) = full else { return XCTFail("not an object") }
    let keys = Dictionary(pairs, uniquingKeysWith: { a, _ in a })
    XCTAssertEqual(keys["lamb"], .number(0))
    XCTAssertEqual(keys["lamb_l1"], .number(1))
    XCTAssertEqual(keys["lamb_entropy"], .number(2))
    XCTAssertEqual(keys["lamb_coef"], .number(0))
    XCTAssertEqual(keys["lamb_coefdiff"], .number(0))
    XCTAssertEqual(keys["reg_metric"], .string("edge_forward_spline_n"))
    let set = try TrainerConfig(
      json: JSONValue.parse(
        #"{"lamb": 0.01, "lamb_l1": 0.5, "lamb_entropy": 3, "lamb_coef": 0.1, "lamb_coefdiff": 0.2}"#,
        what: "t"))
    XCTAssertEqual(set.regularization.lamb, 0.01)
    XCTAssertEqual(set.regularization.coefDiff, 0.2)
    XCTAssertEqual(try TrainerConfig(json: set.json), set, "the full form round-trips")
    for bad in [
      #"{"lamb": -1}"#, #"{"lamb_entropy": -0.5}"#, #"{"reg_metric": "edge_backward"}"#,
      #"{"reg_metric": "nope"}"#, #"{"lamb": "x"}"#, #"{"reg_metric": "node_backward"}"#,
    ] {
      XCTAssertThrowsError(try TrainerConfig(json: JSONValue.parse(bad, what: "t")), bad) {
        XCTAssertEqual(($0 as? LaminaError)?.code, .invalidArgument, bad)
      }
    }
  }

  func testLambOnModelWithoutBSplineKANIsUnsupported() throws {
    let m = try Model(json: #"{"kind": "mlp", "input": 2, "hidden": [4], "output": 1}"#)
    XCTAssertThrowsError(try Trainer(model: m, json: #"{"lamb": 0.1}"#)) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .unsupported)
    }
    XCTAssertNoThrow(try Trainer(model: m, json: #"{"lamb": 0}"#))
  }
}

extension Trainer {
  /// Array forms for these tests.
  fileprivate func evaluate(_ x: [Float], _ y: [Float]) throws -> Float {
    try x.withUnsafeBufferPointer { xb in
      try y.withUnsafeBufferPointer { yb in
        try evaluate(xb.baseAddress!, yb.baseAddress!, count: y.count / model.outputDim)
      }
    }
  }

  @discardableResult
  fileprivate func fit(_ x: [Float], _ y: [Float]) throws -> Float {
    try x.withUnsafeBufferPointer { xb in
      try y.withUnsafeBufferPointer { yb in
        try fit(xb.baseAddress!, yb.baseAddress!, count: y.count / model.outputDim)
      }
    }
  }
}
