import XCTest

@testable import Lamina

/// Loss terms: the parameter gradient of every derivative loss matches central differences
/// of the loss, for every activation; configs are read strictly; steps train.
final class LossTermTests: XCTestCase {
  /// A term config for a 3-input model and its targets per point.
  static let termConfigs: [(json: String, columns: Int)] = [
    (#"{"loss": "value"}"#, 1),
    (#"{"loss": "value", "metric": "l1"}"#, 1),
    (#"{"loss": "eikonal"}"#, 0),
    (#"{"loss": "normal"}"#, 3),
    (#"{"loss": "normal", "metric": "l2"}"#, 3),
    (#"{"loss": "gradient"}"#, 3),
    (#"{"loss": "laplacian", "a": 0.5, "b": [0.3, -0.2, 0.1], "c": 1.5}"#, 1),
    (#"{"loss": "laplacian", "b": [1, 0, 0], "c": 0}"#, 1),
  ]

  /// Terms of `config` with `n` random points and targets.
  static func terms(_ config: String, columns: Int, n: Int, seed: UInt64) throws -> LossTerms {
    let terms = try LossTerms(json: "[\(config)]", inputDim: 3, outputDim: 1)
    let x = ModelJetTests.points(n, 3, seed: seed)
    let t = ModelJetTests.points(n, columns, seed: seed + 1)
    try terms.setPoints(0, x, count: n, targets: t, targetCount: t.count)
    return terms
  }

  /// The objective and its gradient (one flat array over every parameter).
  static func lossAndGradient(_ trainer: Trainer, _ terms: LossTerms) throws -> (Double, [Float]) {
    trainer.termScratch.drawBatches(terms, rng: &trainer.rng)
    let r = try trainer.termsLossAndGradient(terms, trainer.termScratch)
    return (Double(r.loss), trainer.model.parameters.flatMap(\.gradient))
  }

  func testDerivativeLossGradientsMatchFiniteDifferences() throws {
    var checked = 0
    for activation in ModelJetTests.activations {
      let smooth = !["relu", "leaky_relu", "prelu", "hardswish"].contains(activation)
      for (config, columns) in Self.termConfigs {
        // Laplacian losses on piecewise-linear networks have no curvature to train.
        if config.contains("\"c\": 1.5") && !smooth { continue }
        let model = try ModelJetTests.model(activation)
        let trainer = try Trainer(model: model, json: #"{"optimizer": "sgd"}"#)
        let terms = try Self.terms(config, columns: columns, n: 6, seed: 21)
        let (_, analytic) = try Self.lossAndGradient(trainer, terms)
        var rng = RandomSource(seed: 4)
        var offset = 0
        for p in model.parameters {
          for _ in 0..<min(p.count, 12) {
            let i = Int(rng.next() % UInt64(p.count))
            let saved = p.value[i]
            // Small, so that no pre-activation of these seeds crosses a kink of the piecewise
            // activations (selu's first derivative, elu's and softsign's second, jump at 0).
            let h = Float(3e-4) * max(1, abs(saved))
            p.value[i] = saved + h
            let up = try Self.lossAndGradient(trainer, terms).0
            p.value[i] = saved - h
            let down = try Self.lossAndGradient(trainer, terms).0
            p.value[i] = saved
            let numeric = (up - down) / Double(2 * h)
            let a = Double(analytic[offset + i])
            XCTAssertEqual(
              a, numeric, accuracy: 2e-3 + 1e-2 * max(abs(a), abs(numeric)),
              "\(activation) \(config) \(p.name)[\(i)]")
            checked += 1
          }
          offset += p.count
        }
      }
    }
    XCTAssertGreaterThan(checked, 1000)
  }

  /// First-order terms on MLPs take the reverse-over-reverse gradient pass; jets give the
  /// same losses and gradients (the finite-difference test above checks the pass itself).
  func testGradientPassAgreesWithJets() throws {
    for activation in ModelJetTests.activations {
      for (config, columns) in Self.termConfigs where !config.contains("\"c\": 1.5") {
        let model = try ModelJetTests.model(activation)
        XCTAssertNotNil(model.gradientLayers)
        let trainer = try Trainer(model: model, json: #"{"optimizer": "sgd"}"#)
        let terms = try Self.terms(config, columns: columns, n: 33, seed: 5)
        let (passLoss, pass) = try Self.lossAndGradient(trainer, terms)
        trainer.usesJetsForFirstOrder = true
        let (jetLoss, jet) = try Self.lossAndGradient(trainer, terms)
        XCTAssertEqual(passLoss, jetLoss, accuracy: 1e-5 * (1 + abs(jetLoss)), config)
        var worst: Float = 0
        for (a, b) in zip(pass, jet) { worst = max(worst, abs(a - b) / (1e-4 + abs(b))) }
        XCTAssertLessThan(worst, 1e-3, "\(activation) \(config)")
      }
    }
  }

  /// A value term on the points of an eikonal term rides along in its pass: same losses and
  /// gradients as evaluating both apart (jets, no riding).
  func testValueTermsRideAlongOnSharedPoints() throws {
    let model = try ModelJetTests.model("softplus")
    let trainer = try Trainer(model: model, json: #"{"optimizer": "sgd"}"#)
    let terms = try LossTerms(
      json: #"[{"loss": "value", "weight": 3}, {"loss": "eikonal", "weight": 0.1}, "#
        + #"{"loss": "boundary", "metric": "l1"}]"#, inputDim: 3, outputDim: 1)
    let x = ModelJetTests.points(40, 3, seed: 9)
    let y = ModelJetTests.points(40, 1, seed: 10)
    for t in [0, 2] { try terms.setPoints(t, x, count: 40, targets: y, targetCount: 40) }
    try terms.setPoints(1, x, count: 40, targets: nil, targetCount: 0)
    trainer.termScratch.drawBatches(terms, rng: &trainer.rng)
    let riding = try trainer.termsLossAndGradient(terms, trainer.termScratch)
    XCTAssertEqual(trainer.termScratch.riders.map(\.term), [0, 2])
    let gradient = model.parameters.flatMap(\.gradient)
    trainer.usesJetsForFirstOrder = true
    let apart = try trainer.termsLossAndGradient(terms, trainer.termScratch)
    XCTAssert(trainer.termScratch.riders.isEmpty)
    for t in 0..<3 { XCTAssertEqual(riding.terms[t], apart.terms[t], accuracy: 1e-6) }
    for (a, b) in zip(gradient, model.parameters.flatMap(\.gradient)) {
      XCTAssertEqual(a, b, accuracy: 1e-5 * (1 + abs(b)))
    }
  }

  func testWeightsScaleTermsAndTotalsAdd() throws {
    let model = try ModelJetTests.model("tanh")
    let trainer = try Trainer(model: model, json: #"{"optimizer": "sgd"}"#)
    let terms = try LossTerms(
      json: #"[{"loss": "eikonal", "weight": 2}, {"loss": "value", "weight": 0.5}]"#, inputDim: 3,
      outputDim: 1)
    let x = ModelJetTests.points(10, 3, seed: 1)
    try terms.setPoints(0, x, count: 10, targets: nil, targetCount: 0)
    let y = ModelJetTests.points(10, 1, seed: 2)
    try terms.setPoints(1, x, count: 10, targets: y, targetCount: 10)
    trainer.termScratch.drawBatches(terms, rng: &trainer.rng)
    let r = try trainer.termsLossAndGradient(terms, trainer.termScratch)
    XCTAssertEqual(
      Double(r.loss), 2 * Double(r.terms[0]) + 0.5 * Double(r.terms[1]), accuracy: 1e-5)
    // Eikonal by hand from the Jacobian.
    var jac = [Float](repeating: 0, count: 30)
    try model.inputGradient(x, count: 10, into: &jac)
    var eikonal = 0.0
    for r in 0..<10 {
      let norm = (0..<3).map { Double(jac[r * 3 + $0]) * Double(jac[r * 3 + $0]) }.reduce(0, +)
        .squareRoot()
      eikonal += (norm - 1) * (norm - 1) / 10
    }
    XCTAssertEqual(Double(r.terms[0]), eikonal, accuracy: 1e-5)
  }

  func testConfigsAreReadStrictly() {
    func refuses(_ json: String, _ fragment: String, inputDim: Int = 3, outputDim: Int = 1) {
      XCTAssertThrowsError(try LossTerms(json: json, inputDim: inputDim, outputDim: outputDim)) {
        let message = ($0 as! LaminaError).message
        XCTAssert(message.contains(fragment), "\(json): \(message)")
      }
    }
    refuses(#"[{"loss": "eikonal", "wieght": 1}]"#, "wieght")
    refuses(#"[{"loss": "curl"}]"#, "unknown loss \"curl\"")
    refuses(#"[]"#, "no terms")
    refuses(#"[{"loss": "laplacian", "b": [1, 2]}]"#, "3 numbers")
    refuses(#"[{"loss": "normal", "metric": "l1"}]"#, "cosine")
    refuses(#"[{"loss": "eikonal", "weight": -1}]"#, "weight")
    refuses(#"[{"loss": "eikonal"}]"#, "one output", outputDim: 2)
    XCTAssertNoThrow(
      try LossTerms(json: #"{"terms": [{"loss": "value"}]}"#, inputDim: 3, outputDim: 2))
  }

  func testPointsAreCheckedAndTermsNeedThem() throws {
    let terms = try LossTerms(
      json: #"[{"loss": "normal"}, {"loss": "eikonal"}]"#, inputDim: 3, outputDim: 1)
    let x: [Float] = [0, 0, 0, 1, 1, 1]
    XCTAssertThrowsError(try terms.setPoints(0, x, count: 2, targets: [1, 0, 0], targetCount: 3))
    XCTAssertThrowsError(
      try terms.setPoints(0, x, count: 2, targets: [1, 0, 0, 0, 0, 0], targetCount: 6)
    ) { XCTAssert(($0 as! LaminaError).message.contains("normal 1 is zero")) }
    XCTAssertThrowsError(try terms.setPoints(2, x, count: 2, targets: nil, targetCount: 0))
    XCTAssertThrowsError(
      try terms.setPoints(1, [0, .nan, 0], count: 1, targets: nil, targetCount: 0))
    try terms.setPoints(0, x, count: 2, targets: [2, 0, 0, 0, 0, 3], targetCount: 6)
    XCTAssertEqual(terms.terms[0].targets, [1, 0, 0, 0, 0, 1], "normals are stored unit length")
    let trainer = try Trainer(model: try ModelJetTests.model("tanh"), json: "{}")
    XCTAssertThrowsError(try trainer.stepTerms(terms)) {
      XCTAssert(($0 as! LaminaError).message.contains("loss term 1 (eikonal) has no points"))
    }
  }

  /// A sphere's signed distance from points and normals alone (no distances): the
  /// surface, normal and eikonal terms of IGR fit it.
  func testSphereFromOrientedPoints() throws {
    let model = try Model(
      json: #"{"kind": "mlp", "input": 3, "hidden": [32, 32], "output": 1, "#
        + #""activation": {"name": "softplus", "beta": 10}, "seed": 1}"#)
    let trainer = try Trainer(model: model, json: #"{"optimizer": "adam", "learning_rate": 0.005}"#)
    let terms = try LossTerms(
      json: #"[{"loss": "value", "weight": 10}, {"loss": "normal"}, "#
        + #"{"loss": "eikonal", "weight": 1, "batch_size": 256}]"#,
      inputDim: 3, outputDim: 1)
    var rng = RandomSource(seed: 3)
    var surface = [Float]()
    for _ in 0..<400 {
      var v = (0..<3).map { _ in rng.uniform(-1, 1) }
      let norm = (v.map { $0 * $0 }.reduce(0, +)).squareRoot()
      v = v.map { $0 / norm }
      surface += v.map { Float(0.5 * $0) }
    }
    try terms.setPoints(
      0, surface, count: 400, targets: [Float](repeating: 0, count: 400), targetCount: 400)
    try terms.setPoints(1, surface, count: 400, targets: surface, targetCount: 1200)
    let space = (0..<3000).map { _ in Float(rng.uniform(-1, 1)) }
    try terms.setPoints(2, space, count: 1000, targets: nil, targetCount: 0)
    let history = try trainer.fitTerms(terms, steps: 400)
    XCTAssertEqual(history.totals.count, 400)
    XCTAssertLessThan(history.totals.last!, history.totals.first! / 10)
    // Signed distances at probe points, against |p| - 0.5.
    // (The centre, where the true distance has a kink, is only asked for its sign.)
    XCTAssertLessThan(try model.predict([0, 0, 0])[0], -0.25)
    let probes: [Float] = [0.25, 0, 0, 0.8, 0, 0, 0, -0.3, 0, 0.2, 0.2, 0.2]
    let f = try model.predict(probes)
    for i in 0..<4 {
      let p = probes[(3 * i)..<(3 * i + 3)]
      let exact = (p.map { $0 * $0 }.reduce(0, +)).squareRoot() - 0.5
      XCTAssertEqual(f[i], exact, accuracy: 0.08, "probe \(i)")
    }
  }
}
