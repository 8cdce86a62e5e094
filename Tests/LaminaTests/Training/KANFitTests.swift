import XCTest

@testable import Lamina

/// `Trainer.kanFit` (pykan's `fit`): its options, pykan's grid-update schedule, the same bits
/// as the loop of `step` and `updateGrid` run by hand, cancellation and random batches.
final class KANFitTests: XCTestCase {
  let spec = #"{"kind": "kan", "widths": [2, 3, 1], "grid": 5, "seed": 1}"#

  /// pykan's tutorial function exp(sin(pi x) + y^2) at `n` points of [-1, 1]^2.
  func data(_ n: Int, seed: UInt64) -> (x: [Float], y: [Float]) {
    var rng = RandomSource(seed: seed)
    let x = (0..<(2 * n)).map { _ in Float(rng.uniform(-1, 1)) }
    let y = (0..<n).map { s -> Float in
      let (u, v) = (Double(x[2 * s]), Double(x[2 * s + 1]))
      return Float(exp(sin(Double.pi * u) + v * v))
    }
    return (x, y)
  }

  func fit(
    _ trainer: Trainer, _ train: (x: [Float], y: [Float]), _ test: (x: [Float], y: [Float])?,
    _ options: KANFitOptions, progress: ((TrainingProgress, KANFitHistory) -> Bool)? = nil
  ) throws -> KANFitHistory {
    let tx = test?.x ?? []
    let ty = test?.y ?? []
    return try tx.withUnsafeBufferPointer { txb in
      try ty.withUnsafeBufferPointer { tyb in
        try trainer.kanFit(
          train.x, train.y, count: train.y.count, testX: test == nil ? nil : txb.baseAddress,
          testY: test == nil ? nil : tyb.baseAddress, testCount: test?.y.count ?? 0,
          options: options, progress: progress)
      }
    }
  }

  func testOptionsDefaultsAndRefusals() throws {
    let defaults = try KANFitOptions(json: JSONValue.parse("{}"))
    XCTAssertEqual(defaults, KANFitOptions())
    XCTAssertEqual(
      defaults.json.text,
      #"{"steps": 100, "batch": -1, "update_grid": true, "grid_update_num": 10, "#
        + #""start_grid_update_step": -1, "stop_grid_update_step": 50, "grid_eps": 0.02}"#)
    XCTAssertEqual(try KANFitOptions(json: defaults.json), defaults)
    let custom = try KANFitOptions(json: JSONValue.parse(#"{"batch": 16, "steps": 7}"#))
    XCTAssertEqual(custom.batch, 16)
    XCTAssertEqual(custom.steps, 7)
    for bad in [
      #"{"stepz": 1}"#, #"{"batch": 0}"#, #"{"batch": -2}"#, #"{"steps": -1}"#,
      #"{"grid_update_num": 0}"#, #"{"grid_eps": 2}"#, #"{"update_grid": 1}"#, "[]",
    ] {
      XCTAssertThrowsError(try KANFitOptions(json: JSONValue.parse(bad)), bad) { error in
        XCTAssertEqual((error as? LaminaError)?.code, .invalidArgument, bad)
      }
    }
    XCTAssertNoThrow(
      try KANFitOptions(json: JSONValue.parse(#"{"update_grid": false, "grid_update_num": 0}"#)))
  }

  func testScheduleIsPykans() {
    // pykan: update before step s when s % int(stop / num) == 0 and start <= s < stop.
    for (num, start, stop) in [(10, -1, 50), (4, 2, 20), (3, -1, 20), (10, -1, 5), (7, 12, 60)] {
      var options = KANFitOptions()
      options.gridUpdateNum = num
      options.startGridUpdateStep = start
      options.stopGridUpdateStep = stop
      let freq = max(1, Int(Double(stop) / Double(num)))
      for s in 0..<80 {
        let expected = s % freq == 0 && start <= s && s < stop
        XCTAssertEqual(options.updatesGrid(beforeStep: s), expected, "\(num) \(start) \(stop) \(s)")
      }
    }
    var off = KANFitOptions()
    off.updateGrid = false
    XCTAssertFalse((0..<60).contains { off.updatesGrid(beforeStep: $0) })
  }

  /// kanFit with every row per step is the loop of `step`, `updateGrid` and `evaluate` run
  /// by hand, bit for bit, and reports RMSE.
  func testFullBatchIsTheHandRunLoop() throws {
    let train = data(48, seed: 3)
    let test = data(12, seed: 4)
    var options = KANFitOptions()
    options.steps = 24
    options.gridUpdateNum = 4
    options.stopGridUpdateStep = 20
    options.startGridUpdateStep = 2
    let a = try Model(json: spec)
    let b = try Model(json: spec)
    let config = try TrainerConfig(json: JSONValue.parse(#"{"learning_rate": 0.02}"#))
    var calls: [(step: Int, loss: Float, validation: Float)] = []
    let history = try fit(Trainer(model: a, config: config), train, test, options) { info, h in
      calls.append((info.step, info.loss, info.validationLoss))
      XCTAssertEqual(h.count, info.step)
      XCTAssertEqual(info.steps, 24)
      return true
    }
    XCTAssertEqual(history.gridUpdates, [5, 10, 15])
    XCTAssertEqual(history.count, 24)
    XCTAssertTrue(history.reg.allSatisfy(\.isNaN))

    let trainer = Trainer(model: b, config: config)
    for s in 0..<24 {
      if options.updatesGrid(beforeStep: s) {
        try b.updateGrid(samples: train.x, gridEps: Double(Float(0.02)))
      }
      let loss = try trainer.step(train.x, train.y, count: 48)
      let eval = try trainer.evaluate(test.x, test.y, count: 12)
      XCTAssertEqual(history.trainLoss[s].bitPattern, loss.squareRoot().bitPattern, "step \(s)")
      XCTAssertEqual(history.testLoss[s].bitPattern, eval.squareRoot().bitPattern, "step \(s)")
      XCTAssertEqual(calls[s].step, s + 1)
      XCTAssertEqual(calls[s].loss, history.trainLoss[s])
      XCTAssertEqual(calls[s].validation, history.testLoss[s])
    }
    for (ta, tb) in zip(a.tensors, b.tensors) {
      XCTAssertEqual(ta.name, tb.name)
      XCTAssertEqual(
        ta.parameter.value.map(\.bitPattern), tb.parameter.value.map(\.bitPattern), ta.name)
    }
  }

  func testCancelKeepsTheStepsDone() throws {
    let train = data(32, seed: 5)
    let a = try Model(json: spec)
    let trainer = Trainer(model: a)
    var last = KANFitHistory()
    var options = KANFitOptions()
    options.steps = 10
    XCTAssertThrowsError(
      try fit(trainer, train, nil, options) { info, h in
        last = h
        return info.step < 3
      }
    ) { error in
      XCTAssertEqual((error as? LaminaError)?.code, .cancelled)
    }
    XCTAssertEqual(last.count, 3)
    XCTAssertTrue(last.testLoss.allSatisfy(\.isNaN))
    XCTAssertEqual(trainer.stepsTaken, 3)
  }

  func testRandomBatchesFollowTheSeed() throws {
    let train = data(64, seed: 6)
    var options = KANFitOptions()
    options.steps = 8
    options.batch = 16
    func run(_ seed: Int) throws -> (KANFitHistory, [Float]) {
      let m = try Model(json: spec)
      let config = try TrainerConfig(json: JSONValue.parse(#"{"seed": \#(seed)}"#))
      let h = try fit(Trainer(model: m, config: config), train, nil, options)
      return (h, m.tensor(named: "0.coef")!.value)
    }
    let (h3, w3) = try run(3)
    let (again, w3again) = try run(3)
    let (_, w4) = try run(4)
    XCTAssertEqual(h3.trainLoss, again.trainLoss)
    XCTAssertEqual(w3, w3again)
    XCTAssertNotEqual(w3, w4)
    XCTAssertEqual(h3.gridUpdates, [0, 5])
    // The grid of input 0 follows the 16 rows of step 5: its interior ends are training
    // inputs, not both the extremes of all 64.
    let m = try Model(json: spec)
    let config = try TrainerConfig(json: JSONValue.parse(#"{"seed": 3}"#))
    _ = try fit(Trainer(model: m, config: config), train, nil, options)
    let grid = m.tensors.first { $0.name == "0.grid" }!.parameter.value
    let column = stride(from: 0, to: train.x.count, by: 2).map { train.x[$0] }
    XCTAssertTrue(column.contains(grid[3]) && column.contains(grid[8]))
    XCTAssertFalse(grid[3] == column.min()! && grid[8] == column.max()!)
  }
}
