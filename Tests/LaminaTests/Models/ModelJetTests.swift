import XCTest

@testable import Lamina

/// Jet passes through whole models: the input Jacobian equals back-propagation's, and the
/// pure second derivatives match central differences of it.
final class ModelJetTests: XCTestCase {
  /// Smooth activations (a Laplacian is meaningful) plus piecewise ones (first order).
  static let activations = [
    "tanh", "softplus", "silu", "gelu", "mish", "sigmoid", "elu", "selu", "celu", "softsign",
    "relu", "leaky_relu", "prelu", "hardswish",
    #"{"name": "sine", "omega_0": 3}"#, #"{"name": "gelu", "approximate": "tanh"}"#,
  ]

  static func model(_ activation: String, input: Int = 3, seed: Int = 0) throws -> Model {
    let a = activation.hasPrefix("{") ? activation : "\"\(activation)\""
    return try Model(
      json: #"{"kind": "mlp", "input": \#(input), "hidden": [16, 12], "output": 1, "#
        + #""activation": \#(a), "seed": \#(seed)}"#)
  }

  static func points(_ n: Int, _ d: Int, seed: UInt64) -> [Float] {
    var rng = RandomSource(seed: seed)
    return (0..<(n * d)).map { _ in Float(rng.uniform(-1, 1)) }
  }

  func testJacobianMatchesBackpropagation() throws {
    for activation in Self.activations {
      let model = try Self.model(activation)
      let (n, d) = (37, 3)
      let x = Self.points(n, d, seed: 3)
      var y = [Float](repeating: .nan, count: n)
      var jet = [Float](repeating: .nan, count: n * d)
      var hess = [Float](repeating: .nan, count: n * d)
      var reference = [Float](repeating: .nan, count: n * d)
      try model.inputDerivatives(x, count: n, values: &y, jacobian: &jet, secondDerivatives: &hess)
      try model.inputGradient(x, count: n, into: &reference)
      XCTAssertEqual(y, try model.predict(x), "\(activation): the value stream is predict's")
      for i in 0..<(n * d) {
        XCTAssertEqual(jet[i], reference[i], accuracy: 1e-5 * (1 + abs(reference[i])), activation)
      }
      // The first-order pass gives the same Jacobian.
      var firstOnly = [Float](repeating: .nan, count: n * d)
      try model.inputDerivatives(
        x, count: n, values: nil, jacobian: &firstOnly, secondDerivatives: nil)
      XCTAssertEqual(firstOnly, jet, activation)
    }
  }

  func testSecondDerivativesMatchDifferencesOfTheJacobian() throws {
    // ReLU-like networks are piecewise linear: their zero second derivative is checked
    // below, and differences here would only see kinks.
    for activation in Self.activations where !["relu", "leaky_relu", "prelu"].contains(activation) {
      let model = try Self.model(activation)
      let (n, d) = (9, 3)
      var x = Self.points(n, d, seed: 5)
      var hess = [Float](repeating: .nan, count: n * d)
      var jac = [Float](repeating: 0, count: n * d)
      try model.inputDerivatives(x, count: n, values: nil, jacobian: &jac, secondDerivatives: &hess)
      // Small enough that no pre-activation of these seeds crosses a kink inside the step.
      let h: Float = 1e-3
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
          XCTAssertEqual(
            analytic, numeric, accuracy: 5e-3 * (1 + abs(numeric)),
            "\(activation) row \(r) d2y/dx\(k)^2")
        }
      }
    }
  }

  func testReLUNetworksHaveZeroLaplacian() throws {
    let model = try Self.model("relu")
    let x = Self.points(20, 3, seed: 8)
    var hess = [Float](repeating: .nan, count: 60)
    var jac = [Float](repeating: .nan, count: 60)
    try model.inputDerivatives(x, count: 20, values: nil, jacobian: &jac, secondDerivatives: &hess)
    XCTAssertEqual(hess, [Float](repeating: 0, count: 60))
  }

  func testLayersWithoutJetsAreRefusedByName() throws {
    // An RBF KAN layer with a LayerNorm is not a sum of per-edge functions (KANJetTests).
    let model = try Model(
      json: #"{"kind": "kan", "widths": [2, 3, 1], "basis": "rbf", "normalize": true, "seed": 0}"#)
    var out = [Float](repeating: 0, count: 2)
    XCTAssertThrowsError(
      try model.inputDerivatives(
        [0.1, 0.2], count: 1, values: nil, jacobian: &out, secondDerivatives: nil)
    ) { error in
      let e = error as! LaminaError
      XCTAssertEqual(e.code, .unsupported)
      XCTAssert(e.message.contains("layer 0"), e.message)
    }
  }
}
