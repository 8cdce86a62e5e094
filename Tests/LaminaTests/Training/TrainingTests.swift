import XCTest

@testable import Lamina

/// Losses, optimizers, schedules and the fit loop.
final class TrainingTests: XCTestCase {
  func loss(_ l: Loss, _ p: [Float], _ t: [Float], rows: Int) -> (Float, [Float]) {
    var g = [Float](repeating: 0, count: p.count)
    let v = p.withUnsafeBufferPointer { pb in
      t.withUnsafeBufferPointer { tb in
        g.withUnsafeMutableBufferPointer {
          l.evaluate(
            pb.baseAddress!, tb.baseAddress!, rows: rows, columns: p.count / rows,
            gradient: $0.baseAddress!)
        }
      }
    }
    return (v, g)
  }

  func testLossValuesMatchAnalyticForms() {
    let p: [Float] = [0.5, -1.0, 2.0, 0.0]
    let t: [Float] = [1.0, 0.0, 0.0, 1.0]
    XCTAssertEqual(loss(.mse, p, t, rows: 2).0, (0.25 + 1 + 4 + 1) / 4, accuracy: 1e-6)
    XCTAssertEqual(loss(.l1, p, t, rows: 2).0, (0.5 + 1 + 2 + 1) / 4, accuracy: 1e-6)
    // Huber, delta 1: 0.5*0.25, 0.5*1 (|d| = 1 is the linear branch: 1*(1-0.5)), 1*(2-0.5), 0.5.
    XCTAssertEqual(
      loss(.huber(delta: 1), p, t, rows: 2).0, (0.125 + 0.5 + 1.5 + 0.5) / 4, accuracy: 1e-6)
    func bce(_ x: Double, _ y: Double) -> Double {
      let s = 1 / (1 + exp(-x))
      return -(y * log(s) + (1 - y) * log(1 - s))
    }
    let expected = (bce(0.5, 1) + bce(-1, 0) + bce(2, 0) + bce(0, 1)) / 4
    XCTAssertEqual(Double(loss(.bceWithLogits, p, t, rows: 2).0), expected, accuracy: 1e-6)
    // Cross-entropy: rows [0.5, -1] -> class 0, [2, 0] -> class 1.
    func ce(_ a: Double, _ b: Double, _ k: Int) -> Double {
      let z = log(exp(a) + exp(b))
      return z - (k == 0 ? a : b)
    }
    XCTAssertEqual(
      Double(loss(.crossEntropy, p, t, rows: 2).0), (ce(0.5, -1, 0) + ce(2, 0, 1)) / 2,
      accuracy: 1e-6)
    // Extreme logits stay finite.
    XCTAssertTrue(loss(.bceWithLogits, [1e30, -1e30], [0, 1], rows: 2).0.isFinite)
    XCTAssertTrue(loss(.crossEntropy, [1e30, -1e30], [0, 1], rows: 1).0.isFinite)
  }

  func testLossGradientsMatchFiniteDifferences() {
    let p: [Float] = [0.3, -1.2, 2.5, 0.1, -0.4, 0.9]
    let t: [Float] = [1, 0, 0, 0, 1, 0]
    for l in [Loss.mse, .l1, .huber(delta: 0.7), .bceWithLogits, .crossEntropy] {
      let (_, g) = loss(l, p, t, rows: 2)
      for i in p.indices {
        var a = p
        var b = p
        a[i] += 1e-3
        b[i] -= 1e-3
        let numeric = (loss(l, a, t, rows: 2).0 - loss(l, b, t, rows: 2).0) / 2e-3
        XCTAssertEqual(g[i], numeric, accuracy: 2e-3, "\(l) element \(i)")
      }
    }
  }

  /// Adam on f(w) = 0.5 w^2 from w = 1, two steps by hand with PyTorch's formulas.
  func testAdamMatchesHandComputation() throws {
    var c = TrainerConfig()
    c.learningRate = 0.1
    let p = Parameter(name: "w", shape: [1], value: [1])
    let opt = Optimizer(config: c, parameters: [p])
    var w = 1.0
    var m = 0.0
    var v = 0.0
    for t in 1...3 {
      p.gradient = [p.value[0]]
      let g = w
      m = 0.9 * m + 0.1 * g
      v = 0.999 * v + 0.001 * g * g
      let mh = m / (1 - pow(0.9, Double(t)))
      let vh = v / (1 - pow(0.999, Double(t)))
      w -= 0.1 * mh / (vh.squareRoot() + 1e-8)
      opt.update([p], learningRate: 0.1)
      XCTAssertEqual(Double(p.value[0]), w, accuracy: 1e-6, "step \(t)")
    }
  }

  func testSGDMomentumNesterovAndWeightDecay() throws {
    var c = TrainerConfig()
    c.optimizer = .sgd
    c.momentum = 0.9
    c.nesterov = true
    c.weightDecay = 0.1
    let p = Parameter(name: "w", shape: [1], value: [1])
    let opt = Optimizer(config: c, parameters: [p])
    var w = 1.0
    var buf = 0.0
    for t in 1...3 {
      p.gradient = [2 * p.value[0]]
      let g = 2 * w + 0.1 * w
      buf = t == 1 ? g : 0.9 * buf + g
      w -= 0.05 * (g + 0.9 * buf)
      opt.update([p], learningRate: 0.05)
      XCTAssertEqual(Double(p.value[0]), w, accuracy: 1e-6)
    }
  }

  func testAdamWDecouplesWeightDecay() {
    var c = TrainerConfig()
    c.optimizer = .adamw
    c.weightDecay = 0.5
    let p = Parameter(name: "w", shape: [1], value: [2])
    let opt = Optimizer(config: c, parameters: [p])
    p.gradient = [0]
    opt.update([p], learningRate: 0.1)
    // Zero gradient: only the decay acts, w * (1 - lr * wd).
    XCTAssertEqual(p.value[0], 2 * (1 - 0.05), accuracy: 1e-6)
  }

  func testSchedules() throws {
    var c = TrainerConfig()
    c.learningRate = 1
    c.schedule = .step
    c.decaySteps = 10
    c.gamma = 0.5
    XCTAssertEqual(c.learningRate(step: 9, horizon: 100), 1)
    XCTAssertEqual(c.learningRate(step: 10, horizon: 100), 0.5)
    XCTAssertEqual(c.learningRate(step: 25, horizon: 100), 0.25)
    c.schedule = .exponential
    c.gamma = 0.9
    XCTAssertEqual(c.learningRate(step: 2, horizon: 100), 0.81, accuracy: 1e-6)
    c.schedule = .cosine
    c.decaySteps = 0
    c.minLearningRate = 0.1
    c.warmupSteps = 10
    XCTAssertEqual(c.learningRate(step: 0, horizon: 110), 0.1, accuracy: 1e-6)
    XCTAssertEqual(c.learningRate(step: 9, horizon: 110), 1, accuracy: 1e-6)
    XCTAssertEqual(c.learningRate(step: 60, horizon: 110), 0.55, accuracy: 1e-6)
    XCTAssertEqual(c.learningRate(step: 110, horizon: 110), 0.1, accuracy: 1e-6)
  }

  func testConfigParsingAndErrors() throws {
    let c = try TrainerConfig(
      json: JSONValue.parse(#"{"optimizer": "adamw", "loss": "huber", "huber_delta": 0.5}"#))
    XCTAssertEqual(c.optimizer, .adamw)
    XCTAssertEqual(c.weightDecay, 0.01)
    XCTAssertEqual(c.loss, .huber(delta: 0.5))
    XCTAssertEqual(try TrainerConfig(json: c.json), c)
    for bad in [
      #"{"optimizer": "rmsprop"}"#, #"{"learning_rate": -1}"#, #"{"batch_size": 0}"#,
      #"{"validation_split": 1.5}"#, #"{"lr": 0.1}"#, #"{"schedule": "step"}"#,
      #"{"nesterov": true}"#, #"{"epochs": 0}"#,
    ] {
      XCTAssertThrowsError(try TrainerConfig(json: JSONValue.parse(bad)), bad) {
        XCTAssertEqual(($0 as? LaminaError)?.code, .invalidArgument)
      }
    }
  }

  /// Data for y = 3 x0 - 2 x1 + 1.
  func linearData(_ n: Int) -> ([Float], [Float]) {
    var rng = RandomSource(seed: 11)
    var x: [Float] = []
    var y: [Float] = []
    for _ in 0..<n {
      let a = Float(rng.uniform(-1, 1))
      let b = Float(rng.uniform(-1, 1))
      x += [a, b]
      y.append(3 * a - 2 * b + 1)
    }
    return (x, y)
  }

  func testFitLearnsLinearFunction() throws {
    let m = try Model(json: #"{"kind": "mlp", "input": 2, "output": 1}"#)
    let t = try Trainer(model: m, json: #"{"learning_rate": 0.05, "epochs": 60, "batch_size": 32}"#)
    let (x, y) = linearData(512)
    let final = try t.fit(x, y, count: 512)
    XCTAssertLessThan(final, 1e-4)
    let w = m.tensor(named: "0.weight")!.value
    XCTAssertEqual(w[0], 3, accuracy: 0.02)
    XCTAssertEqual(w[1], -2, accuracy: 0.02)
    XCTAssertEqual(m.tensor(named: "0.bias")!.value[0], 1, accuracy: 0.02)
  }

  func testFitIsDeterministic() throws {
    func run() throws -> [Float] {
      let m = try Model(
        json: #"{"kind": "mlp", "input": 2, "hidden": [8], "output": 1, "activation": "tanh"}"#)
      let t = try Trainer(model: m, json: #"{"epochs": 3, "batch_size": 16, "seed": 4}"#)
      let (x, y) = linearData(100)
      try t.fit(x, y, count: 100)
      return m.parameters.flatMap(\.value)
    }
    XCTAssertEqual(try run(), try run())
  }

  func testEarlyStoppingAndProgress() throws {
    let m = try Model(json: #"{"kind": "mlp", "input": 2, "output": 1}"#)
    let t = try Trainer(
      model: m,
      json: #"{"learning_rate": 0, "epochs": 50, "validation_split": 0.25, "patience": 3}"#)
    let (x, y) = linearData(64)
    var calls: [TrainingProgress] = []
    try t.fit(x, y, count: 64) {
      calls.append($0)
      return true
    }
    // lr 0: no epoch improves on the first, so training stops after 1 + patience epochs.
    XCTAssertEqual(calls.count, 4)
    XCTAssertEqual(calls.last?.epoch, 4)
    XCTAssertEqual(calls.last?.epochs, 50)
    XCTAssertFalse(calls[0].validationLoss.isNaN)
  }

  /// restore_best leaves the weights of the best validation epoch, bit for bit as the
  /// progress callback saw them then. The held-out rows (the last 16) want y = x, the
  /// training rows y = 2x: from w = 0 the validation loss falls while w < 1 and rises after,
  /// so the best epoch is not the last (checked: the test guards its own premise).
  func testRestoreBestWeights() throws {
    let m = try Model(json: #"{"kind": "mlp", "input": 1, "output": 1}"#)
    for p in m.parameters { p.value = [Float](repeating: 0, count: p.count) }
    let t = try Trainer(
      model: m,
      json:
        #"{"optimizer": "sgd", "learning_rate": 0.05, "epochs": 10, "validation_split": 0.25, "batch_size": 8}"#
    )
    var rng = RandomSource(seed: 0)
    let x = (0..<64).map { _ in Float(rng.uniform(-1, 1)) }
    let y = x.enumerated().map { $0.offset < 48 ? 2 * $0.element : $0.element }
    var vals: [Float] = []
    var seen: [[[Float]]] = []
    try t.fit(x, y, count: 64) {
      vals.append($0.validationLoss)
      seen.append(m.parameters.map(\.value))
      return true
    }
    XCTAssertEqual(vals.count, 10)
    let best = vals.indices.min { vals[$0] < vals[$1] }!
    XCTAssertTrue(best > 0 && best < 9, "best epoch \(best + 1): \(vals)")
    XCTAssertGreaterThan(
      vals.last!, 4 * vals[best], "validation loss must rise after its best epoch")
    let restored = m.parameters.map(\.value)
    XCTAssertEqual(restored.map { $0.map(\.bitPattern) }, seen[best].map { $0.map(\.bitPattern) })
    XCTAssertNotEqual(restored, seen.last!)
    let after = try t.evaluate(Array(x[48...]), Array(y[48...]), count: 16)
    XCTAssertEqual(after, vals[best], accuracy: 1e-6)
  }

  /// With lbfgs, restoring the best weights also clears the curvature memory (it describes
  /// the path to the last weights): the header's promise.
  func testRestoreBestClearsLBFGSMemory() throws {
    let m = try Model(json: #"{"kind": "mlp", "input": 1, "hidden": [4], "output": 1, "seed": 3}"#)
    let t = try Trainer(
      model: m,
      json:
        #"{"optimizer": "lbfgs", "max_iter": 4, "epochs": 6, "validation_split": 0.25, "batch_size": 64}"#
    )
    var rng = RandomSource(seed: 0)
    let x = (0..<64).map { _ in Float(rng.uniform(-1, 1)) }
    let y = x.enumerated().map { $0.offset < 48 ? 2 * $0.element : -$0.element }
    var memory: [Int] = []
    try t.fit(x, y, count: 64) { _ in
      memory.append(t.lbfgs!.dirs.count)
      return true
    }
    XCTAssertGreaterThan(memory.max() ?? 0, 0, "the fit must have built a memory")
    XCTAssertEqual(t.lbfgs!.dirs.count, 0)
    XCTAssertEqual(t.lbfgs!.iterations, 0)
  }

  func testCancelKeepsAValidModel() throws {
    let m = try Model(json: #"{"kind": "mlp", "input": 2, "hidden": [4], "output": 1}"#)
    let t = try Trainer(model: m, json: #"{"epochs": 10}"#)
    let (x, y) = linearData(64)
    var calls = 0
    XCTAssertThrowsError(
      try t.fit(x, y, count: 64) { _ in
        calls += 1
        return calls < 2
      }
    ) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .cancelled)
    }
    XCTAssertEqual(calls, 2)
    XCTAssertTrue(try m.predict([0.1, 0.2]).allSatisfy(\.isFinite))
  }

  func testDivergenceLeavesWeightsUntouched() throws {
    let m = try Model(json: #"{"kind": "mlp", "input": 1, "output": 1}"#)
    let t = try Trainer(model: m, json: #"{"optimizer": "sgd"}"#)
    let before = m.parameters.map(\.value)
    XCTAssertThrowsError(try t.step([3e19], [0], count: 1)) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .numeric)
    }
    XCTAssertEqual(m.parameters.map(\.value), before)
    XCTAssertThrowsError(try t.step([1], [.nan], count: 1)) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .numeric)
    }
  }

  /// A divergence inside `fit` names the step, and the weights are those the progress
  /// callback saw after the step before it.
  func testFitDivergenceNamesTheStepAndKeepsTheLastFiniteWeights() throws {
    let m = try Model(
      json: #"{"kind": "mlp", "input": 2, "hidden": [16], "output": 1, "activation": "relu"}"#)
    let t = try Trainer(
      model: m,
      json:
        #"{"optimizer": "sgd", "learning_rate": 10, "warmup_steps": 20, "batch_size": 32, "epochs": 20, "progress_every": 1}"#
    )
    var rng = RandomSource(seed: 0)
    var x: [Float] = []
    var y: [Float] = []
    for _ in 0..<256 {
      let (a, b) = (Float(rng.uniform(-1, 1)), Float(rng.uniform(-1, 1)))
      x += [a, b]
      y.append(sin(3 * a) * b)
    }
    var seen: (step: Int, weights: [[Float]]) = (0, [])
    XCTAssertThrowsError(
      try t.fit(x, y, count: 256) { info in
        seen = (info.step, m.parameters.map(\.value))
        return true
      }
    ) {
      let e = $0 as? LaminaError
      XCTAssertEqual(e?.code, .numeric)
      XCTAssertTrue(
        e?.message.hasPrefix("training diverged at step \(seen.step + 1) of 160 (epoch ") ?? false,
        e?.message ?? "\($0)")
    }
    XCTAssertGreaterThan(seen.step, 8)
    XCTAssertEqual(m.parameters.map(\.value), seen.weights)
    XCTAssertTrue(m.parameters.allSatisfy { $0.value.allSatisfy(\.isFinite) })
  }

  /// Decay with lr * weight_decay > 2 grows a weight the loss need not see until it
  /// overflows: the step is undone, weights and optimizer state, and reported.
  func testAnUpdateThatOverflowsIsUndone() {
    let start: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 1e31]
    for kind in [OptimizerKind.sgd, .adamw] {
      var c = TrainerConfig()
      c.optimizer = kind
      c.weightDecay = 1000
      let p = Parameter(name: "w", shape: [9], value: start)
      let opt = Optimizer(config: c, parameters: [p])
      XCTAssertFalse(opt.mayOverflow(learningRate: 1e-3))
      XCTAssertTrue(opt.mayOverflow(learningRate: 1))
      p.gradient = [Float](repeating: 0.5, count: 9)
      XCTAssertTrue(opt.checkedUpdate([p], learningRate: 1e-4))  // decay 0.9: finite
      XCTAssertTrue(p.value.allSatisfy(\.isFinite), "\(kind)")
      let before = Array(p.value)
      XCTAssertFalse(opt.checkedUpdate([p], learningRate: 1e6))  // x (1 - 1e9): overflows
      XCTAssertEqual(p.value, before, "\(kind)")
      // The state was restored too: the same finite update as before gives the same values.
      let copy = Parameter(name: "w", shape: [9], value: start)
      let fresh = Optimizer(config: c, parameters: [copy])
      copy.gradient = p.gradient
      XCTAssertTrue(fresh.checkedUpdate([copy], learningRate: 1e-4))
      XCTAssertTrue(fresh.checkedUpdate([copy], learningRate: 1e-4))
      XCTAssertTrue(opt.checkedUpdate([p], learningRate: 1e-4))
      XCTAssertEqual(p.value, copy.value, "\(kind)")
      XCTAssertTrue(p.value.allSatisfy(\.isFinite), "\(kind)")
    }
    XCTAssertTrue(
      [Float](arrayLiteral: 1, -2, 3e38).withUnsafeBufferPointer { Optimizer.allFinite($0) })
    for bad: Float in [.nan, .infinity, -.infinity] {
      let values: [Float] = [0, 1, 2, 3, 4, 5, 6, 7, 8, bad]
      XCTAssertFalse(values.withUnsafeBufferPointer { Optimizer.allFinite($0) })
      XCTAssertFalse(Array(values.reversed()).withUnsafeBufferPointer { Optimizer.allFinite($0) })
    }
  }

  func testGradientClippingBoundsTheStep() throws {
    let m = try Model(
      json: #"{"kind": "mlp", "input": 1, "output": 1, "init": "zeros", "bias_init": "zeros"}"#)
    let t = try Trainer(
      model: m, json: #"{"optimizer": "sgd", "learning_rate": 1, "clip_norm": 0.5}"#)
    try t.step([1], [100], count: 1)
    let w = m.tensor(named: "0.weight")!.value[0]
    let b = m.tensor(named: "0.bias")!.value[0]
    XCTAssertEqual((w * w + b * b).squareRoot(), 0.5, accuracy: 1e-4)
  }

  func testCrossEntropyTrainsAClassifier() throws {
    let m = try Model(
      json: #"{"kind": "mlp", "input": 2, "hidden": [16], "output": 3, "activation": "relu"}"#)
    let t = try Trainer(
      model: m,
      json: #"{"loss": "cross_entropy", "learning_rate": 0.02, "epochs": 60, "batch_size": 32}"#)
    var rng = RandomSource(seed: 2)
    var x: [Float] = []
    var y: [Float] = []
    var labels: [Int] = []
    for _ in 0..<300 {
      let k = rng.index(below: 3)
      let angle = Double(k) * 2.1
      x += [Float(cos(angle) + 0.2 * rng.normal()), Float(sin(angle) + 0.2 * rng.normal())]
      y += (0..<3).map { $0 == k ? 1 : 0 }
      labels.append(k)
    }
    try t.fit(x, y, count: 300)
    let p = try m.predict(x)
    var correct = 0
    for i in 0..<300 {
      let row = p[(i * 3)..<(i * 3 + 3)]
      if row.firstIndex(of: row.max()!)! - i * 3 == labels[i] { correct += 1 }
    }
    XCTAssertGreaterThan(correct, 285)
  }
}
