import XCTest

@testable import Lamina

/// Tri-plane fields in jet passes: the jet's Jacobian is `inputGradient`'s, its second
/// derivatives match central differences of `inputGradient` inside texel cells, and the
/// parameter gradients of every derivative loss match finite differences, for sum, mean,
/// product and concat aggregation, with and without Fourier features, multi-resolution,
/// border padding, and one or several fields (shared or per-field decoders).
final class TriplaneJetTests: XCTestCase {
  /// Model specs covering the encoding's settings; planes are drawn far from constant so
  /// that every derivative is non-trivial.
  static let specs: [String] = [
    #"{"kind": "triplane", "resolution": 5, "channels": 3, "init_std": 0.5, "decoder": {"hidden": [8], "activation": "tanh"}, "seed": 1}"#,
    #"{"kind": "triplane", "resolution": 5, "channels": 3, "aggregation": "product", "init_std": 0.5, "decoder": {"hidden": [8], "activation": "tanh"}, "seed": 2}"#,
    #"{"kind": "triplane", "resolution": 4, "channels": 2, "aggregation": "concat", "init_std": 0.5, "fourier": 2, "decoder": {"hidden": [8], "activation": "tanh"}, "seed": 3}"#,
    #"{"kind": "triplane", "resolution": 5, "channels": 3, "aggregation": "product", "init_std": 0.5, "fourier": 1, "fourier_include_input": false, "bounds": [[-1, 2], [-0.5, 0.5], [0, 1]], "decoder": {"hidden": [8], "activation": "softplus"}, "seed": 4}"#,
    #"{"kind": "triplane", "resolution": [5, 3], "channels": 2, "aggregation": "mean", "multires": "sum", "align_corners": false, "padding": "border", "init_std": 0.5, "decoder": {"hidden": [8], "activation": "tanh"}, "seed": 5}"#,
    #"{"kind": "triplane", "resolution": [4, 3], "channels": 2, "aggregation": "sum", "fourier": 1, "init_std": 0.5, "fields": 2, "decoder": {"hidden": [8], "activation": "tanh"}, "seed": 6}"#,
    #"{"kind": "triplane", "resolution": 4, "channels": 2, "aggregation": "product", "init_std": 0.5, "fields": 3, "decoder": {"hidden": [8, 6], "activation": "tanh"}, "decoder_per_field": true, "seed": 7}"#,
    #"{"kind": "triplane", "resolution": 4, "channels": 2, "aggregation": "concat", "fourier": 1, "init_std": 0.5, "fields": 2, "decoder": {"hidden": [8], "activation": "sigmoid"}, "decoder_per_field": true, "seed": 8}"#,
  ]

  /// `n` points strictly inside texel cells of every level of `model`'s encoding (each
  /// texel coordinate's fraction in [0.25, 0.75]), so a step of `h` along any axis stays in
  /// its cell; with several fields, each row starts with a field index.
  static func interiorPoints(_ model: Model, _ n: Int, seed: UInt64) -> [Float] {
    let e = model.triplaneEncodings[0].layer
    let o = e.options
    var rng = RandomSource(seed: seed)
    var x: [Float] = []
    for _ in 0..<n {
      if o.fields > 1 { x.append(Float(rng.next() % UInt64(o.fields))) }
      for a in 0..<3 {
        var value: Float = 0
        // Retry until the point is inside a cell of every level.
        for _ in 0..<1000 {
          value = Float(rng.uniform(o.bounds[a][0], o.bounds[a][1]))
          let ok = e.geometry.allSatisfy { g in
            let s = g.sample(value, axis: a)
            return s.fraction > 0.25 && s.fraction < 0.75 && s.slope > 0
          }
          if ok { break }
        }
        x.append(value)
      }
    }
    return x
  }

  func testJacobianMatchesInputGradientAndValuesMatchPredict() throws {
    for spec in Self.specs {
      let model = try Model(json: spec)
      let d = model.inputDim
      let n = 23
      // Random points anywhere, including off-cell-centre ones and (zeros padding) the
      // faded band outside the box.
      var x = Self.interiorPoints(model, n, seed: 3)
      for i in stride(from: d - 3, to: x.count, by: 7 * d) { x[i] *= 1.3 }
      var y = [Float](repeating: .nan, count: n)
      var jac = [Float](repeating: .nan, count: n * d)
      var hess = [Float](repeating: .nan, count: n * d)
      try model.inputDerivatives(x, count: n, values: &y, jacobian: &jac, secondDerivatives: &hess)
      XCTAssertEqual(y, try model.predict(x), "\(spec): the value stream is predict's")
      var reference = [Float](repeating: .nan, count: n * d)
      try model.inputGradient(x, count: n, into: &reference)
      for i in 0..<(n * d) {
        XCTAssertEqual(jac[i], reference[i], accuracy: 1e-5 * (1 + abs(reference[i])), spec)
      }
      XCTAssertGreaterThan(jac.map { abs($0) }.max()!, 1e-2, "\(spec): a non-trivial gradient")
      if d == 4 {
        for r in 0..<n {
          XCTAssertEqual(jac[r * d], 0, "\(spec): no derivative along the field index")
          XCTAssertEqual(hess[r * d], 0, "\(spec): no derivative along the field index")
        }
      }
      var firstOnly = [Float](repeating: .nan, count: n * d)
      try model.inputDerivatives(
        x, count: n, values: nil, jacobian: &firstOnly, secondDerivatives: nil)
      XCTAssertEqual(firstOnly, jac, spec)
    }
  }

  func testSecondDerivativesMatchDifferencesOfTheGradientInsideCells() throws {
    for spec in Self.specs {
      let model = try Model(json: spec)
      let d = model.inputDim
      let n = 9
      var x = Self.interiorPoints(model, n, seed: 11)
      var hess = [Float](repeating: .nan, count: n * d)
      var jac = [Float](repeating: 0, count: n * d)
      try model.inputDerivatives(x, count: n, values: nil, jacobian: &jac, secondDerivatives: &hess)
      let h: Float = 1e-3
      var largest = 0.0
      for r in 0..<n {
        for k in (d - 3)..<d {
          let saved = x[r * d + k]
          var up = [Float](repeating: 0, count: n * d)
          var down = up
          x[r * d + k] = saved + h
          try model.inputGradient(x, count: n, into: &up)
          x[r * d + k] = saved - h
          try model.inputGradient(x, count: n, into: &down)
          x[r * d + k] = saved
          let numeric = (Double(up[r * d + k]) - Double(down[r * d + k])) / Double(2 * h)
          let analytic = Double(hess[r * d + k])
          largest = max(largest, abs(analytic))
          XCTAssertEqual(
            analytic, numeric, accuracy: 5e-3 * (1 + abs(numeric)), "\(spec) row \(r) d2/dx\(k)^2")
        }
      }
      XCTAssertGreaterThan(largest, 1e-2, "\(spec): non-trivial second derivatives")
    }
  }

  /// With a linear decoder the model's second derivatives are the encoding's: exactly 0
  /// for sum and concat planes (bilinear along each axis), not for product.
  func testPlaneSecondDerivativesAreZeroExceptForProducts() throws {
    for (aggregation, zero) in [
      ("sum", true), ("concat", true), ("mean", true), ("product", false),
    ] {
      let model = try Model(
        json:
          #"{"kind": "triplane", "resolution": 5, "channels": 3, "aggregation": "\#(aggregation)", "#
          + #""init_std": 0.5, "decoder": {"hidden": []}, "seed": 3}"#)
      let n = 16
      let x = Self.interiorPoints(model, n, seed: 5)
      var hess = [Float](repeating: .nan, count: 3 * n)
      var jac = [Float](repeating: .nan, count: 3 * n)
      try model.inputDerivatives(
        x, count: n, values: nil, jacobian: &jac, secondDerivatives: &hess)
      if zero {
        XCTAssertEqual(hess, [Float](repeating: 0, count: 3 * n), aggregation)
      } else {
        XCTAssertGreaterThan(hess.map { abs($0) }.max()!, 1e-2, aggregation)
      }
    }
  }

  /// Term configs for a model of `d` inputs, with their target columns.
  static func termConfigs(inputs d: Int) -> [(json: String, columns: Int)] {
    let b = (0..<d).map { ["0.3", "-0.2", "0.1", "0.25"][$0] }.joined(separator: ", ")
    return [
      (#"{"loss": "eikonal"}"#, 0),
      (#"{"loss": "normal"}"#, d),
      (#"{"loss": "normal", "metric": "l2"}"#, d),
      (#"{"loss": "gradient"}"#, d),
      // c small enough that the Fourier features' large curvature (2^k pi)^2 keeps the loss
      // near 1, where Float differences resolve its change.
      (#"{"loss": "laplacian", "a": 0.5, "b": [\#(b)], "c": 0.2}"#, 1),
    ]
  }

  func testDerivativeLossGradientsMatchFiniteDifferences() throws {
    var checked = 0
    for spec in Self.specs {
      for (config, columns) in Self.termConfigs(inputs: try Model(json: spec).inputDim) {
        let model = try Model(json: spec)
        let d = model.inputDim
        let trainer = try Trainer(model: model, json: #"{"optimizer": "sgd"}"#)
        let terms = try LossTerms(json: "[\(config)]", inputDim: d, outputDim: 1)
        let n = 8
        let x = Self.interiorPoints(model, n, seed: 21)
        let t = ModelJetTests.points(n, columns, seed: 22)
        try terms.setPoints(0, x, count: n, targets: t, targetCount: t.count)
        let (_, analytic) = try LossTermTests.lossAndGradient(trainer, terms)
        var rng = RandomSource(seed: 4)
        var offset = 0
        var planesNonZero = 0
        for p in model.parameters {
          // Texels: prefer ones with a gradient (most are untouched by 8 points).
          let touched = (0..<p.count).filter { analytic[offset + $0] != 0 }
          let picks =
            (0..<6).map { _ in Int(rng.next() % UInt64(p.count)) }
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
              a, numeric, accuracy: 2e-3 + 1e-2 * max(abs(a), abs(numeric)),
              "\(spec) \(config) \(p.name)[\(i)]")
            checked += 1
          }
          offset += p.count
        }
        XCTAssertGreaterThan(planesNonZero, 0, "\(spec) \(config): the planes get a gradient")
      }
    }
    XCTAssertGreaterThan(checked, 1000)
  }

  /// The same loss and gradient, bit for bit, run to run on a batch large enough to run on
  /// the pool: each texel's sum is formed in row order by one task.
  func testJetGradientIsDeterministic() throws {
    let model = try Model(json: Self.specs[1])
    let trainer = try Trainer(model: model, json: #"{"optimizer": "sgd"}"#)
    let terms = try LossTerms(
      json: #"[{"loss": "eikonal"}, {"loss": "laplacian", "c": 1}]"#, inputDim: 3, outputDim: 1)
    let x = ModelJetTests.points(3000, 3, seed: 9)
    try terms.setPoints(0, x, count: 3000, targets: nil, targetCount: 0)
    try terms.setPoints(
      1, x, count: 3000, targets: [Float](repeating: 0, count: 3000), targetCount: 3000)
    let a = try LossTermTests.lossAndGradient(trainer, terms)
    let b = try LossTermTests.lossAndGradient(trainer, terms)
    XCTAssertEqual(a.0, b.0)
    XCTAssertEqual(a.1, b.1)
  }

  func testEncodingAfterTheFirstLayerIsRefusedForJets() throws {
    let model = try Model(
      json: #"{"kind": "sequential", "input": 3, "layers": [{"type": "dense", "output": 3}, "#
        + #"{"type": "triplane", "resolution": 3, "channels": 2}, {"type": "dense", "output": 1}]}"#
    )
    var jac = [Float](repeating: 0, count: 3)
    XCTAssertThrowsError(
      try model.inputDerivatives(
        [0.1, 0.2, 0.3], count: 1, values: nil, jacobian: &jac, secondDerivatives: nil)
    ) { error in
      let e = error as! LaminaError
      XCTAssertEqual(e.code, .unsupported)
      XCTAssert(e.message.contains("first layer"), e.message)
    }
  }
}
