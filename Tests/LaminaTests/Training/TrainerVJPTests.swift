import XCTest

@testable import Lamina

/// The vector-Jacobian path in the engine (`Model.vjp`, `Model.parameterVJP`,
/// `Trainer.stepVJP`): what the C and Python tests cannot see from outside. A step from the
/// configured loss's gradient is `step` to the bit, also with the trainer's own penalties
/// (KAN sparsity regularisation, tri-plane plane_l2) and clipping on, and it counts for the
/// schedule; dx does not depend on how the rows are cut into chunks.
final class TrainerVJPTests: XCTestCase {
  /// Rows in [-0.9, 0.9) from a fixed stream.
  func rows(_ n: Int, _ d: Int, seed: UInt64) -> [Float] {
    var rng = RandomSource(seed: seed)
    return (0..<(n * d)).map { _ in Float.random(in: -0.9..<0.9, using: &rng) }
  }

  /// The mse gradient as the header gives it: 2 / (n out) * (y - t), in float.
  func mseGradient(_ model: Model, _ x: [Float], _ t: [Float]) throws -> [Float] {
    let y = try model.predict(x)
    let scale = 2 / Float(t.count)
    return zip(y, t).map { scale * ($0 - $1) }
  }

  /// `steps` of `step` on one copy and of `stepVJP` with the mse gradient on another, then
  /// every tensor compared bit for bit.
  func assertStepVJPIsStep(spec: String, config: String, steps: Int = 3) throws {
    let a = try Model(json: spec)
    let b = a.copy()
    let ta = try Trainer(model: a, json: config)
    let tb = try Trainer(model: b, json: config)
    let n = 12
    let x = rows(n, a.inputDim, seed: 1)
    let t = rows(n, a.outputDim, seed: 2)
    for _ in 0..<steps {
      let loss = try x.withUnsafeBufferPointer { xb in
        try t.withUnsafeBufferPointer { tb in
          try ta.step(xb.baseAddress!, tb.baseAddress!, count: n)
        }
      }
      let dy = try mseGradient(b, x, t)
      let mse = try tb.evaluate(x, t, count: n)
      let penalty = try x.withUnsafeBufferPointer { xb in
        try dy.withUnsafeBufferPointer { db in
          try tb.stepVJP(xb.baseAddress!, dy: db.baseAddress!, count: n)
        }
      }
      // step's loss is the objective: the prediction loss plus the same penalty.
      XCTAssertEqual(loss, mse + penalty, accuracy: 1e-5 * max(1, abs(loss)), config)
    }
    XCTAssertEqual(ta.stepsTaken, steps)
    XCTAssertEqual(tb.stepsTaken, steps)
    for ((name, p), (_, q)) in zip(a.tensors, b.tensors) {
      XCTAssertEqual(p.value, q.value, "\(name) with \(config)")
    }
  }

  func testStepVJPWithTheMSEGradientIsStep() throws {
    let mlp = #"{"kind": "mlp", "input": 3, "hidden": [8], "output": 2, "activation": "tanh"}"#
    try assertStepVJPIsStep(spec: mlp, config: #"{"optimizer": "adamw", "learning_rate": 0.01}"#)
    // Clipping scales the gradient in place before the update: the same in both.
    try assertStepVJPIsStep(
      spec: mlp, config: #"{"optimizer": "sgd", "learning_rate": 0.1, "clip_norm": 0.01}"#)
    // A schedule: stepVJP advances stepsTaken, so the rates stay in step.
    try assertStepVJPIsStep(
      spec: mlp,
      config: #"{"optimizer": "adam", "schedule": "step", "decay_steps": 1, "gamma": 0.5}"#)
  }

  func testStepVJPAddsTheTrainersPenalties() throws {
    // KAN sparsity regularisation: its gradient (through the layers' inputs too) joins dy's.
    try assertStepVJPIsStep(
      spec: #"{"kind": "kan", "widths": [3, 3, 2], "grid": 4}"#,
      config: #"{"optimizer": "adam", "learning_rate": 0.01, "lamb": 0.01}"#)
    // Tri-plane plane smoothness and size.
    try assertStepVJPIsStep(
      spec: #"{"kind": "triplane", "resolution": 5, "channels": 4, "init_std": 0.3, "output": 2}"#,
      config: #"{"optimizer": "adam", "learning_rate": 0.01, "plane_tv": 0.1, "plane_l2": 0.1}"#)
  }

  func testVJPDoesNotDependOnChunks() throws {
    // More rows than one chunk (and, for the tri-plane head, one set of plane sources shared
    // by the chunks): every row's dx equals that row's dx from a one-row call.
    let m = try Model(
      json: #"{"kind": "triplane", "resolution": 8, "channels": 4, "init_std": 0.3, "output": 2}"#)
    let n = m.chunkRows + 37
    let x = rows(n, 3, seed: 3)
    let dy = rows(n, 2, seed: 4)
    var dx = [Float](repeating: .nan, count: n * 3)
    try x.withUnsafeBufferPointer { xb in
      try dy.withUnsafeBufferPointer { db in
        try dx.withUnsafeMutableBufferPointer {
          try m.vjp(xb.baseAddress!, count: n, dy: db.baseAddress!, into: $0.baseAddress!)
        }
      }
    }
    for r in [0, 1, m.chunkRows - 1, m.chunkRows, n - 1] {
      var one = [Float](repeating: .nan, count: 3)
      try x.withUnsafeBufferPointer { xb in
        try dy.withUnsafeBufferPointer { db in
          try one.withUnsafeMutableBufferPointer {
            try m.vjp(
              xb.baseAddress! + 3 * r, count: 1, dy: db.baseAddress! + 2 * r,
              into: $0.baseAddress!)
          }
        }
      }
      for i in 0..<3 {
        XCTAssertEqual(dx[3 * r + i], one[i], accuracy: 1e-6 * max(1, abs(one[i])), "row \(r)")
      }
    }
  }

  func testParameterVJPLeavesTheWeightsAndRefusesWrongCounts() throws {
    let m = try Model(json: #"{"kind": "kan", "widths": [2, 3, 1], "grid": 3}"#)
    let before = m.tensors.map(\.parameter.value)
    let x = rows(5, 2, seed: 5)
    let dy = rows(5, 1, seed: 6)
    var grads = [Float](repeating: 0, count: m.parameterCount)
    try x.withUnsafeBufferPointer { xb in
      try dy.withUnsafeBufferPointer { db in
        try grads.withUnsafeMutableBufferPointer {
          try m.parameterVJP(
            xb.baseAddress!, count: 5, dy: db.baseAddress!, parameterGradients: $0, dx: nil)
        }
      }
    }
    XCTAssertEqual(m.tensors.map(\.parameter.value), before)
    XCTAssertTrue(grads.contains { $0 != 0 })
    // The flat layout is the parameters' gradients, in order.
    XCTAssertEqual(grads, m.parameters.flatMap(\.gradient))
    var short = [Float](repeating: 0, count: m.parameterCount - 1)
    XCTAssertThrowsError(
      try x.withUnsafeBufferPointer { xb in
        try dy.withUnsafeBufferPointer { db in
          try short.withUnsafeMutableBufferPointer {
            try m.parameterVJP(
              xb.baseAddress!, count: 5, dy: db.baseAddress!, parameterGradients: $0, dx: nil)
          }
        }
      }
    ) { XCTAssertEqual(($0 as? LaminaError)?.code, .shape) }
  }
}
