import XCTest

@testable import Lamina

/// Dense layers: the shared gradient check, and values against a hand-written reference.
final class DenseTests: XCTestCase {
  func makeDense(_ input: Int, _ output: Int, bias: Bool = true, seed: UInt64 = 3) -> Dense {
    let d = Dense(input: input, output: output, bias: bias)
    var rng = RandomSource(seed: seed)
    ModelBuilder.initialize(d, resolved: .xavierUniform, firstLayer: false, omega0: 30, rng: &rng)
    return d
  }

  func testGradientCheck() {
    // Batch 6 takes sgemm in forward, batch 2 the small-batch dot products.
    for (i, o, bias) in [(3, 5, true), (7, 1, true), (1, 4, false), (16, 16, true), (13, 9, true)] {
      for n in [6, 2] {
        assertGradientsCorrect(
          of: makeDense(i, o, bias: bias), label: "dense \(i)->\(o) bias \(bias) n \(n)", batch: n
        ) {
          _, _, rng in Float(rng.uniform(-1, 1))
        }
      }
    }
  }

  func testForwardMatchesNaiveLoops() {
    // Batches below Dense.smallBatch take the dot-product path, larger ones sgemm; widths
    // that are not multiples of 8 (lanes) or 4 (outputs per pass) exercise the tails.
    for (i, o, n) in [(4, 3, 5), (4, 3, 1), (13, 7, 2), (64, 64, 3), (17, 9, 9)] {
      checkForward(makeDense(i, o), n: n)
    }
  }

  func testFewRowKernelsMatchNaiveLoops() {
    // Dense+FewRows.swift: narrow inputs (< 8 features; outputs not a multiple of 4 test
    // the scalar tail), sgemv for moderate layers (64 x 64, 32 x 40), the dot products
    // for the rest (64 -> 1, 8 -> 4, 100 x 100 above the sgemv limit); with and without
    // bias, one to three rows.
    let shapes = [
      (3, 64), (3, 6), (5, 9), (1, 1), (7, 3), (64, 64), (32, 40), (64, 1), (8, 4), (100, 100),
    ]
    for (i, o) in shapes {
      for n in 1..<Dense.smallBatch {
        for bias in [true, false] { checkForward(makeDense(i, o, bias: bias), n: n) }
      }
    }
    let d = makeDense(3, 64)
    XCTAssertTrue(d.inputDim < Dense.narrowInput)
    XCTAssertTrue((Dense.gemvMinElements..<Dense.gemvMaxElements).contains(64 * 64))
  }

  func testFewRowKernelsOverwriteGarbage() {
    // The sgemv path accumulates into y (beta 1); it must not see what y held before.
    for (i, o) in [(64, 64), (3, 8)] {
      for bias in [true, false] {
        let d = makeDense(i, o, bias: bias)
        let x = [Float](repeating: 0.5, count: i)
        var y = [Float](repeating: .nan, count: o)
        var z = [Float](repeating: 1e30, count: o)
        x.withUnsafeBufferPointer { xb in
          y.withUnsafeMutableBufferPointer { d.forward(xb.baseAddress!, $0.baseAddress!, count: 1) }
          z.withUnsafeMutableBufferPointer { d.forward(xb.baseAddress!, $0.baseAddress!, count: 1) }
        }
        XCTAssertEqual(y, z, "\(i)->\(o) bias \(bias)")
        XCTAssertTrue(y.allSatisfy(\.isFinite))
      }
    }
  }

  func checkForward(_ d: Dense, n: Int) {
    var rng = RandomSource(seed: 9)
    let (i, o) = (d.inputDim, d.outputDim)
    let x = (0..<(n * i)).map { _ in Float(rng.uniform(-2, 2)) }
    var y = [Float](repeating: .nan, count: n * o)
    x.withUnsafeBufferPointer { xb in
      y.withUnsafeMutableBufferPointer { d.forward(xb.baseAddress!, $0.baseAddress!, count: n) }
    }
    for r in 0..<n {
      for j in 0..<o {
        var s = Double(d.bias?.value[j] ?? 0)
        for k in 0..<i { s += Double(d.weight.value[j * i + k]) * Double(x[r * i + k]) }
        XCTAssertEqual(
          Double(y[r * o + j]), s, accuracy: 1e-5, "\(i)->\(o) n \(n) row \(r) out \(j)")
      }
    }
  }

  /// The whole model's parameter gradients (through every layer) against finite differences
  /// of the training loss, for a network mixing activations.
  func testModelGradientsThroughTheTrainerPath() throws {
    let m = try Model(
      json:
        #"{"kind": "mlp", "input": 3, "hidden": [6, 5], "output": 2, "activation": ["tanh", {"name": "prelu", "init": 0.2}]}"#
    )
    var rng = RandomSource(seed: 4)
    let n = 4
    let x = (0..<(n * 3)).map { _ in Float(rng.uniform(-1, 1)) }
    let t = (0..<(n * 2)).map { _ in Float(rng.uniform(-1, 1)) }
    let ws = Workspace()
    func lossValue() -> Float {
      x.withUnsafeBufferPointer { xb in
        t.withUnsafeBufferPointer { tb in
          let out = m.forward(xb.baseAddress!, count: n, workspace: ws)
          return Loss.mse.evaluate(out, tb.baseAddress!, rows: n, columns: 2, gradient: nil)
        }
      }
    }
    for p in m.parameters { p.gradient = [Float](repeating: 0, count: p.count) }
    x.withUnsafeBufferPointer { xb in
      t.withUnsafeBufferPointer { tb in
        let out = m.forward(xb.baseAddress!, count: n, workspace: ws)
        _ = Loss.mse.evaluate(out, tb.baseAddress!, rows: n, columns: 2, gradient: ws.gradientOut)
        m.backward(xb.baseAddress!, count: n, workspace: ws, parameterGradients: true)
      }
    }
    for (name, p) in m.tensors {
      for i in stride(from: 0, to: p.count, by: max(1, p.count / 7)) {
        let v = p.value[i]
        p.value[i] = v + 1e-3
        let a = lossValue()
        p.value[i] = v - 1e-3
        let b = lossValue()
        p.value[i] = v
        XCTAssertEqual(p.gradient[i], (a - b) / 2e-3, accuracy: 2e-3, "\(name)[\(i)]")
      }
    }
  }
}
