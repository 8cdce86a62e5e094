import Foundation
import XCTest

@testable import Lamina

/// Trainer state files (`TrainerState`, `Trainer.saveState` / `loadState`): a run stopped
/// after k calls and resumed from the model file and the state ends with the bits of a run
/// that never stopped, for every optimizer; refused files change nothing.
final class TrainerStateTests: XCTestCase {
  private let mlp =
    #"{"kind": "mlp", "input": 2, "hidden": [8, 8], "output": 1, "activation": "tanh", "seed": 3}"#
  private let kan = #"{"kind": "kan", "widths": [2, 3, 1], "grid": 5, "seed": 1}"#
  private let n = 40
  private lazy var x: [Float] = (0..<(2 * n)).map { Float(sin(Double($0) * 1.3)) }
  private lazy var y: [Float] = (0..<n).map {
    Float(cos(Double(x[2 * $0]) * 2) * Double(x[2 * $0 + 1]))
  }

  private var directory = ""

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "lamina-state-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(atPath: directory)
  }

  /// Every tensor's bits, in order.
  private func bits(_ m: Model) -> [[UInt32]] {
    m.tensors.map { $0.parameter.value.map(\.bitPattern) }
  }

  /// Call `i` of a run: a step on alternate halves of the data, or a fit.
  private func call(_ t: Trainer, _ i: Int, fit: Bool) throws {
    if fit {
      try t.fit(x: x, y: y)
    } else {
      let h = n / 2
      let half = i % 2
      try t.step(
        x: Array(x[(2 * h * half)..<(2 * h * (half + 1))]),
        y: Array(y[(h * half)..<(h * (half + 1))]))
    }
  }

  private func checkResume(
    _ spec: String, _ config: String, fit: Bool = false, k: Int = 3, m: Int = 3,
    file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let a = try Model(json: spec)
    let ta = try Trainer(model: a, json: config)
    for i in 0..<(k + m) { try call(ta, i, fit: fit) }

    let b = try Model(json: spec)
    let tb = try Trainer(model: b, json: config)
    for i in 0..<k { try call(tb, i, fit: fit) }
    let modelPath = directory + "/model.safetensors"
    let statePath = directory + "/state.safetensors"
    try b.save(to: modelPath)
    try tb.saveState(to: statePath)

    let c = try Model.load(from: modelPath)
    let tc = try Trainer(model: c, json: config)
    try tc.loadState(from: statePath)
    XCTAssertEqual(tc.stepsTaken, tb.stepsTaken, config, file: file, line: line)
    XCTAssertEqual(
      tc.encodedState(), tb.encodedState(), "the loaded state re-encodes to the same bytes",
      file: file, line: line)
    for i in k..<(k + m) { try call(tc, i, fit: fit) }
    XCTAssertEqual(
      bits(c), bits(a), "resumed \(config) differs from the uninterrupted run", file: file,
      line: line)

    // Without the state, a new trainer ends elsewhere: the comparison above can fail.
    let d = try Model.load(from: modelPath)
    let td = try Trainer(model: d, json: config)
    for i in k..<(k + m) { try call(td, i, fit: fit) }
    XCTAssertNotEqual(bits(d), bits(a), "\(config) without the state", file: file, line: line)
  }

  func testResumedRunsMatchUninterruptedOnes() throws {
    try checkResume(
      mlp, #"{"optimizer": "adam", "learning_rate": 0.01, "schedule": "cosine", "decay_steps": 10}"#
    )
    try checkResume(
      mlp, #"{"optimizer": "adamw", "learning_rate": 0.01, "schedule": "step", "decay_steps": 2}"#)
    try checkResume(mlp, #"{"optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9}"#)
    try checkResume(
      mlp,
      #"{"optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9, "nesterov": true, "batch_size": 9, "epochs": 2}"#,
      fit: true, k: 1, m: 2)
    try checkResume(
      mlp, #"{"optimizer": "sgd", "learning_rate": 0.1, "schedule": "exponential", "gamma": 0.5}"#)
    try checkResume(mlp, #"{"optimizer": "lbfgs", "max_iter": 5, "history_size": 3}"#, k: 2, m: 3)
    try checkResume(
      mlp,
      #"{"optimizer": "lbfgs", "learning_rate": 0.1, "max_iter": 4, "history_size": 2, "line_search": "none"}"#,
      k: 2, m: 2)
    try checkResume(
      kan, #"{"optimizer": "adam", "learning_rate": 0.02, "batch_size": 8, "epochs": 2}"#,
      fit: true,
      k: 1, m: 1)
    try checkResume(kan, #"{"optimizer": "lbfgs", "max_iter": 4, "history_size": 3}"#, k: 2, m: 2)
  }

  /// kanFit's random batches come from the trainer's generator, and its grid updates change
  /// the model (saved in the model file).
  func testResumedKANFitMatches() throws {
    let config = #"{"optimizer": "lbfgs", "max_iter": 3, "history_size": 3}"#
    var options = KANFitOptions()
    options.steps = 3
    options.batch = 15
    options.gridUpdateNum = 3
    options.stopGridUpdateStep = 3
    func run(_ t: Trainer) throws {
      try x.withUnsafeBufferPointer { xb in
        try y.withUnsafeBufferPointer { yb in
          _ = try t.kanFit(xb.baseAddress!, yb.baseAddress!, count: n, options: options)
        }
      }
    }
    let a = try Model(json: kan)
    let ta = try Trainer(model: a, json: config)
    try run(ta)
    try run(ta)
    let b = try Model(json: kan)
    let tb = try Trainer(model: b, json: config)
    try run(tb)
    let c = try Model.decode(b.encoded())
    let tc = try Trainer(model: c, json: config)
    try tc.restoreState(tb.encodedState())
    try run(tc)
    XCTAssertEqual(bits(c), bits(a))
    // A new trainer draws other batches (its generator starts from the seed again).
    let d = try Model.decode(b.encoded())
    try run(Trainer(model: d, json: config))
    XCTAssertNotEqual(bits(d), bits(a))
  }

  /// The learning rate, schedule and epochs may differ; the optimizer's settings may not.
  func testWhichSettingsMayDiffer() throws {
    let m = try Model(json: mlp)
    let t = try Trainer(model: m, json: #"{"optimizer": "adam", "learning_rate": 0.01}"#)
    try t.step(x: x, y: y)
    let state = t.encodedState()
    let looser = try Trainer(
      model: m,
      json: #"{"optimizer": "adam", "learning_rate": 0.1, "epochs": 3, "schedule": "cosine"}"#)
    XCTAssertNoThrow(try looser.restoreState(state))
    XCTAssertEqual(looser.stepsTaken, 1)
    for (other, key) in [
      (#"{"optimizer": "adamw"}"#, "\"optimizer\""), (#"{"beta1": 0.8}"#, "\"beta1\""),
      (#"{"epsilon": 1e-6}"#, "\"epsilon\""), (#"{"weight_decay": 0.1}"#, "\"weight_decay\""),
    ] {
      let u = try Trainer(model: m, json: other)
      let before = u.encodedState()
      XCTAssertThrowsError(try u.restoreState(state), other) {
        XCTAssertEqual(($0 as? LaminaError)?.code, .invalidArgument, other)
        XCTAssertTrue("\($0)".contains(key), "\(other): \($0)")
      }
      XCTAssertEqual(u.encodedState(), before, "\(other): the refused state changed the trainer")
    }
  }

  func testRefusedStatesChangeNothing() throws {
    let m = try Model(json: mlp)
    let t = try Trainer(
      model: m, json: #"{"optimizer": "lbfgs", "max_iter": 3, "history_size": 2}"#)
    try t.step(x: x, y: y)
    try t.step(x: x, y: y)
    let good = t.encodedState()
    let victim = try Trainer(
      model: m, json: #"{"optimizer": "lbfgs", "max_iter": 3, "history_size": 2}"#)
    try victim.step(x: x, y: y)
    let before = victim.encodedState()

    func expectRefused(_ bytes: [UInt8], _ code: LaminaError.Code, _ what: String) {
      XCTAssertThrowsError(try victim.restoreState(bytes), what) {
        XCTAssertEqual(($0 as? LaminaError)?.code, code, "\(what): \($0)")
      }
      XCTAssertEqual(
        victim.encodedState(), before, "\(what): the refused state changed the trainer")
    }
    for length in stride(from: 0, to: good.count, by: 7) {
      expectRefused(Array(good[0..<length]), .format, "truncated to \(length) bytes")
    }
    for i in stride(from: 0, to: good.count, by: 5) {
      var damaged = good
      damaged[i] ^= 0x10
      expectRefused(damaged, .format, "byte \(i) changed")
    }
    expectRefused(m.encoded(), .format, "a model file")
    let other = try Trainer(
      model: Model(json: #"{"kind": "mlp", "input": 2, "hidden": [8, 7], "output": 1}"#),
      json: #"{"optimizer": "lbfgs", "max_iter": 3, "history_size": 2}"#)
    expectRefused(other.encodedState(), .shape, "another model's state")
    let adam = try Trainer(model: m, json: "{}")
    expectRefused(adam.encodedState(), .invalidArgument, "an adam state")
    let longer = try Trainer(
      model: m, json: #"{"optimizer": "lbfgs", "max_iter": 3, "history_size": 3}"#)
    expectRefused(longer.encodedState(), .invalidArgument, "another history_size")

    XCTAssertThrowsError(try victim.loadState(from: directory + "/missing")) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .io)
    }
    XCTAssertThrowsError(try victim.loadState(from: "")) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .invalidArgument)
    }
    XCTAssertEqual(victim.encodedState(), before)
    XCTAssertNoThrow(try victim.restoreState(good))
    XCTAssertEqual(victim.encodedState(), good)
  }

  func testSaveIsAtomic() throws {
    let m = try Model(json: mlp)
    let t = try Trainer(model: m, json: "{}")
    let target = directory + "/target"
    try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
    XCTAssertThrowsError(try t.saveState(to: target)) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .io)
    }
    XCTAssertEqual(directoryEntries(directory), ["target"], "a failed save left a file behind")
    XCTAssertThrowsError(try t.saveState(to: directory + "/no/such/state.safetensors")) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .io)
    }
  }
}
