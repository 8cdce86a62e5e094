import XCTest

@testable import Lamina

/// Tri-plane fields in the reverse-over-reverse gradient pass (`TriplaneEncoding+
/// GradientPass.swift`): the pass's input gradient is `inputGradient`'s and the jets', the
/// parameter gradients of the first-order terms match central differences and the jets',
/// for every aggregation, Fourier features, multi-resolution, border padding and several
/// fields; models the pass cannot take (per-field decoders, an encoding after the first
/// layer) fall back to jets.
final class TriplaneGradientPassTests: XCTestCase {
  /// `TriplaneJetTests.specs` whose models take the gradient pass (a shared decoder).
  static var passSpecs: [String] { TriplaneJetTests.specs.filter { !$0.contains("per_field") } }

  /// Those whose models fall back to jets (`FieldwiseMLP` decoders have no pass step).
  static var jetSpecs: [String] { TriplaneJetTests.specs.filter { $0.contains("per_field") } }

  /// First-order terms for a model of `d` inputs, with their target columns.
  static func firstOrderConfigs(inputs d: Int) -> [(json: String, columns: Int)] {
    [
      (#"{"loss": "eikonal"}"#, 0),
      (#"{"loss": "normal"}"#, d),
      (#"{"loss": "normal", "metric": "l2"}"#, d),
      (#"{"loss": "gradient"}"#, d),
    ]
  }

  /// One term of `config` on `x` (`n` rows) with random targets.
  static func terms(_ config: String, columns: Int, _ x: [Float], n: Int, inputs d: Int) throws
    -> LossTerms
  {
    let terms = try LossTerms(json: "[\(config)]", inputDim: d, outputDim: 1)
    let t = ModelJetTests.points(n, columns, seed: 22)
    try terms.setPoints(0, x, count: n, targets: t, targetCount: t.count)
    return terms
  }

  func testWhichModelsTakeThePass() throws {
    XCTAssertFalse(Self.passSpecs.isEmpty)
    XCTAssertFalse(Self.jetSpecs.isEmpty)
    for spec in Self.passSpecs { XCTAssertNotNil(try Model(json: spec).gradientLayers, spec) }
    for spec in Self.jetSpecs { XCTAssertNil(try Model(json: spec).gradientLayers, spec) }
    let later = try Model(
      json: #"{"kind": "sequential", "input": 3, "layers": [{"type": "dense", "output": 3}, "#
        + #"{"type": "triplane", "resolution": 3, "channels": 2}, {"type": "dense", "output": 1}]}"#
    )
    XCTAssertNil(later.gradientLayers, "an encoding after the first layer takes no pass")
    let first = try Model(
      json: #"{"kind": "sequential", "input": 3, "layers": [{"type": "triplane", "#
        + #""resolution": 3, "channels": 2}, {"type": "dense", "output": 4}, "#
        + #"{"type": "activation", "name": "tanh"}, {"type": "dense", "output": 1}]}"#)
    XCTAssertNotNil(first.gradientLayers)
  }

  func testPassInputGradientMatchesInputGradientAndJets() throws {
    for spec in Self.passSpecs {
      let model = try Model(json: spec)
      let d = model.inputDim
      let n = 29
      // Points anywhere, some past the box (zeros padding fades there, border clamps).
      var x = TriplaneJetTests.interiorPoints(model, n, seed: 7)
      for i in stride(from: d - 3, to: x.count, by: 5 * d) { x[i] *= 1.3 }
      let ws = GradientPassWorkspace()
      let (values, pass): ([Float], [Float]) = x.withUnsafeBufferPointer { p in
        model.gradientPassForward(p.baseAddress!, count: n, workspace: ws)
        return (
          Array(UnsafeBufferPointer(start: model.gradientPassValues(ws), count: n)),
          Array(UnsafeBufferPointer(start: ws.inputGradient, count: n * d))
        )
      }
      XCTAssertEqual(values, try model.predict(x), spec)
      var reference = [Float](repeating: .nan, count: n * d)
      try model.inputGradient(x, count: n, into: &reference)
      var jac = [Float](repeating: .nan, count: n * d)
      try model.inputDerivatives(
        x, count: n, values: nil, jacobian: &jac, secondDerivatives: nil)
      for i in 0..<(n * d) {
        XCTAssertEqual(pass[i], reference[i], accuracy: 1e-5 * (1 + abs(reference[i])), spec)
        XCTAssertEqual(pass[i], jac[i], accuracy: 1e-5 * (1 + abs(jac[i])), spec)
      }
      XCTAssertGreaterThan(pass.map { abs($0) }.max()!, 1e-2, "\(spec): a non-trivial gradient")
    }
  }

  /// The pass's gradient against central differences of the loss and against the jets'.
  func testFirstOrderTermGradientsMatchFiniteDifferencesAndJets() throws {
    var checked = 0
    for spec in Self.passSpecs {
      let d = try Model(json: spec).inputDim
      for (config, columns) in Self.firstOrderConfigs(inputs: d) {
        let model = try Model(json: spec)
        let trainer = try Trainer(model: model, json: #"{"optimizer": "sgd"}"#)
        let n = 8
        let x = TriplaneJetTests.interiorPoints(model, n, seed: 21)
        let terms = try Self.terms(config, columns: columns, x, n: n, inputs: d)
        let (passLoss, analytic) = try LossTermTests.lossAndGradient(trainer, terms)
        trainer.usesJetsForFirstOrder = true
        let (jetLoss, jets) = try LossTermTests.lossAndGradient(trainer, terms)
        trainer.usesJetsForFirstOrder = false
        XCTAssertEqual(passLoss, jetLoss, accuracy: 1e-5 * (1 + abs(jetLoss)), "\(spec) \(config)")
        var worst: Float = 0
        for (a, b) in zip(analytic, jets) { worst = max(worst, abs(a - b) / (1e-4 + abs(b))) }
        XCTAssertLessThan(worst, 1e-3, "\(spec) \(config): the pass's gradient is the jets'")
        checked += try Self.checkFiniteDifferences(
          trainer, terms, analytic, "\(spec) \(config)")
      }
    }
    XCTAssertGreaterThan(checked, 500)
  }

  /// Checks `analytic` (the flat gradient of `terms`) on a few texels and weights against
  /// central differences; returns how many it checked.
  static func checkFiniteDifferences(
    _ trainer: Trainer, _ terms: LossTerms, _ analytic: [Float], _ what: String
  ) throws -> Int {
    var rng = RandomSource(seed: 4)
    var offset = 0
    var checked = 0
    var planesNonZero = 0
    for p in trainer.model.parameters {
      // Prefer texels with a gradient (most are untouched by a few points).
      let touched = (0..<p.count).filter { analytic[offset + $0] != 0 }
      let picks =
        (0..<4).map { _ in Int(rng.next() % UInt64(p.count)) }
        + (0..<10).compactMap { _ in
          touched.isEmpty ? nil : touched[Int(rng.next() % UInt64(touched.count))]
        }
      if p.name.contains("planes") { planesNonZero += touched.count }
      for i in picks {
        let saved = p.value[i]
        let h = Float(1e-3) * max(1, abs(saved))
        p.value[i] = saved + h
        let up = try LossTermTests.lossAndGradient(trainer, terms).0
        p.value[i] = saved - h
        let down = try LossTermTests.lossAndGradient(trainer, terms).0
        p.value[i] = saved
        let numeric = (up - down) / Double(2 * h)
        let a = Double(analytic[offset + i])
        XCTAssertEqual(
          a, numeric, accuracy: 2e-3 + 1e-2 * max(abs(a), abs(numeric)), "\(what) \(p.name)[\(i)]")
        checked += 1
      }
      offset += p.count
    }
    XCTAssertGreaterThan(planesNonZero, 0, "\(what): the planes get a gradient")
    return checked
  }

  /// Models that cannot take the pass train their first-order terms through jets, with the
  /// right gradient.
  func testUnsupportedModelsFallBackToJets() throws {
    var checked = 0
    for spec in Self.jetSpecs {
      let d = try Model(json: spec).inputDim
      for (config, columns) in Self.firstOrderConfigs(inputs: d) {
        let model = try Model(json: spec)
        XCTAssertNil(model.gradientLayers)
        let trainer = try Trainer(model: model, json: #"{"optimizer": "sgd"}"#)
        let n = 8
        let x = TriplaneJetTests.interiorPoints(model, n, seed: 21)
        let terms = try Self.terms(config, columns: columns, x, n: n, inputs: d)
        let (_, analytic) = try LossTermTests.lossAndGradient(trainer, terms)
        trainer.usesJetsForFirstOrder = true
        XCTAssertEqual(analytic, try LossTermTests.lossAndGradient(trainer, terms).1)
        trainer.usesJetsForFirstOrder = false
        checked += try Self.checkFiniteDifferences(trainer, terms, analytic, "\(spec) \(config)")
      }
    }
    XCTAssertGreaterThan(checked, 100)
  }

  /// On a batch large enough for the pool: the same gradient bit for bit run to run, the
  /// jets' within rounding, and a value term riding along on the eikonal term's points.
  func testLargeBatchIsDeterministicAndMatchesJets() throws {
    // The last spec has C a multiple of 8, so the C kernels of `gatherKernel` and
    // `scatterKernel` run, as in the benchmark's model.
    let kernels =
      #"{"kind": "triplane", "resolution": 16, "channels": 16, "init_std": 0.5, "#
      + #""decoder": {"hidden": [64, 64], "activation": "softplus"}, "seed": 3}"#
    for spec in [Self.passSpecs[0], Self.passSpecs[1], kernels] {
      let model = try Model(json: spec)
      let trainer = try Trainer(model: model, json: #"{"optimizer": "sgd"}"#)
      let terms = try LossTerms(
        json: #"[{"loss": "value"}, {"loss": "eikonal", "weight": 0.1}]"#, inputDim: 3,
        outputDim: 1)
      let n = 3000
      let x = ModelJetTests.points(n, 3, seed: 9)
      let y = ModelJetTests.points(n, 1, seed: 10)
      try terms.setPoints(0, x, count: n, targets: y, targetCount: n)
      try terms.setPoints(1, x, count: n, targets: nil, targetCount: 0)
      let a = try LossTermTests.lossAndGradient(trainer, terms)
      XCTAssertEqual(trainer.termScratch.riders.map(\.term), [0], spec)
      let b = try LossTermTests.lossAndGradient(trainer, terms)
      XCTAssertEqual(a.0, b.0, spec)
      XCTAssertEqual(a.1, b.1, spec)
      trainer.usesJetsForFirstOrder = true
      let jets = try LossTermTests.lossAndGradient(trainer, terms)
      XCTAssertEqual(a.0, jets.0, accuracy: 1e-5 * (1 + abs(jets.0)), spec)
      var worst: Float = 0
      for (p, q) in zip(a.1, jets.1) { worst = max(worst, abs(p - q) / (1e-3 + abs(q))) }
      XCTAssertLessThan(worst, 1e-3, spec)
    }
  }

  /// Sixteen channels (the benchmark's, a multiple of the scatter's and the samplers' eight
  /// lanes): texels of the first, middle and last channels get the gradient central
  /// differences give, by the pass and by jets.
  func testSixteenChannelGradientsMatchFiniteDifferences() throws {
    let spec =
      #"{"kind": "triplane", "resolution": 16, "channels": 16, "init_std": 0.02, "#
      + #""decoder": {"hidden": [8], "activation": "tanh"}, "seed": 5}"#
    let model = try Model(json: spec)
    let encoding = model.triplaneEncodings[0].layer
    let trainer = try Trainer(model: model, json: #"{"optimizer": "sgd"}"#)
    let n = 400
    let x = TriplaneJetTests.interiorPoints(model, n, seed: 2)
    let terms = try Self.terms(#"{"loss": "eikonal"}"#, columns: 0, x, n: n, inputs: 3)
    for jets in [false, true] {
      trainer.usesJetsForFirstOrder = jets
      let (_, analytic) = try LossTermTests.lossAndGradient(trainer, terms)
      let planes = encoding.levels[0]
      // Texels of channels 0, 7, 8 and 15 (either side of an eight-lane edge), every plane.
      var picks: [Int] = []
      for plane in 0..<3 {
        for channel in [0, 7, 8, 15] {
          let start = (plane * 16 + channel) * 256
          picks += (start..<(start + 256)).filter { analytic[$0] != 0 }.prefix(2)
        }
      }
      XCTAssertEqual(picks.count, 24, "texels with a gradient in every picked channel")
      for i in picks {
        let saved = planes.value[i]
        let h = Float(1e-2) * max(1, abs(saved))
        planes.value[i] = saved + h
        let up = try LossTermTests.lossAndGradient(trainer, terms).0
        planes.value[i] = saved - h
        let down = try LossTermTests.lossAndGradient(trainer, terms).0
        planes.value[i] = saved
        let numeric = (up - down) / Double(2 * h)
        let a = Double(analytic[i])
        XCTAssertEqual(
          a, numeric, accuracy: 2e-3 + 1e-2 * max(abs(a), abs(numeric)), "jets \(jets) [\(i)]")
      }
    }
  }
}
