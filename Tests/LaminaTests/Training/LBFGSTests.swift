import XCTest

@testable import Lamina

/// L-BFGS: config keys, exactness on a quadratic, agreement with torch.optim.LBFGS, failure
/// handling and determinism.
final class LBFGSTests: XCTestCase {
  private func config(_ json: String) throws -> TrainerConfig {
    try TrainerConfig(json: JSONValue.parse(json))
  }

  private func expectInvalid(
    _ json: String, mentions key: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertThrowsError(try config(json), json, file: file, line: line) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .invalidArgument, json, file: file, line: line)
      XCTAssertTrue("\($0)".contains(key), "\(json): \($0)", file: file, line: line)
    }
  }

  // MARK: - Config

  func testConfigDefaultsAndFullForm() throws {
    let c = try config(#"{"optimizer": "lbfgs"}"#)
    XCTAssertEqual(c.optimizer, .lbfgs)
    XCTAssertEqual(c.learningRate, 1, "lbfgs defaults to PyTorch's lr = 1")
    XCTAssertEqual(c.maxIter, 20)
    XCTAssertEqual(c.historySize, 10)
    XCTAssertEqual(c.toleranceGrad, 1e-7)
    XCTAssertEqual(c.toleranceChange, 1e-9)
    XCTAssertEqual(c.lineSearch, .strongWolfe)
    XCTAssertEqual(c.weightDecay, 0)
    XCTAssertEqual(try TrainerConfig(json: c.json), c, "the full form parses to the same config")
    let text = c.json.text
    for key in [
      "\"max_iter\"", "\"history_size\"", "\"tolerance_grad\"", "\"tolerance_change\"",
      "\"line_search\"",
    ] {
      XCTAssertTrue(text.contains(key), "full form lacks \(key): \(text)")
    }

    let d = try config(
      #"{"optimizer": "lbfgs", "learning_rate": 0.25, "max_iter": 5, "history_size": 3, "tolerance_grad": 1e-32, "tolerance_change": 0, "line_search": "none"}"#
    )
    XCTAssertEqual(d.learningRate, 0.25)
    XCTAssertEqual(d.maxIter, 5)
    XCTAssertEqual(d.historySize, 3)
    XCTAssertEqual(d.toleranceGrad, 1e-32)
    XCTAssertEqual(d.toleranceChange, 0)
    XCTAssertEqual(d.lineSearch, LineSearch.none)
    XCTAssertEqual(try TrainerConfig(json: d.json), d)

    // Other optimizers keep their default learning rate and accept (and ignore) the keys.
    let a = try config(#"{"max_iter": 3, "line_search": "none"}"#)
    XCTAssertEqual(a.optimizer, .adam)
    XCTAssertEqual(a.learningRate, 1e-3)
    XCTAssertEqual(a.maxIter, 3)
  }

  func testConfigErrors() {
    expectInvalid(#"{"optimizer": "lbfgs", "weight_decay": 0.01}"#, mentions: "weight_decay")
    expectInvalid(#"{"optimizer": "lbfgs", "clip_norm": 1}"#, mentions: "clip_norm")
    expectInvalid(#"{"optimizer": "lbfgs", "line_search": "armijo"}"#, mentions: "line_search")
    expectInvalid(
      #"{"optimizer": "lbfgs", "line_search": null, "max_iter": 0}"#, mentions: "max_iter")
    expectInvalid(#"{"optimizer": "lbfgs", "line_search": 1}"#, mentions: "line_search")
    expectInvalid(#"{"optimizer": "lbfgs", "max_iter": 2.5}"#, mentions: "max_iter")
    expectInvalid(#"{"optimizer": "lbfgs", "history_size": 0}"#, mentions: "history_size")
    expectInvalid(#"{"optimizer": "lbfgs", "tolerance_grad": -1}"#, mentions: "tolerance_grad")
    expectInvalid(
      #"{"optimizer": "lbfgs", "tolerance_change": "small"}"#, mentions: "tolerance_change")
    expectInvalid(#"{"optimizer": "lbfgs", "learning_rate": -1}"#, mentions: "learning_rate")
    expectInvalid(#"{"optimizer": "LBFGS"}"#, mentions: "lbfgs")
    expectInvalid(#"{"optimizer": "lbfgs", "max_eval": 10}"#, mentions: "max_eval")
    expectInvalid(#"{"optimizer": "lbfgs", "nesterov": true}"#, mentions: "nesterov")
  }

  // MARK: - A convex quadratic

  /// MSE of a linear model is a convex quadratic: L-BFGS with the strong-Wolfe search must
  /// land on the least-squares solution, which the normal equations give in double.
  func testLeastSquaresReachesTheNormalEquationsSolution() throws {
    let n = 64
    var rng = RandomSource(seed: 5)
    var x: [Float] = []
    var y: [Float] = []
    for _ in 0..<n {
      let a = Float(rng.uniform(-1, 1))
      let b = Float(rng.uniform(-2, 2))
      let c = Float(rng.uniform(0, 1))
      x += [a, b, c]
      y.append(1.5 * a - 0.5 * b + 2 * c + 0.3 + Float(rng.normal()) * 0.1)
    }
    // Normal equations for [w; bias]: (A^T A) theta = A^T y with A = [x 1].
    var ata = [[Double]](repeating: [Double](repeating: 0, count: 5), count: 4)
    for r in 0..<n {
      let row = [Double(x[3 * r]), Double(x[3 * r + 1]), Double(x[3 * r + 2]), 1]
      for i in 0..<4 {
        for j in 0..<4 { ata[i][j] += row[i] * row[j] }
        ata[i][4] += row[i] * Double(y[r])
      }
    }
    for col in 0..<4 {  // Gauss-Jordan; A^T A is symmetric positive definite
      let pivot = ata[col][col]
      for j in col..<5 { ata[col][j] /= pivot }
      for i in 0..<4 where i != col {
        let f = ata[i][col]
        for j in col..<5 { ata[i][j] -= f * ata[col][j] }
      }
    }
    let exact = (0..<4).map { ata[$0][4] }

    let model = try Model(json: #"{"kind": "mlp", "input": 3, "output": 1, "seed": 2}"#)
    let trainer = try Trainer(model: model, json: #"{"optimizer": "lbfgs"}"#)
    let initial = try trainer.evaluate(x, y, count: n)
    var losses: [Float] = []
    for _ in 0..<3 { losses.append(try trainer.step(x, y, count: n)) }
    let w = model.tensor(named: "0.weight")!.value + model.tensor(named: "0.bias")!.value
    for i in 0..<4 {
      XCTAssertEqual(Double(w[i]), exact[i], accuracy: 1e-5, "theta[\(i)]")
    }
    XCTAssertEqual(losses[0], initial)
    // One step (up to 20 iterations) already solves a 4-parameter quadratic.
    XCTAssertEqual(losses[1], losses[2], accuracy: 1e-7)
    let lbfgs = try XCTUnwrap(trainer.lbfgs)
    XCTAssertLessThan(lbfgs.iterations, 20, "stopped by its tolerances, not by max_iter")
  }

  // MARK: - PyTorch parity

  /// Runs 5 L-BFGS steps on the reference MLP and data, logging every closure call.
  private func runReference(_ json: String) throws -> (
    evaluations: [Float], marks: [Int], stepLosses: [Float], finalLoss: Float,
    afterFirst: [Float], afterLast: [Float], iterations: Int, functionEvaluations: Int
  ) {
    let model = try Model(
      json: #"{"kind": "mlp", "input": 2, "hidden": [8], "output": 1, "activation": "tanh"}"#)
    var offset = 0
    for p in model.parameters {
      p.value = Array(TorchLBFGSReference.initialWeights[offset..<offset + p.count])
      offset += p.count
    }
    XCTAssertEqual(offset, TorchLBFGSReference.initialWeights.count)
    let trainer = try Trainer(model: model, json: json)
    let lbfgs = try XCTUnwrap(trainer.lbfgs)
    let x = TorchLBFGSReference.x
    let y = TorchLBFGSReference.y
    var log: [Float] = []
    var marks: [Int] = []
    var stepLosses: [Float] = []
    var afterFirst: [Float] = []
    try x.withUnsafeBufferPointer { xb in
      try y.withUnsafeBufferPointer { yb in
        for k in 0..<5 {
          // The same closure Trainer.step gives L-BFGS, with a log around it.
          let loss = try lbfgs.step(learningRate: trainer.config.learningRate) {
            let l = try trainer.lossAndGradient(xb.baseAddress!, yb.baseAddress!, 24).loss
            log.append(l)
            return l
          }
          stepLosses.append(loss)
          marks.append(log.count)
          if k == 0 { afterFirst = model.parameters.flatMap(\.value) }
        }
      }
    }
    let finalLoss = try trainer.evaluate(x, y, count: 24)
    return (
      log, marks, stepLosses, finalLoss, afterFirst, model.parameters.flatMap(\.value),
      lbfgs.iterations, lbfgs.evaluations
    )
  }

  private func maxRelative(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
    zip(a, b).map { abs($0 - $1) / abs($1) }.max() ?? 0
  }

  private func maxAbsolute(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
  }

  /// Checks a run against PyTorch's. Float32 rounding alone (PyTorch float32 against float64,
  /// same start) moves this non-convex trajectory by ~1e-6 over the first ~30 closure calls
  /// and then by percents (1-4% per step loss with strong Wolfe, up to 14% without line
  /// search; weights by 0.02-0.05 after 5 steps): 100 L-BFGS iterations amplify rounding.
  /// So every closure loss while float32 and float64 PyTorch still agree, the call counts of
  /// those steps and the weights after step 1 must match to 1e-4; the later steps only to
  /// the size of that rounding drift (measured for Lamina: 2-12% per step loss, 0.05 weights).
  private func check(
    _ run: (
      evaluations: [Float], marks: [Int], stepLosses: [Float], finalLoss: Float,
      afterFirst: [Float], afterLast: [Float], iterations: Int, functionEvaluations: Int
    ), against ref: TorchLBFGSReference.Case, exactSteps: Int, file: StaticString = #filePath,
    line: UInt = #line
  ) {
    XCTAssertGreaterThanOrEqual(
      run.evaluations.count, ref.evaluations.count, file: file, line: line)
    for (k, (mine, theirs)) in zip(run.evaluations, ref.evaluations).enumerated() {
      XCTAssertEqual(
        mine, theirs, accuracy: 1e-4 * theirs, "closure call \(k)", file: file, line: line)
    }
    XCTAssertEqual(
      Array(run.marks.prefix(exactSteps)), Array(ref.marks.prefix(exactSteps)), file: file,
      line: line)
    XCTAssertEqual(run.iterations, ref.iterations, file: file, line: line)
    XCTAssertEqual(run.functionEvaluations, run.evaluations.count, file: file, line: line)
    XCTAssertEqual(
      Double(run.functionEvaluations), Double(ref.functionEvaluations), accuracy: 5, file: file,
      line: line)
    for (k, (mine, theirs)) in zip(run.stepLosses, ref.stepLosses).enumerated() {
      let tolerance: Float = k <= exactSteps - 1 ? 1e-4 : 0.25
      XCTAssertEqual(
        mine, theirs, accuracy: tolerance * theirs, "loss returned by step \(k + 1)", file: file,
        line: line)
    }
    XCTAssertEqual(
      run.finalLoss, ref.finalLoss, accuracy: 0.25 * ref.finalLoss, file: file, line: line)
    for (i, (mine, theirs)) in zip(run.afterFirst, ref.afterFirstStep).enumerated() {
      XCTAssertEqual(
        mine, theirs, accuracy: 1e-4 * max(1, abs(theirs)), "weight \(i) after step 1", file: file,
        line: line)
    }
    for (i, (mine, theirs)) in zip(run.afterLast, ref.afterLastStep).enumerated() {
      XCTAssertEqual(
        mine, theirs, accuracy: 0.15, "weight \(i) after step 5", file: file, line: line)
    }
  }

  /// torch.optim.LBFGS(lr=1, max_iter=20, history_size=10, line_search_fn="strong_wolfe").
  func testStrongWolfeMatchesTorch() throws {
    let run = try runReference(#"{"optimizer": "lbfgs", "max_iter": 20, "history_size": 10}"#)
    // Step 1 makes 22 closure calls and step 2 25 (its max_eval): bracketing and zoom
    // decisions match, call for call.
    check(run, against: TorchLBFGSReference.strongWolfe, exactSteps: 2)
  }

  /// torch.optim.LBFGS(lr=0.5, max_iter=20, history_size=10, line_search_fn=None).
  func testNoLineSearchMatchesTorch() throws {
    let run = try runReference(
      #"{"optimizer": "lbfgs", "learning_rate": 0.5, "line_search": "none"}"#)
    check(run, against: TorchLBFGSReference.noLineSearch, exactSteps: 2)
  }

  /// Every branch of the strong-Wolfe search against PyTorch's `_strong_wolfe` on
  /// phi(w) = a sin(b w + c) + q (w - m)^2 (Tests/Reference/lbfgs_line_search_reference.py):
  /// the same trial points, chosen step, loss and number of evaluations.
  func testLineSearchBranchesMatchTorch() throws {
    typealias Case = (
      name: String, phi: [Double], w0: Float, t0: Double, maxSearch: Int, trials: [Float],
      t: Double, f: Double, evaluations: Int
    )
    let cases: [Case] = [
      (
        "zoom",
        [
          1.7199593327450866, 4.668749216171664, -0.47657051501493, 0.2663275827900337,
          0.0676483282116509,
        ], -0.570395172, 2.245927677177968, 25,
        [18.2277946, 2.57768178, 0.841295123], 0.168662727, -0.364682198, 3
      ),
      (
        "extrapolate",
        [
          1.289907506398452, 1.5702502562528253, 2.8241514795260994, 0.7209321931947484,
          -0.12459807646677623,
        ], 1.36293137, 0.015249467811112279, 25,
        [1.32252538, 0.958871365], 0.152494678, -0.350351632, 2
      ),
      (
        "slope",
        [
          0.7448071891494428, 5.095578546128153, -1.2046469711636778, 0.11756490110163631,
          0.3649799335892894,
        ], -0.112966217, 0.10262227392558489, 25,
        [-0.0204423387, -0.0666072369], 0.0514187701, -0.722642243, 2
      ),
      (
        "insufficient",
        [
          0.39630412267598664, 3.5319698534980315, 1.239368459201338, 0.5519665022151395,
          1.8868011797480158,
        ], 0.241701648, 7.789608625946786, 25,
        [19.8272495, 2.17155027], 0.767543793, 0.240141332, 2
      ),
      (
        "moved",
        [
          1.2329704594847886, 4.232142462341475, 1.8306599341928225, 0.7602679184387687,
          2.9431953762333736,
        ], 1.48179233, 5.216055095483237, 25,
        [19.7491722, 3.10069633, 4.76554394, 3.38263535, 3.57464552], 0.597591817, -0.867358565, 5
      ),
      (
        "swap",
        [
          1.6190121535462567, 3.627315157948491, -0.34866678152168484, 0.34793269746073663,
          -2.944093557509409,
        ], 1.32974851, 5.366833078805082, 25,
        [-7.21179438, -3.10327268, -4.2375927, -3.84241772, -3.7865572], 3.21468377, -1.36975527, 5
      ),
      (
        "budget",
        [
          1.0454334019556493, 2.5332100702248543, -0.4875556908001135, 0.9143578087534933,
          0.8778290199819816,
        ], -1.98043668, 0.01293546192283234, 3,
        [-1.9372071, -1.74245751, -0.670577645, -0.223880112], 0.525608659, 0.200550258, 4
      ),
    ]
    for c in cases {
      let (a, b, cc, q, m) = (
        Float(c.phi[0]), Float(c.phi[1]), Float(c.phi[2]), Float(c.phi[3]), Float(c.phi[4])
      )
      let w = Parameter(name: "w", shape: [1], value: [c.w0])
      var trials: [Float] = []
      let evaluate = { () -> Float in
        let v = w.value[0]
        w.gradient[0] = a * b * cos(b * v + cc) + 2 * q * (v - m)
        trials.append(v)
        return a * sin(b * v + cc) + q * (v - m) * (v - m)
      }
      let f0 = evaluate()
      trials.removeAll()
      let g0 = w.gradient
      let lbfgs = LBFGS(config: TrainerConfig(), parameters: [w])
      let found = try lbfgs.searchLine(
        along: [-g0[0]], f: Double(f0), gradient: g0, t: c.t0, maxSearch: c.maxSearch,
        evaluate: evaluate)
      XCTAssertEqual(trials.count, c.trials.count, c.name)
      for (mine, theirs) in zip(trials, c.trials) {
        XCTAssertEqual(mine, theirs, accuracy: 1e-5 * max(1, abs(theirs)), c.name)
      }
      XCTAssertEqual(found.evaluations, c.evaluations, c.name)
      XCTAssertEqual(found.t, c.t, accuracy: 1e-5 * c.t, c.name)
      XCTAssertEqual(found.loss, c.f, accuracy: 1e-5 * max(1, abs(c.f)), c.name)
      XCTAssertEqual(w.value, [c.w0], "\(c.name): the search leaves the weights where they were")
      // The gradient returned is the one at the chosen step.
      let chosen = c.w0 + Float(found.t) * -g0[0]
      XCTAssertEqual(
        found.gradient[0], a * b * cos(b * chosen + cc) + 2 * q * (chosen - m), accuracy: 1e-4,
        c.name)
    }
  }

  /// Trial points whose evaluation throws .numeric (as the trainer's does for a non-finite
  /// loss or gradient) are infinite losses: the search bisects back from them to a finite
  /// point satisfying the strong Wolfe conditions, never choosing one, and leaves the
  /// weights where they were; a .numeric error of another kind of closure is no different,
  /// and other errors still end the search.
  func testOverflowingTrialPointsAreBackedOffFrom() throws {
    // f(w) = (w - 3)^2 from w = 0 along d = -f'(0) = 6, first trial t = 10 (w = 60); every
    // w > 5 "overflows". Trials: 60, 30, 15, 7.5 (all thrown), then 3.75: f = 0.5625 and
    // |f'| = 1.5 x 6 = 9 <= 0.9 x 36, strong Wolfe.
    let w = Parameter(name: "w", shape: [1], value: [0])
    var trials: [Float] = []
    let evaluate = { () throws -> Float in
      let v = w.value[0]
      trials.append(v)
      if v > 5 { throw LaminaError.numeric("overflow at \(v)") }
      w.gradient[0] = 2 * (v - 3)
      return (v - 3) * (v - 3)
    }
    let lbfgs = LBFGS(config: TrainerConfig(), parameters: [w])
    let found = try lbfgs.searchLine(
      along: [6], f: 9, gradient: [-6], t: 10, maxSearch: 25, evaluate: evaluate)
    XCTAssertEqual(trials, [60, 30, 15, 7.5, 3.75])
    XCTAssertEqual(found.evaluations, 5)
    XCTAssertEqual(found.t, 0.625)
    XCTAssertEqual(found.loss, 0.5625)
    XCTAssertEqual(found.gradient, [1.5])
    XCTAssertEqual(w.value, [0], "the search leaves the weights where they were")
    // Every trial overflowing within the budget: the search ends at t = 0 (no move), with
    // the starting loss and gradient.
    trials.removeAll()
    let none = try lbfgs.searchLine(
      along: [6], f: 9, gradient: [-6], t: 10, maxSearch: 2, evaluate: evaluate)
    XCTAssertEqual(trials, [60, 30, 15])
    XCTAssertEqual(none.t, 0)
    XCTAssertEqual(none.loss, 9)
    XCTAssertEqual(none.gradient, [-6])
    XCTAssertEqual(w.value, [0])
    // Another error is not a loss: it ends the search.
    XCTAssertThrowsError(
      try lbfgs.searchLine(
        along: [6], f: 9, gradient: [-6], t: 10, maxSearch: 25,
        evaluate: { throw LaminaError.invalid("no") })
    ) { XCTAssertEqual(($0 as? LaminaError)?.code, .invalidArgument) }
  }

  /// Whole steps on a model whose loss or gradient overflows float32 far along the
  /// direction (a linear model on inputs of 1e9, moves of lr = 1e6 in L1): each completes
  /// at finite weights, the loss never rising.
  func testStepRecoversFromAnOverflowingTrialPoint() throws {
    let model = try Model(json: #"{"kind": "mlp", "input": 1, "output": 1, "seed": 5}"#)
    let trainer = try Trainer(
      model: model, json: #"{"optimizer": "lbfgs", "learning_rate": 1e6, "max_iter": 20}"#)
    let x: [Float] = [1e9, -2e9]
    let y: [Float] = [1, 2]
    let start = try trainer.evaluate(x, y, count: 2)
    var last = start
    for _ in 0..<3 {
      _ = try trainer.step(x, y, count: 2)
      XCTAssertTrue(model.parameters.allSatisfy { $0.value.allSatisfy(\.isFinite) })
      let now = try trainer.evaluate(x, y, count: 2)
      XCTAssertLessThanOrEqual(now, last)
      last = now
    }
    XCTAssertLessThan(last, start)
  }

  func testCubicInterpolationMatchesTorch() {
    // Values from torch.optim.lbfgs._cubic_interpolate on float64 tensors.
    XCTAssertEqual(LBFGS.cubicInterpolate(0, 1, -2, 1, 0.5, 1), 0.6666666666666667, accuracy: 1e-15)
    XCTAssertEqual(LBFGS.cubicInterpolate(1, 0.5, 1, 0, 1, -2), 0.6666666666666667, accuracy: 1e-15)
    XCTAssertEqual(
      LBFGS.cubicInterpolate(0, 1, -1, 1, 0, -0.5, bounds: (1.01, 10)), 1.2152504370215302,
      accuracy: 1e-15)
    XCTAssertEqual(LBFGS.cubicInterpolate(0, 0, 1, 2, 0, 1), 1.5773502691896257, accuracy: 1e-15)
    // No real minimum (d1^2 < g1 g2): the midpoint, as in PyTorch.
    XCTAssertEqual(LBFGS.cubicInterpolate(0, 0, 2, 1, 4.0 / 3, 2), 0.5)
    // Coincident points: PyTorch divides by zero; Lamina bisects the bounds.
    XCTAssertEqual(LBFGS.cubicInterpolate(1, 0, -1, 1, 0, 1, bounds: (1, 3)), 2)
    // An end that overflowed (+inf loss, NaN slope): bisection, either way round.
    XCTAssertEqual(LBFGS.cubicInterpolate(0, 1, -2, 4, .infinity, .nan), 2)
    XCTAssertEqual(LBFGS.cubicInterpolate(4, .infinity, .nan, 0, 1, -2), 2)
    XCTAssertEqual(LBFGS.cubicInterpolate(0, 1, -2, 4, .infinity, 3), 2)
  }

  // MARK: - Failures, schedules, edge settings

  /// A strong-Wolfe step whose trial points overflow backs off to finite ones and completes;
  /// without a line search the overflowing move restores the weights from before the step,
  /// throws .numeric and forgets the L-BFGS memory; the trainer stays usable.
  func testNonFiniteInsideTheStepRestoresTheWeights() throws {
    let model = try Model(json: #"{"kind": "mlp", "input": 1, "output": 1, "seed": 3}"#)
    // x = 1e9 keeps the first loss (~1e18) and gradient (~1e18) finite; the first move is
    // lr = 1e6 in L1, after which the gradient's square overflows float32.
    let trainer = try Trainer(model: model, json: #"{"optimizer": "lbfgs", "learning_rate": 1e6}"#)
    let lbfgs = try XCTUnwrap(trainer.lbfgs)
    let before = model.parameters.map(\.value)
    // The starting point itself is fine, so the failure comes inside the step.
    let start = try [Float(1e9)].withUnsafeBufferPointer { x in
      try [Float(0)].withUnsafeBufferPointer { y in
        try trainer.lossAndGradient(x.baseAddress!, y.baseAddress!, 1)
      }
    }
    XCTAssertTrue(start.loss.isFinite && start.squares.isFinite)
    // Without a line search the fixed move's evaluation overflows: an error, weights kept.
    let plain = try Trainer(
      model: model, json: #"{"optimizer": "lbfgs", "learning_rate": 1e6, "line_search": "none"}"#)
    XCTAssertThrowsError(try plain.step([1e9], [0], count: 1)) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .numeric)
      XCTAssertTrue("\($0)".contains("weights left as before the step"), "\($0)")
    }
    XCTAssertEqual(model.parameters.map(\.value), before)
    XCTAssertEqual(try XCTUnwrap(plain.lbfgs).iterations, 0, "memory cleared")
    XCTAssertEqual(plain.stepsTaken, 0)
    // With strong Wolfe the overflowing trial points count as infinite losses: the search
    // backs off and the step completes, at finite weights no worse than the start.
    let first = try trainer.step([1e9], [0], count: 1)
    XCTAssertEqual(first, start.loss)
    XCTAssertEqual(trainer.stepsTaken, 1)
    XCTAssertTrue(model.parameters.allSatisfy { $0.value.allSatisfy(\.isFinite) })
    XCTAssertLessThanOrEqual(try trainer.evaluate([1e9], [0], count: 1), start.loss)
    XCTAssertGreaterThan(lbfgs.iterations, 0)
    // Usable afterwards, on sane data: the same trainer (its memory carried over, as
    // PyTorch's) lowers the loss; a fresh one fits the line from the recovered weights.
    let x: [Float] = [0, 1, 2, 3]
    let y: [Float] = [1, 3, 5, 7]
    let sane = try trainer.evaluate(x, y, count: 4)
    for _ in 0..<3 { try trainer.step(x, y, count: 4) }
    XCTAssertLessThanOrEqual(try trainer.evaluate(x, y, count: 4), sane)
    let fresh = try Trainer(model: model, json: #"{"optimizer": "lbfgs", "learning_rate": 1e6}"#)
    for _ in 0..<3 { try fresh.step(x, y, count: 4) }
    XCTAssertLessThan(try fresh.evaluate(x, y, count: 4), 1e-6)
    // NaN data is refused before anything runs, as for every optimizer.
    XCTAssertThrowsError(try trainer.step([.nan], [0], count: 1)) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .numeric)
    }
  }

  /// The learning-rate schedule scales L-BFGS's lr per step: with gamma 0 the second
  /// step's lr is 0, and a step at lr 0 only evaluates.
  func testScheduleAppliesAndZeroLearningRateChangesNothing() throws {
    let model = try Model(
      json: #"{"kind": "mlp", "input": 2, "hidden": [4], "output": 1, "activation": "tanh"}"#)
    let trainer = try Trainer(
      model: model, json: #"{"optimizer": "lbfgs", "schedule": "exponential", "gamma": 0}"#)
    let x: [Float] = [0.1, 0.2, -0.3, 0.4, 0.5, -0.6, 0.7, 0.8]
    let y: [Float] = [0.3, -0.1, 0.2, 0.9]
    let start = model.parameters.map(\.value)
    let first = try trainer.step(x, y, count: 4)
    let moved = model.parameters.map(\.value)
    XCTAssertNotEqual(moved, start)
    let second = try trainer.step(x, y, count: 4)
    XCTAssertEqual(model.parameters.map(\.value), moved, "lr 0 moves nothing")
    XCTAssertLessThan(second, first)
    XCTAssertEqual(second, try trainer.evaluate(x, y, count: 4))
    XCTAssertEqual(trainer.stepsTaken, 2)
  }

  /// Weights changed between two steps by anything but the trainer (a grid update, a tensor
  /// write, another trainer) leave its memory as it was, as PyTorch's LBFGS and pykan's fit
  /// (which updates grids between LBFGS steps) keep theirs: the next step is a valid step
  /// from the weights as they are, and differs from a new trainer's first step on a copy.
  func testOutsideChangesKeepTheMemory() throws {
    let spec = #"{"kind": "kan", "widths": [2, 3, 1], "grid": 5, "seed": 3}"#
    let json = #"{"optimizer": "lbfgs", "max_iter": 4}"#
    let x: [Float] = (0..<32).map { Float(($0 * 7) % 13) / 6.5 - 1 }
    let y: [Float] = (0..<16).map { sin(2 * x[2 * $0]) * x[2 * $0 + 1] }
    func stepAfter(_ change: (Model) throws -> Void) throws -> (sameAsFresh: Bool, loss: Float) {
      let model = try Model(json: spec)
      let trainer = try Trainer(model: model, json: json)
      for _ in 0..<3 { try trainer.step(x, y, count: 16) }
      try change(model)
      let copy = model.copy()
      let fresh = try Trainer(model: copy, json: json)
      let loss = try trainer.step(x, y, count: 16)
      try fresh.step(x, y, count: 16)
      let same =
        model.tensors.map { $0.parameter.value } == copy.tensors.map { $0.parameter.value }
      return (same, loss)
    }
    let changes: [(String, (Model) throws -> Void)] = [
      ("nothing", { _ in }),
      ("update_grid", { try $0.updateGrid(samples: x) }),
      ("a tensor write", { $0.tensor(named: "0.coef")!.value[0] += 0.01 }),
      (
        "another trainer",
        { try Trainer(model: $0, json: #"{"optimizer": "sgd"}"#).step(x, y, count: 16) }
      ),
    ]
    for (name, change) in changes {
      let (same, loss) = try stepAfter(change)
      XCTAssertFalse(same, "\(name): the step must use the trainer's memory")
      XCTAssertTrue(loss.isFinite, "\(name): loss \(loss)")
    }
  }

  /// tolerance_grad: a step at a point whose gradient is below it evaluates once and stops.
  func testToleranceGradStopsAtOnce() throws {
    let model = try Model(json: #"{"kind": "mlp", "input": 1, "output": 1}"#)
    let trainer = try Trainer(model: model, json: #"{"optimizer": "lbfgs", "tolerance_grad": 1e6}"#)
    let before = model.parameters.map(\.value)
    try trainer.step([1, 2], [3, -1], count: 2)
    XCTAssertEqual(model.parameters.map(\.value), before)
    XCTAssertEqual(trainer.lbfgs?.evaluations, 1)
    XCTAssertEqual(trainer.lbfgs?.iterations, 0)
  }

  /// Edge settings run and make progress: one iteration per step (max_eval 1, so the line
  /// search gets no budget beyond its first trial), a one-pair memory.
  func testSmallBudgetsStillDescend() throws {
    for json in [
      #"{"optimizer": "lbfgs", "max_iter": 1}"#, #"{"optimizer": "lbfgs", "history_size": 1}"#,
      #"{"optimizer": "lbfgs", "max_iter": 2, "line_search": "none", "learning_rate": 0.1}"#,
    ] {
      let model = try Model(
        json:
          #"{"kind": "mlp", "input": 2, "hidden": [6], "output": 1, "activation": "tanh", "seed": 1}"#
      )
      let trainer = try Trainer(model: model, json: json)
      let x: [Float] = [0.1, 0.2, -0.3, 0.4, 0.5, -0.6, 0.7, 0.8, -0.9, -0.1]
      let y: [Float] = [0.3, -0.1, 0.2, 0.9, -0.5]
      let initial = try trainer.evaluate(x, y, count: 5)
      for _ in 0..<10 { try trainer.step(x, y, count: 5) }
      let final = try trainer.evaluate(x, y, count: 5)
      XCTAssertTrue(final.isFinite, json)
      XCTAssertLessThan(final, initial * 0.9, json)
    }
  }

  // MARK: - fit

  /// fit gives each mini-batch one L-BFGS step; full-batch fit matches stepping by hand
  /// bit for bit, and runs are reproducible.
  func testFitIsOneStepPerBatchAndDeterministic() throws {
    let spec =
      #"{"kind": "mlp", "input": 2, "hidden": [8], "output": 1, "activation": "tanh", "seed": 7}"#
    let x = TorchLBFGSReference.x
    let y = TorchLBFGSReference.y
    func fitted(_ json: String) throws -> ([Float], Float, [TrainingProgress]) {
      let model = try Model(json: spec)
      let trainer = try Trainer(model: model, json: json)
      var reports: [TrainingProgress] = []
      let loss = try trainer.fit(x, y, count: 24) {
        reports.append($0)
        return true
      }
      return (model.parameters.flatMap(\.value), loss, reports)
    }
    let full = #"{"optimizer": "lbfgs", "batch_size": 24, "epochs": 4}"#
    let (a, lossA, reports) = try fitted(full)
    let (b, lossB, _) = try fitted(full)
    XCTAssertEqual(a, b)
    XCTAssertEqual(lossA, lossB)
    XCTAssertEqual(reports.map(\.step), [1, 2, 3, 4])
    XCTAssertEqual(reports.last?.steps, 4)

    // Unshuffled, four full-batch epochs are four steps on the rows as given.
    let (c, lossC, _) = try fitted(
      #"{"optimizer": "lbfgs", "batch_size": 24, "epochs": 4, "shuffle": false}"#)
    let model = try Model(json: spec)
    let trainer = try Trainer(model: model, json: #"{"optimizer": "lbfgs"}"#)
    var last: Float = 0
    for _ in 0..<4 { last = try trainer.step(x, y, count: 24) }
    XCTAssertEqual(model.parameters.flatMap(\.value), c)
    XCTAssertEqual(lossC, last, "an epoch's loss is its one step's loss before the step")

    // Mini-batches: 3 steps per epoch, reproducible.
    let mini = #"{"optimizer": "lbfgs", "batch_size": 8, "epochs": 3, "seed": 2}"#
    let (d, _, miniReports) = try fitted(mini)
    let (e, _, _) = try fitted(mini)
    XCTAssertEqual(d, e)
    XCTAssertEqual(miniReports.last?.step, 9)
  }
}

/// Data and float32 starting weights of Tests/Reference/lbfgs_reference.py (PyTorch 2.15).
enum TorchLBFGSReference {
  /// 0.weight (8 x 2), 0.bias (8), 2.weight (1 x 8), 2.bias (1), flattened.
  static let initialWeights: [Float] = [
    -0.00529398117, 0.379322886, -0.581980765, -0.520387471, -0.272345245, 0.18961589,
    -0.0140100336, 0.560657501, -0.0627515167, 0.187109336, -0.213696912, -0.138992712,
    -0.675533414, -0.468304157, -0.291485757, 0.0261937603, 0.279544204, 0.424280167,
    -0.479376733, -0.307918727, 0.256833285, 0.587172925, -0.145522699, 0.5291363,
    -0.0569869205, 0.0374109335, 0.320134193, -0.327980995, -0.222575262, -0.0895074308,
    -0.137815088, 0.305470407, -0.229166105,
  ]
  /// 24 x 2 inputs.
  static let x: [Float] = [
    0.5152632, -0.441378236, -0.193861485, 0.469368935, -0.941436887, 0.599717259,
    -0.205725312, 0.508743882, 0.139016986, -0.122444153, 0.277360916, 0.0493317842,
    0.365228176, -0.389701009, -0.0729087591, -0.0900273323, 0.144943953, -0.0039948225,
    0.874166727, 0.311190128, -0.372406244, -0.603961349, -0.167615652, -0.431340694,
    -0.320448518, 0.0478816032, 0.596127748, 0.543536663, -0.977550864, 0.619920492,
    0.279363871, 0.94855547, 0.66005981, -0.9111377, -0.950808406, -0.48233211,
    0.87811172, -0.166568995, 0.427959442, -0.464711428, 0.98121798, -0.423098445,
    0.749924779, 0.0118416548, -0.526817441, 0.51401484, -0.530820131, 0.294104695,
  ]
  /// 24 targets: sin(3 x0) cos(2 x1) + 0.5 x0 x1.
  static let y: [Float] = [
    0.52111268, -0.370055169, -0.39551267, -0.356458545, 0.384469658, 0.742581069,
    0.561382771, -0.210196704, 0.420954973, 0.539087713, -0.206610769, -0.277293861,
    -0.823877335, 0.616120934, -0.370403409, -0.105793759, -0.528977275, 0.0668522716,
    0.385941029, 0.474399716, -0.07723023, 0.782436788, -0.651878953, -0.909798741,
  ]
  /// line_search_fn="strong_wolfe", lr 1, max_iter 20, history_size 10.
  static let strongWolfe = Case(
    evaluations: [
      0.312861443, 0.23958002, 0.207347989, 0.161715344, 0.14752011, 0.145539805,
      0.145059809, 0.143075228, 0.140543014, 0.136221752, 0.12482027, 0.11374446,
      0.108897142, 0.10624107, 0.0989327207, 0.0917331353, 0.0770323873, 0.0724489614,
      0.0707224756, 0.0690216795, 0.0686694905, 0.0681720525, 0.0681720525, 0.0672262833,
      0.0658436567, 0.0628983751, 0.0619484745, 0.0609067567, 0.0591181256, 0.0556278676,
      0.0505204163,
    ],
    marks: [22, 47, 70, 93, 116], iterations: 100, functionEvaluations: 116,
    stepLosses: [0.312861443, 0.0681720525, 0.00406180555, 0.000801174843, 0.00031021735],
    finalLoss: 0.000232786333,
    afterFirstStep: [
      0.00614611246, 0.420789093, -0.71744895, -1.10930395, -0.396155208, 0.0374291353,
      -1.77452695, 2.95718718, 0.327521384, -0.0287814029, -0.0458508059, -0.36675024,
      -1.13560748, -0.745095909, -0.559559405, 0.567405462, 0.0291147716, 0.272845954,
      -0.689526021, -0.446645617, -0.26044181, 0.453375489, 1.22551155, 0.199040577,
      0.641757727, -0.784591198, 0.394041091, -1.02262437, 0.448797643, 0.00665001292,
      0.357021123, 0.874216199, -0.147631466,
    ],
    afterLastStep: [
      -0.710900545, -0.262286335, -1.99202001, -1.65240991, -1.54089165, 0.066522941,
      -1.48639357, 1.81961513, 0.413600802, 0.183646277, -0.0484385937, -0.347248673,
      -2.14847779, 0.497854918, 1.13357723, -0.208698347, -0.33869493, -0.0213859081,
      -1.10351622, -0.196119353, -0.225622103, 0.395060629, 1.9260664, -0.223823816,
      0.831783652, -1.20239472, 1.38723826, -0.883443117, -0.0737099275, 0.0805636495,
      1.54871416, 0.918032765, -0.139247939,
    ])
  /// line_search_fn=None, lr 0.5, max_iter 20, history_size 10.
  static let noLineSearch = Case(
    evaluations: [
      0.312861443, 0.244020984, 0.222457722, 0.185484931, 0.1562206, 0.146280751,
      0.144494787, 0.143703029, 0.142629907, 0.140573651, 0.136460081, 0.128989816,
      0.120521903, 0.113357835, 0.106980979, 0.102646321, 0.0995782316, 0.0873259082,
      0.0756428018, 0.0734842718, 0.0723294318, 0.0720999762, 0.0719698891, 0.0716371015,
      0.0710936412, 0.0702520534, 0.0691535249, 0.0680848509, 0.0672637895, 0.0668876171,
      0.0664134473, 0.06623476, 0.0661455765, 0.0660528764, 0.0659098625, 0.0656596795,
      0.0652141348, 0.0643963814,
    ],
    marks: [20, 40, 60, 80, 100], iterations: 100, functionEvaluations: 100,
    stepLosses: [0.312861443, 0.0723294318, 0.0595388971, 0.000912987802, 0.000422446145],
    finalLoss: 0.000295366306,
    afterFirstStep: [
      -0.0816551149, 0.452854127, -0.534886956, -0.89057827, -0.337705791, 0.100101434,
      -1.69519448, 2.64445949, 0.163039953, -0.110759392, -0.168305799, -0.321592718,
      -1.25639069, -0.955799043, -0.496257901, 0.635334969, 0.173281386, 0.649659514,
      -0.400304228, -0.316901833, 0.0617955737, 0.617772162, 1.91171658, 0.487740844,
      0.743292272, -0.797716916, 0.450016409, -0.980224311, 0.397788554, -0.00366229331,
      0.139478371, 0.693129778, -0.15469715,
    ],
    afterLastStep: [
      -0.910839796, -0.0222376771, -1.86492872, -1.34023869, -1.63106477, 0.0639897883,
      -1.47153664, 1.52482963, -0.254962265, 0.104203008, -0.150320038, -0.318884701,
      -2.11434507, 0.480014145, 0.236489579, -0.515270531, -0.623420715, -0.00543223042,
      -1.12705123, -0.135645255, 0.132057115, 0.606985331, 1.89079165, 0.435251266,
      0.803600311, -1.47671998, 1.28234136, -1.17903805, -0.00729459058, 0.0490372665,
      1.4654392, 0.489584446, -0.306764752,
    ])

  /// One run: the loss of every closure call while the float32 and float64 runs agree to
  /// 1e-5, closure calls made by the end of each step, `n_iter`, `func_evals`, the loss each
  /// step returned, the loss after the last step and the weights after the first and last.
  struct Case {
    let evaluations: [Float]
    let marks: [Int]
    let iterations: Int
    let functionEvaluations: Int
    let stepLosses: [Float]
    let finalLoss: Float
    let afterFirstStep: [Float]
    let afterLastStep: [Float]
  }
}
