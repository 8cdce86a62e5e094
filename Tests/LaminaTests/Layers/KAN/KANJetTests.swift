import XCTest

@testable import Lamina

/// KAN layers in jet passes, every basis: the jet's Jacobian equals back-propagation's
/// input gradient, its second derivatives match central differences of that gradient, and
/// the parameter gradients of derivative losses match central differences of the loss.
final class KANJetTests: XCTestCase {
  /// A 3-input, 1-output model per basis (and settings that take another code path).
  static let specs: [(name: String, json: String)] = [
    ("bspline", #"{"kind": "kan", "widths": [3, 4, 1], "basis": "bspline", "seed": 1}"#),
    (
      "bspline grid 20 k 2",
      #"{"kind": "kan", "widths": [3, 4, 1], "grid": 20, "order": 2, "grid_range": [-1.5, 1.5], "seed": 2}"#
    ),
    // pykan's base_fun: b(x) = x (derivatives 1, 0, 0) and b = 0, on the dense (G = 5) and
    // the sparse (G = 20) path. Cubic: with b'' = 0 nothing smooths the jumps of a quadratic
    // spline's phi'' at the knots, which differences of the Jacobian straddle; splines from
    // larger noise, so that without the base branch the Jacobian is worth checking.
    (
      "bspline identity",
      #"{"kind": "kan", "widths": [3, 4, 1], "base_fun": "identity", "seed": 1}"#
    ),
    (
      "bspline identity grid 20",
      #"{"kind": "kan", "widths": [3, 4, 1], "grid": 20, "base_fun": "identity", "seed": 3}"#
    ),
    (
      "bspline zero grid 20",
      #"{"kind": "kan", "widths": [3, 4, 1], "grid": 20, "grid_range": [-1.5, 1.5], "noise_scale": 8, "base_fun": "zero", "seed": 2}"#
    ),
    (
      "mixed with an identity-base bspline",
      #"{"kind": "kan", "widths": [3, 4, 1], "basis": "mixed", "bases": [{"name": "bspline", "base_fun": "identity"}, "chebyshev"], "seed": 9}"#
    ),
    ("chebyshev", #"{"kind": "kan", "widths": [3, 4, 1], "basis": "chebyshev", "seed": 4}"#),
    (
      "chebyshev degree 1",
      #"{"kind": "kan", "widths": [3, 4, 1], "basis": "chebyshev", "degree": 1, "seed": 4}"#
    ),
    ("fourier", #"{"kind": "kan", "widths": [3, 4, 1], "basis": "fourier", "seed": 5}"#),
    (
      "fourier no bias",
      #"{"kind": "kan", "widths": [3, 4, 1], "basis": "fourier", "grid": 3, "bias": false, "seed": 5}"#
    ),
    ("rbf", #"{"kind": "kan", "widths": [3, 4, 1], "basis": "rbf", "seed": 6}"#),
    (
      "rbf without base",
      #"{"kind": "kan", "widths": [3, 4, 1], "basis": "rbf", "base": false, "grid": 5, "seed": 6}"#
    ),
    (
      "wavelet mexican hat",
      #"{"kind": "kan", "widths": [3, 4, 1], "basis": "wavelet", "seed": 7}"#
    ),
    (
      "wavelet morlet",
      #"{"kind": "kan", "widths": [3, 4, 1], "basis": "wavelet", "wavelet": "morlet", "seed": 7}"#
    ),
    (
      "rational gelu",
      #"{"kind": "kan", "widths": [3, 4, 1], "basis": "rational", "init": "gelu", "seed": 8}"#
    ),
    // Not "identity": with b = 0 the loss has a kink in b (|s| at s = 0), where the
    // coefficient gradient is a one-sided one (sign(0) = +1) that differences do not see.
    (
      "rational swish, one group",
      #"{"kind": "kan", "widths": [3, 4, 1], "basis": "rational", "init": "swish", "groups": 1, "seed": 8}"#
    ),
    ("mixed", #"{"kind": "kan", "widths": [3, 4, 1], "basis": "mixed", "seed": 9}"#),
    (
      "mixed rational and wavelet",
      #"{"kind": "kan", "widths": [3, 4, 1], "basis": "mixed", "bases": [{"name": "rational", "init": "swish"}, "wavelet"], "temperature": 0.5, "seed": 9}"#
    ),
    (
      "bspline with multiplication nodes",
      #"{"kind": "kan", "widths": [3, [2, 2], 1], "seed": 12}"#
    ),
    (
      "chebyshev with arities 3 and 2",
      #"{"kind": "kan", "widths": [3, [1, 2], 1], "basis": "chebyshev", "mult_arity": [[], [3, 2], []], "seed": 13}"#
    ),
    (
      "bspline then dense",
      #"""
      {"kind": "sequential", "input": 3, "seed": 3, "layers": [
       {"type": "kan", "output": 5, "basis": "bspline"}, {"type": "activation", "name": "tanh"},
       {"type": "dense", "output": 1}]}
      """#
    ),
  ]

  /// Every spec's model, plus a B-spline model with edges fixed to symbolic functions.
  static var models: [(name: String, make: () throws -> Model)] {
    specs.map { spec in (spec.name, { try Model(json: spec.json) }) } + [
      ("bspline with symbolic edges", symbolicModel)
    ]
  }

  /// A [3, 4, 1] B-spline model with four edges fixed to sin, x^2 and x. The affine
  /// parameters are set by hand: fits to these random edges can be degenerate (x^2 with
  /// c = -1e-3 and a = 6), where central differences of the loss need far smaller steps.
  static func symbolicModel() throws -> Model {
    let model = try Model(
      json: #"{"kind": "kan", "widths": [3, 4, 1], "symbolic": true, "seed": 10}"#)
    let samples = points(64, seed: 11)
    let edges = [(0, 0, 1, "sin"), (0, 2, 3, "x^2"), (1, 1, 0, "sin"), (1, 3, 0, "x")]
    for (n, (layer, i, j, f)) in edges.enumerated() {
      _ = try model.kanFixSymbolic(layer: layer, input: i, output: j, function: f, samples: samples)
      let kan = model.layers[layer] as! BSplineKANLayer
      let e = i * kan.outputDim + j
      let affine: [Float] = [1.3 - 0.2 * Float(n), 0.2, 0.8, 0.1]
      kan.symbolicTensors!.affine.value.replaceSubrange((4 * e)..<(4 * e + 4), with: affine)
    }
    return model
  }

  /// Points in [-0.9, 0.9]^3 (inside the default grids, away from their ends).
  static func points(_ n: Int, seed: UInt64) -> [Float] {
    ModelJetTests.points(n, 3, seed: seed).map { $0 * 0.9 }
  }

  func testJacobianMatchesBackpropagation() throws {
    for (name, make) in Self.models {
      let model = try make()
      let (n, d) = (41, 3)
      let x = Self.points(n, seed: 3)
      var y = [Float](repeating: .nan, count: n)
      var jet = [Float](repeating: .nan, count: n * d)
      var hess = [Float](repeating: .nan, count: n * d)
      var reference = [Float](repeating: .nan, count: n * d)
      try model.inputDerivatives(x, count: n, values: &y, jacobian: &jet, secondDerivatives: &hess)
      try model.inputGradient(x, count: n, into: &reference)
      XCTAssertEqual(y, try model.predict(x), "\(name): the value stream is predict's")
      var largest: Float = 0
      for i in 0..<(n * d) {
        largest = max(largest, abs(reference[i]))
        XCTAssertEqual(jet[i], reference[i], accuracy: 1e-4 * (1 + abs(reference[i])), name)
      }
      XCTAssertGreaterThan(largest, 1e-2, "\(name): a Jacobian worth checking")
      var firstOnly = [Float](repeating: .nan, count: n * d)
      try model.inputDerivatives(
        x, count: n, values: nil, jacobian: &firstOnly, secondDerivatives: nil)
      XCTAssertEqual(firstOnly, jet, name)
    }
  }

  func testSecondDerivativesMatchDifferencesOfTheJacobian() throws {
    for (name, make) in Self.models {
      let model = try make()
      let (n, d) = (13, 3)
      var x = Self.points(n, seed: 5)
      var hess = [Float](repeating: .nan, count: n * d)
      var jac = [Float](repeating: 0, count: n * d)
      try model.inputDerivatives(x, count: n, values: nil, jacobian: &jac, secondDerivatives: &hess)
      let h: Float = 1e-3
      var largest = 0.0
      for r in 0..<n {
        for k in 0..<d {
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
            analytic, numeric, accuracy: 1e-2 * (1 + abs(numeric)),
            "\(name) row \(r) d2y/dx\(k)^2")
        }
      }
      XCTAssertGreaterThan(largest, 1e-2, "\(name): second derivatives worth checking")
    }
  }

  /// Derivative losses on a 3-input model, with the targets per point.
  static let lossConfigs: [(json: String, columns: Int)] = [
    (#"{"loss": "eikonal"}"#, 0),
    (#"{"loss": "gradient"}"#, 3),
    (#"{"loss": "laplacian", "a": 0.5, "b": [0.3, -0.2, 0.1], "c": 1.5}"#, 1),
  ]

  func testDerivativeLossGradientsMatchFiniteDifferences() throws {
    var checked = 0
    for (name, make) in Self.models {
      for (config, columns) in Self.lossConfigs {
        let model = try make()
        let trainer = try Trainer(model: model, json: #"{"optimizer": "sgd"}"#)
        let terms = try LossTerms(json: "[\(config)]", inputDim: 3, outputDim: 1)
        let x = Self.points(7, seed: 21)
        let t = ModelJetTests.points(7, columns, seed: 22)
        try terms.setPoints(0, x, count: 7, targets: t, targetCount: t.count)
        let (loss, analytic) = try LossTermTests.lossAndGradient(trainer, terms)
        var rng = RandomSource(seed: 4)
        var offset = 0
        var largest = 0.0
        for p in model.parameters {
          for _ in 0..<min(p.count, 16) {
            let i = Int(rng.next() % UInt64(p.count))
            let saved = p.value[i]
            let h = Float(1e-3) * max(1, abs(saved))
            p.value[i] = saved + h
            let up = try LossTermTests.lossAndGradient(trainer, terms).0
            p.value[i] = saved - h
            let down = try LossTermTests.lossAndGradient(trainer, terms).0
            p.value[i] = saved
            let numeric = (up - down) / Double(2 * h)
            let a = Double(analytic[offset + i])
            largest = max(largest, abs(a))
            // Plus the Float rounding of the loss itself over the step (Fourier edges give
            // Laplacian losses of 1e5 at these seeds).
            let rounding = 1e-7 * abs(loss) / Double(h)
            XCTAssertEqual(
              a, numeric, accuracy: 2e-3 + 1e-2 * max(abs(a), abs(numeric)) + rounding,
              "\(name) \(config) \(p.name)[\(i)]")
            checked += 1
          }
          offset += p.count
        }
        XCTAssertGreaterThan(largest, 1e-3, "\(name) \(config): gradients worth checking")
      }
    }
    XCTAssertGreaterThan(checked, 100)
  }

  func testSymbolicEdgesTrainOnDerivativeLosses() throws {
    let model = try Self.symbolicModel()
    let affine = (model.layers[1] as! BSplineKANLayer).symbolicTensors!.affine
    let before = affine.value
    let terms = try LossTerms(
      json: #"[{"loss": "laplacian", "c": 1}]"#, inputDim: 3, outputDim: 1)
    let x = Self.points(32, seed: 12)
    try terms.setPoints(
      0, x, count: 32, targets: [Float](repeating: 1, count: 32), targetCount: 32)
    let trainer = try Trainer(model: model, json: #"{"optimizer": "adam", "learning_rate": 0.01}"#)
    let first = try trainer.stepTerms(terms).total
    for _ in 0..<20 { try trainer.stepTerms(terms) }
    XCTAssertLessThan(try trainer.stepTerms(terms).total, first)
    XCTAssertNotEqual(affine.value, before, "the symbolic edges' affine parameters train")
  }

  func testRBFLayerNormIsRefusedByName() throws {
    let model = try Model(
      json: #"{"kind": "kan", "widths": [3, 2, 1], "basis": "rbf", "normalize": true, "seed": 0}"#)
    let terms = try LossTerms(json: #"[{"loss": "eikonal"}]"#, inputDim: 3, outputDim: 1)
    try terms.setPoints(0, Self.points(4, seed: 1), count: 4, targets: nil, targetCount: 0)
    let trainer = try Trainer(model: model, json: #"{"optimizer": "adam"}"#)
    XCTAssertThrowsError(try trainer.stepTerms(terms)) { error in
      let e = error as! LaminaError
      XCTAssertEqual(e.code, .unsupported)
      XCTAssert(e.message.contains("layer 0") && e.message.contains("normalize"), e.message)
    }
  }
}
