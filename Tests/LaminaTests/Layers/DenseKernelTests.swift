import XCTest

@testable import Lamina

/// The AVX2/FMA Dense kernels (`Dense+FMA.swift`, `CLaminaKernels/dense.h`): values against
/// a Double reference and against the sgemm path, fused relu bit for bit against the Swift
/// activation, finite-difference gradients, the same bits on one thread and on the pool,
/// and the fallback when the kernels are off. On a CPU without AVX2/FMA both paths are the
/// fallback and the comparisons hold trivially.
final class DenseKernelTests: XCTestCase {
  /// Widths around the kernels' vector (8), tile (16) and limit (`fmaMaxWidth`) sizes.
  static let widths = [1, 3, 7, 8, 9, 16, 33, 64, 65, 128]

  func makeDense(_ input: Int, _ output: Int, bias: Bool = true, seed: UInt64 = 3) -> Dense {
    let d = Dense(input: input, output: output, bias: bias)
    var rng = RandomSource(seed: seed)
    ModelBuilder.initialize(d, resolved: .xavierUniform, firstLayer: false, omega0: 30, rng: &rng)
    if let b = d.bias { b.value = (0..<output).map { _ in Float(rng.uniform(-0.5, 0.5)) } }
    return d
  }

  func randomValues(_ count: Int, seed: UInt64) -> [Float] {
    var rng = RandomSource(seed: seed)
    return (0..<count).map { _ in Float(rng.uniform(-2, 2)) }
  }

  /// The layer's outputs of the forward pass, and dx, dW, db of the backward pass from
  /// `dy` with the gradients starting at `start` (so that accumulation is checked).
  struct Pass {
    var z: [Float]
    var dx: [Float]
    var dW: [Float]
    var db: [Float]
  }

  func run(_ d: Dense, x: [Float], dy: [Float], n: Int, start: Float = 0.25) -> Pass {
    let (i, o) = (d.inputDim, d.outputDim)
    var z = [Float](repeating: .nan, count: n * o)
    var dx = [Float](repeating: .nan, count: n * i)
    d.weight.gradient = [Float](repeating: start, count: i * o)
    d.bias?.gradient = [Float](repeating: start, count: o)
    x.withUnsafeBufferPointer { xb in
      z.withUnsafeMutableBufferPointer { zb in
        d.forward(xb.baseAddress!, zb.baseAddress!, count: n)
        dy.withUnsafeBufferPointer { dyb in
          dx.withUnsafeMutableBufferPointer {
            d.backward(
              xb.baseAddress!, zb.baseAddress!, dyb.baseAddress!, $0.baseAddress!, count: n,
              parameterGradients: true)
          }
        }
      }
    }
    return Pass(z: z, dx: dx, dW: d.weight.gradient, db: d.bias?.gradient ?? [])
  }

  func assertClose(
    _ a: [Float], _ b: [Double], tolerance: Double, _ label: String, file: StaticString = #filePath,
    line: UInt = #line
  ) {
    XCTAssertEqual(a.count, b.count, label, file: file, line: line)
    var failures = 0
    for (k, (u, v)) in zip(a, b).enumerated()
    where !(abs(Double(u) - v) <= tolerance * max(1, abs(v))) {
      failures += 1
      if failures <= 3 { XCTFail("\(label)[\(k)]: \(u) vs \(v)", file: file, line: line) }
    }
  }

  func testKernelsMatchDoubleReference() throws {
    try XCTSkipUnless(CPUFeatures.hasAVX2FMA, "no AVX2/FMA on this CPU")
    // Rows not a multiple of the 6-row or 4-row tiles; every pair of awkward widths.
    for i in Self.widths {
      for o in Self.widths {
        for (n, bias) in [(7, true), (29, false)] {
          let d = makeDense(i, o, bias: bias)
          XCTAssertTrue(d.takesFMAPath)
          let x = randomValues(n * i, seed: UInt64(i * 131 + o))
          let dy = randomValues(n * o, seed: UInt64(i * 7 + o * 3))
          let p = run(d, x: x, dy: dy, n: n)
          let w = d.weight.value.map(Double.init)
          var z = [Double](repeating: 0, count: n * o)
          var dx = [Double](repeating: 0, count: n * i)
          var dW = [Double](repeating: 0.25, count: i * o)
          var db = [Double](repeating: 0.25, count: bias ? o : 0)
          for r in 0..<n {
            for j in 0..<o {
              var s = Double(d.bias?.value[j] ?? 0)
              for k in 0..<i { s += w[j * i + k] * Double(x[r * i + k]) }
              z[r * o + j] = s
              let g = Double(dy[r * o + j])
              for k in 0..<i {
                dx[r * i + k] += g * w[j * i + k]
                dW[j * i + k] += g * Double(x[r * i + k])
              }
              if bias { db[j] += g }
            }
          }
          let label = "\(i)->\(o) n \(n) bias \(bias)"
          assertClose(p.z, z, tolerance: 1e-5, "z \(label)")
          assertClose(p.dx, dx, tolerance: 1e-5, "dx \(label)")
          assertClose(p.dW, dW, tolerance: 1e-5, "dW \(label)")
          assertClose(p.db, db, tolerance: 1e-5, "db \(label)")
        }
      }
    }
  }

  /// The one-sample path (`forwardMatvecFMA`, batches below `Dense.smallBatch`) against a
  /// Double reference and against the path with the kernels off: widths around the kernel's
  /// 8-lane vectors and 4-output groups, with and without bias, 1 to 3 rows.
  func testFewRowsMatvecMatchesReference() throws {
    try XCTSkipUnless(CPUFeatures.hasAVX2FMA, "no AVX2/FMA on this CPU")
    for i in [8, 9, 15, 33, 64, 65, 128, 300] {
      for o in [4, 5, 7, 8, 64, 66, 129] {
        for (n, bias) in [(1, true), (3, false)] {
          let d = makeDense(i, o, bias: bias)
          let x = randomValues(n * i, seed: UInt64(i * 17 + o))
          func forward(_ layer: Dense) -> [Float] {
            var y = [Float](repeating: .nan, count: n * o)
            x.withUnsafeBufferPointer { xb in
              y.withUnsafeMutableBufferPointer {
                layer.forward(xb.baseAddress!, $0.baseAddress!, count: n)
              }
            }
            return y
          }
          let fast = forward(d)
          let fallback = d.copy() as! Dense
          fallback.usesFMAKernels = false
          let slow = forward(fallback)
          var reference = [Double](repeating: 0, count: n * o)
          for r in 0..<n {
            for j in 0..<o {
              var sum = Double(d.bias?.value[j] ?? 0)
              for k in 0..<i { sum += Double(x[r * i + k]) * Double(d.weight.value[j * i + k]) }
              reference[r * o + j] = sum
            }
          }
          let label = "\(i)->\(o) n \(n) bias \(bias)"
          assertClose(fast, reference, tolerance: 1e-5, "matvec " + label)
          assertClose(slow, reference, tolerance: 1e-5, "fallback " + label)
        }
      }
    }
  }

  func testKernelsMatchSgemmPath() {
    // Gradient blocks: 4096 rows, at most `maxGradientBlocks` of them for huge batches.
    XCTAssertEqual(RowPlan.gradientBlockRows(9000), RowPlan.minGradientBlockRows)
    XCTAssertEqual(RowPlan.gradientBlockRows(1 << 20), (1 << 20) / RowPlan.maxGradientBlocks)
    let huge = 10_000_001
    let hugeRows = RowPlan.gradientBlockRows(huge)
    XCTAssertEqual((huge + hugeRows - 1) / hugeRows, RowPlan.maxGradientBlocks)
    // Several gradient blocks (n > gradientBlockRows) and split passes; the fallback
    // (sgemm) as reference, within float rounding of sums over many rows.
    for (i, o, n, bias) in [(64, 64, 9000, true), (3, 64, 4099, true), (16, 1, 4500, false)] {
      let fast = makeDense(i, o, bias: bias)
      let slow = makeDense(i, o, bias: bias)
      slow.usesFMAKernels = false
      XCTAssertFalse(slow.takesFMAPath)
      let x = randomValues(n * i, seed: 5)
      let dy = randomValues(n * o, seed: 6)
      let a = run(fast, x: x, dy: dy, n: n)
      let b = run(slow, x: x, dy: dy, n: n)
      let label = "\(i)->\(o) n \(n)"
      assertClose(a.z, b.z.map(Double.init), tolerance: 1e-5, "z \(label)")
      assertClose(a.dx, b.dx.map(Double.init), tolerance: 1e-5, "dx \(label)")
      // Sums of thousands of terms of either sign: relative to their magnitude.
      assertClose(a.dW, b.dW.map(Double.init), tolerance: 2e-3, "dW \(label)")
      assertClose(a.db, b.db.map(Double.init), tolerance: 2e-3, "db \(label)")
    }
  }

  /// The fused Dense + activation passes (as the model runs them) with the kernels and with
  /// sgemm: z, a, dz, dx, dW, db.
  func fusedPass(_ d: Dense, _ act: ActivationLayer, n: Int) -> [[Float]] {
    let (i, o) = (d.inputDim, d.outputDim)
    let x = randomValues(n * i, seed: 11)
    // da and dx share a buffer, as in the model's backward pass.
    var shared = randomValues(n * max(i, o), seed: 12)
    var z = [Float](repeating: .nan, count: n * o)
    var a = [Float](repeating: .nan, count: n * o)
    var dz = [Float](repeating: .nan, count: n * o)
    d.weight.gradient = [Float](repeating: 0, count: i * o)
    d.bias?.gradient = [Float](repeating: 0, count: o)
    x.withUnsafeBufferPointer { xb in
      z.withUnsafeMutableBufferPointer { zb in
        a.withUnsafeMutableBufferPointer { ab in
          d.forward(xb.baseAddress!, zb.baseAddress!, count: n, then: act, ab.baseAddress!)
          shared.withUnsafeMutableBufferPointer { sb in
            dz.withUnsafeMutableBufferPointer { dzb in
              d.backward(
                then: act, xb.baseAddress!, zb.baseAddress!, ab.baseAddress!, sb.baseAddress!,
                dz: dzb.baseAddress!, sb.baseAddress!, count: n, parameterGradients: true)
            }
          }
        }
      }
    }
    return [z, a, dz, Array(shared.prefix(n * i)), d.weight.gradient, d.bias?.gradient ?? []]
  }

  func testFusedActivationsMatchSgemmPath() {
    let names = ["z", "a", "dz", "dx", "dW", "db"]
    for activation in [Activation.relu, .tanh] {
      for (i, o, n) in [(2, 64, 256), (64, 64, 37), (16, 64, 300), (65, 33, 10), (64, 1, 50)] {
        let fast = makeDense(i, o)
        let slow = makeDense(i, o)
        slow.usesFMAKernels = false
        let act = ActivationLayer(width: o, activation: activation)
        let a = fusedPass(fast, act, n: n)
        let b = fusedPass(slow, act, n: n)
        for (k, name) in names.enumerated() {
          // dz goes through relu's kink: a z within rounding of 0 may fall either side.
          let tolerance = name == "dW" || name == "db" ? 1e-4 : 1e-5
          assertClose(
            a[k], b[k].map(Double.init), tolerance: tolerance,
            "\(name) \(activation.name) \(i)->\(o) n \(n)")
        }
      }
    }
  }

  func testFusedReluMatchesSwiftActivationBitForBit() {
    // Relu written from the product's registers must be Swift's max(z, 0): NaN stays NaN,
    // -0 becomes +0. Inputs with NaN rows and rows of zeros (z = bias = -0 or +0).
    for (i, o) in [(64, 64), (3, 9), (64, 3)] {
      let d = makeDense(i, o, bias: true)
      d.bias!.value = (0..<o).map { $0 % 3 == 0 ? -0.0 : ($0 % 3 == 1 ? 0 : -1) }
      let n = 13
      var x = randomValues(n * i, seed: 21)
      for k in 0..<i { x[2 * i + k] = 0 }
      x[5 * i] = .nan
      var z = [Float](repeating: 1, count: n * o)
      var a = [Float](repeating: 1, count: n * o)
      let act = ActivationLayer(width: o, activation: .relu)
      x.withUnsafeBufferPointer { xb in
        z.withUnsafeMutableBufferPointer { zb in
          a.withUnsafeMutableBufferPointer {
            d.forward(xb.baseAddress!, zb.baseAddress!, count: n, then: act, $0.baseAddress!)
          }
        }
      }
      let expected = z.map { max($0, 0) }
      XCTAssertEqual(a.map(\.bitPattern), expected.map(\.bitPattern), "\(i)->\(o)")
      XCTAssertTrue(a[(5 * o)..<(6 * o)].allSatisfy(\.isNaN), "NaN row \(i)->\(o)")
    }
    // z = -0 exactly: bias -0 plus 0 * (negative weight) = -0 + -0.
    let d = makeDense(1, 9)
    d.weight.value = [Float](repeating: -1, count: 9)
    d.bias!.value = [Float](repeating: -0.0, count: 9)
    let n = 7
    let x = [Float](repeating: 0, count: n)
    var z = [Float](repeating: 1, count: n * 9)
    var a = [Float](repeating: 1, count: n * 9)
    x.withUnsafeBufferPointer { xb in
      z.withUnsafeMutableBufferPointer { zb in
        a.withUnsafeMutableBufferPointer {
          d.forward(
            xb.baseAddress!, zb.baseAddress!, count: n,
            then: ActivationLayer(width: 9, activation: .relu), $0.baseAddress!)
        }
      }
    }
    XCTAssertTrue(z.allSatisfy { $0 == 0 && $0.sign == .minus }, "z is -0")
    XCTAssertTrue(a.allSatisfy { $0 == 0 && $0.sign == .plus }, "relu(-0) is +0, as max(-0, 0)")
  }

  func testGradientCheck() {
    // Batches of at least Dense.smallBatch rows take the kernels in forward too.
    for (i, o, bias) in [(3, 9, true), (9, 1, true), (16, 17, false), (8, 33, true)] {
      for n in [5, 13] {
        let d = makeDense(i, o, bias: bias)
        XCTAssertEqual(d.takesFMAPath, CPUFeatures.hasAVX2FMA)
        assertGradientsCorrect(of: d, label: "dense \(i)->\(o) bias \(bias) n \(n)", batch: n) {
          _, _, rng in Float(rng.uniform(-1, 1))
        }
      }
    }
  }

  func testSameBitsSeriallyAndOnThePool() {
    // A call from inside a pool task runs its tasks one after another on that thread
    // (WorkerPool's nesting rule); from the test thread they spread over the pool. Both
    // must give the same bits, including the gradient blocks' partial sums.
    for (i, o, n) in [(64, 64, 9001), (3, 64, 8200), (64, 64, 256), (16, 64, 5000)] {
      let d = makeDense(i, o)
      let x = randomValues(n * i, seed: 31)
      let dy = randomValues(n * o, seed: 32)
      let parallel = run(d, x: x, dy: dy, n: n)
      var serial: Pass?
      WorkerPool.shared.run(2) { task in
        if task == 0 { serial = self.run(d, x: x, dy: dy, n: n) }
      }
      let label = "\(i)->\(o) n \(n)"
      XCTAssertEqual(parallel.z.map(\.bitPattern), serial?.z.map(\.bitPattern), "z \(label)")
      XCTAssertEqual(parallel.dx.map(\.bitPattern), serial?.dx.map(\.bitPattern), "dx \(label)")
      XCTAssertEqual(parallel.dW.map(\.bitPattern), serial?.dW.map(\.bitPattern), "dW \(label)")
      XCTAssertEqual(parallel.db.map(\.bitPattern), serial?.db.map(\.bitPattern), "db \(label)")
    }
  }

  func testFallbackAndWidthLimit() {
    // Turned off, or wider than fmaMaxWidth, the layer keeps sgemm; the fallback still
    // computes the right values.
    let wide = makeDense(Dense.fmaMaxWidth + 1, 8)
    XCTAssertFalse(wide.takesFMAPath)
    XCTAssertFalse(makeDense(8, Dense.fmaMaxWidth + 1).takesFMAPath)
    XCTAssertEqual(
      makeDense(Dense.fmaMaxWidth, Dense.fmaMaxWidth).takesFMAPath, CPUFeatures.hasAVX2FMA)
    let d = makeDense(9, 7)
    d.usesFMAKernels = false
    XCTAssertEqual((d.copy() as? Dense)?.takesFMAPath, false, "a copy keeps the setting")
    let n = 11
    let x = randomValues(n * 9, seed: 41)
    let dy = randomValues(n * 7, seed: 42)
    let p = run(d, x: x, dy: dy, n: n)
    for r in 0..<n {
      for j in 0..<7 {
        var s = Double(d.bias!.value[j])
        for k in 0..<9 { s += Double(d.weight.value[j * 9 + k]) * Double(x[r * 9 + k]) }
        XCTAssertEqual(Double(p.z[r * 7 + j]), s, accuracy: 1e-5)
      }
    }
    var db = [Double](repeating: 0.25, count: 7)
    for r in 0..<n { for j in 0..<7 { db[j] += Double(dy[r * 7 + j]) } }
    assertClose(p.db, db, tolerance: 1e-5, "fallback db")
  }

  func testModelTrainsTheSameWithAndWithoutKernels() throws {
    // A small MLP's loss after a few Adam steps, kernels on and off: the same to float
    // rounding (the fused Dense + relu passes through Model).
    func losses(kernels: Bool) throws -> [Float] {
      let m = try Model(json: #"{"kind": "mlp", "input": 2, "hidden": [64, 64], "output": 1}"#)
      for case let d as Dense in m.layers { d.usesFMAKernels = kernels }
      let trainer = Trainer(model: m)
      let n = 256
      let x = randomValues(n * 2, seed: 51)
      let y = (0..<n).map { sin(3 * x[2 * $0]) * x[2 * $0 + 1] }
      return try (0..<5).map { _ in try trainer.step(x, y, count: n) }
    }
    let a = try losses(kernels: CPUFeatures.hasAVX2FMA)
    let b = try losses(kernels: false)
    for (u, v) in zip(a, b) { XCTAssertEqual(u, v, accuracy: 1e-4 * max(1, abs(v))) }
    XCTAssertLessThan(a[4], a[0], "training lowers the loss")
  }
}
