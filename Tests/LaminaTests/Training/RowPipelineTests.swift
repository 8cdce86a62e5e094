import XCTest

@testable import Lamina

/// The row-block training pipeline (`RowPipeline`) against the whole-batch step.
final class RowPipelineTests: XCTestCase {
  /// A tri-plane model with a two-hidden-layer decoder.
  private func model(output: Int = 1, activation: String = "relu") throws -> Model {
    try Model(
      json: """
        {"kind": "triplane", "resolution": 16, "channels": 8, "init_std": 0.1,
         "decoder": {"hidden": [32, 24], "activation": "\(activation)"}, "output": \(output),
         "seed": 7}
        """)
  }

  /// `n` points in [-1.1, 1.1]^3 (a few outside the box) and `output` targets each.
  private func data(_ n: Int, output: Int, oneHot: Bool = false) -> ([Float], [Float]) {
    var rng = RandomSource(seed: 11)
    var x: [Float] = []
    var y: [Float] = []
    for _ in 0..<n {
      let p = (0..<3).map { _ in Float(rng.uniform(-1.1, 1.1)) }
      x += p
      let r = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).squareRoot() - 0.6
      if oneHot {
        let k = Int(rng.uniform(0, Double(output))) % output
        y += (0..<output).map { $0 == k ? 1 : 0 }
      } else {
        y += (0..<output).map { r * Float($0 + 1) }
      }
    }
    return (x, y)
  }

  /// Runs `steps` steps and returns the losses and, after the last step's gradient pass,
  /// each parameter's gradient and value.
  private func train(
    _ m: Model, config: String, pipeline: Bool, x: [Float], y: [Float], steps: Int
  ) throws -> (losses: [Float], gradients: [[Float]], values: [[Float]]) {
    let trainer = try Trainer(model: m, json: config)
    trainer.usesRowPipeline = pipeline
    let n = x.count / m.inputDim
    var losses: [Float] = []
    for _ in 0..<steps {
      losses.append(
        try x.withUnsafeBufferPointer { xb in
          try y.withUnsafeBufferPointer { yb in
            try trainer.step(xb.baseAddress!, yb.baseAddress!, count: n)
          }
        })
    }
    return (losses, m.parameters.map(\.gradient), m.parameters.map(\.value))
  }

  /// Largest |a - b| over a tensor, relative to the tensor's largest |b| (absolute when
  /// that is below 1e-3).
  private func relativeDifference(_ a: [Float], _ b: [Float]) -> Float {
    let scale = max(b.map(abs).max() ?? 0, 1e-3)
    return zip(a, b).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
  }

  func testPipelineEqualsWholeBatchStep() throws {
    // 1000 rows: five full 192-row blocks and a short one, over six tasks.
    let cases: [(output: Int, config: String, oneHot: Bool, activation: String)] = [
      (1, #"{"optimizer": "sgd", "learning_rate": 0.05, "loss": "mse"}"#, false, "relu"),
      (
        2, #"{"optimizer": "sgd", "learning_rate": 0.05, "loss": "huber", "truncation": 0.5}"#,
        false, "tanh"
      ),
      (3, #"{"optimizer": "sgd", "learning_rate": 0.05, "loss": "cross_entropy"}"#, true, "relu"),
      (1, #"{"optimizer": "adam", "learning_rate": 0.001, "loss": "l1"}"#, false, "prelu"),
    ]
    for c in cases {
      let (x, y) = data(1000, output: c.output, oneHot: c.oneHot)
      let a = try model(output: c.output, activation: c.activation)
      let b = a.copy()
      let piped = try train(a, config: c.config, pipeline: true, x: x, y: y, steps: 3)
      let whole = try train(b, config: c.config, pipeline: false, x: x, y: y, steps: 3)
      for (s, (l1, l2)) in zip(piped.losses, whole.losses).enumerated() {
        XCTAssertEqual(l1, l2, accuracy: 1e-6 * max(1, abs(l2)), "\(c.config): loss of step \(s)")
      }
      for (i, p) in a.parameters.enumerated() {
        let dg = relativeDifference(piped.gradients[i], whole.gradients[i])
        XCTAssertLessThan(dg, 1e-5, "\(c.config): gradient of \(p.name) (\(p.shape))")
        let dv = relativeDifference(piped.values[i], whole.values[i])
        XCTAssertLessThan(dv, 1e-5, "\(c.config): value of \(p.name)")
      }
      // Something changed, and the gradients are not trivially zero.
      XCTAssertNotEqual(piped.losses[0], piped.losses[2])
      XCTAssertTrue(piped.gradients.allSatisfy { g in g.contains { $0 != 0 } })
    }
  }

  func testPipelineWithFieldsLevelsProductAndPlaneRegularizers() throws {
    // Two fields (a field-index column, one shared decoder), two concatenated levels,
    // product aggregation (whose backward re-samples the planes), and the plane TV and L2
    // penalties, which the trainer adds after the pipeline's backward pass.
    let m = try Model(
      json: """
        {"kind": "triplane", "resolution": [8, 16], "channels": 4, "fields": 2,
         "aggregation": "product", "init_mean": 1, "init_std": 0.2,
         "decoder": {"hidden": [16], "activation": "relu"}, "seed": 3}
        """)
    XCTAssertNotNil(RowPipeline(model: m))
    let (points, y) = data(900, output: 1)
    var x: [Float] = []
    for r in 0..<900 { x += [Float(r % 2)] + points[(r * 3)..<(r * 3 + 3)] }
    let config =
      #"{"optimizer": "sgd", "learning_rate": 0.05, "plane_tv": 0.01, "plane_l2": 0.001}"#
    let b = m.copy()
    let piped = try train(m, config: config, pipeline: true, x: x, y: y, steps: 3)
    let whole = try train(b, config: config, pipeline: false, x: x, y: y, steps: 3)
    for (s, (l1, l2)) in zip(piped.losses, whole.losses).enumerated() {
      XCTAssertEqual(l1, l2, accuracy: 1e-6 * max(1, abs(l2)), "loss of step \(s)")
    }
    for (i, p) in m.parameters.enumerated() {
      XCTAssertLessThan(
        relativeDifference(piped.gradients[i], whole.gradients[i]), 1e-5, "gradient of \(p.name)")
      XCTAssertLessThan(
        relativeDifference(piped.values[i], whole.values[i]), 1e-5, "value of \(p.name)")
    }
    XCTAssertNotEqual(piped.losses[0], piped.losses[2])
  }

  func testPipelineIsBitIdenticalRunToRunAndOnOneThread() throws {
    // 33 blocks over 16 tasks (one of 3 blocks, the others 2), so tail copies accumulate
    // over several blocks each, and the last block is short.
    let (x, y) = data(32 * RowPipeline.blockRows + 50, output: 1)
    let config = #"{"optimizer": "adam", "learning_rate": 0.01}"#
    let base = try model()
    let first = try train(base.copy(), config: config, pipeline: true, x: x, y: y, steps: 3)
    let second = try train(base.copy(), config: config, pipeline: true, x: x, y: y, steps: 3)
    // Inside a pool task the pool is owned, so every nested parallel pass (encoding,
    // pipeline blocks) runs its tasks one after another on this thread.
    var serial: (losses: [Float], gradients: [[Float]], values: [[Float]])?
    var failure: Error?
    Parallel.run(2, work: 1, threshold: 0) { task in
      guard task == 0 else { return }
      do {
        serial = try self.train(base.copy(), config: config, pipeline: true, x: x, y: y, steps: 3)
      } catch { failure = error }
    }
    if let failure { throw failure }
    for other in [second, try XCTUnwrap(serial)] {
      XCTAssertEqual(first.losses.map(\.bitPattern), other.losses.map(\.bitPattern))
      XCTAssertEqual(
        first.gradients.map { $0.map(\.bitPattern) }, other.gradients.map { $0.map(\.bitPattern) })
      XCTAssertEqual(
        first.values.map { $0.map(\.bitPattern) }, other.values.map { $0.map(\.bitPattern) })
    }
  }

  func testBlockLossSumsMatchTheBatchLoss() {
    let (n, k) = (37, 3)
    var rng = RandomSource(seed: 2)
    let p = (0..<(n * k)).map { _ in Float(rng.uniform(-2, 2)) }
    let t = (0..<(n * k)).map { _ in Float(rng.uniform(-1, 1)) }
    let losses: [(Loss, Float)] = [
      (.mse, 0), (.l1, 0), (.huber(delta: 0.7), 0), (.bceWithLogits, 0), (.crossEntropy, 0),
      (.unsignedDistance, 0), (.mse, 0.8), (.huber(delta: 0.5), 1.2),
    ]
    for (loss, truncation) in losses {
      var whole = [Float](repeating: 0, count: n * k)
      var parts = [Float](repeating: .nan, count: n * k)
      let expected = loss.evaluate(
        p, t, rows: n, columns: k, truncation: truncation, gradient: &whole)
      var total: Double = 0
      for (start, rows) in [(0, 10), (10, 20), (30, 7)] {
        parts.withUnsafeMutableBufferPointer { g in
          total += loss.sum(
            p.withUnsafeBufferPointer { $0.baseAddress! + start * k },
            t.withUnsafeBufferPointer { $0.baseAddress! + start * k }, rows: rows, columns: k,
            truncation: truncation, of: n, gradient: g.baseAddress! + start * k)
        }
      }
      let got = Float(total / Double(loss.denominator(rows: n, columns: k)))
      XCTAssertEqual(got, expected, accuracy: 1e-6 * abs(expected), "\(loss) \(truncation)")
      XCTAssertEqual(parts.map(\.bitPattern), whole.map(\.bitPattern), "\(loss) \(truncation)")
    }
  }

  func testOnlyEncodingPlusDenseModelsPipeline() throws {
    XCTAssertNotNil(RowPipeline(model: try model()))
    let mlp = try Model(json: #"{"kind": "mlp", "input": 3, "hidden": [16], "output": 1}"#)
    XCTAssertNil(RowPipeline(model: mlp))
    let kanDecoder = try Model(
      json:
        #"{"kind": "triplane", "resolution": 8, "channels": 4, "decoder": {"kind": "kan", "hidden": [4]}}"#
    )
    XCTAssertNil(RowPipeline(model: kanDecoder))
    let perField = try Model(
      json:
        #"{"kind": "triplane", "resolution": 8, "channels": 4, "fields": 2, "decoder_per_field": true}"#
    )
    XCTAssertNil(RowPipeline(model: perField))
  }

  /// Large `predict` and `inputGradient` calls share one channel-last plane copy over
  /// their chunks; the results must be those of calling them chunk by chunk (each call then
  /// makes its own copy), to the bit.
  func testChunkedPredictAndInputGradientMatchChunkByChunk() throws {
    let m = try model(output: 2)
    // Over `chunkRows` (8192 rows at 32 wide), and so over several of the input gradient's
    // chunks (a sixth of that, one per layer).
    let n = m.chunkRows + 300
    let (x, _) = data(n, output: 1)
    let y = try m.predict(x)
    let g = try m.inputGradient(x)
    for (rows, values, width) in [
      (m.chunkRows, y, 2), (m.chunkRows / m.layers.count, g, 6),
    ] {
      var start = 0
      while start < n {
        let end = min(n, start + rows)
        let part = Array(x[(start * 3)..<(end * 3)])
        let expected = width == 2 ? try m.predict(part) : try m.inputGradient(part)
        XCTAssertEqual(
          values[(start * width)..<(end * width)].map(\.bitPattern), expected.map(\.bitPattern),
          "rows \(start)..<\(end)")
        start = end
      }
    }
  }
}
