import XCTest

@testable import Lamina

/// `BLAS.gemm`'s parallel split: blocks of rows or columns of C, each one single-threaded
/// sgemm over all of k, must give the same C as one call (the same products and sums, so to
/// float rounding; in practice the same bits), for every transpose and leading dimension.
final class BLASTests: XCTestCase {
  /// Reference C = alpha op(A) op(B) + beta C in Double, row-major, with leading dimensions.
  static func naive(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: [Float], lda: Int,
    b: [Float], ldb: Int, beta: Float, c: inout [Float], ldc: Int
  ) {
    for i in 0..<m {
      for j in 0..<n {
        var s = 0.0
        for p in 0..<k {
          let av = transA ? a[p * lda + i] : a[i * lda + p]
          let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
          s += Double(av) * Double(bv)
        }
        c[i * ldc + j] = Float(Double(alpha) * s + Double(beta) * Double(c[i * ldc + j]))
      }
    }
  }

  func testSplitPlans() throws {
    // Small products stay whole; large ones split over rows, or columns when C has few rows.
    XCTAssertNil(RowPlan.split(m: 128, n: 64, k: 64))
    XCTAssertNil(RowPlan.split(m: 2, n: 64, k: 64), "a one-row predict never reaches the pool")
    // A small MLP's training products (batch 256, width 64) split in two.
    let small = try XCTUnwrap(RowPlan.split(m: 256, n: 64, k: 64))
    XCTAssertEqual(small.axis, .rows)
    XCTAssertEqual(small.blocks, 2)
    let gradient = try XCTUnwrap(RowPlan.split(m: 64, n: 64, k: 256))
    XCTAssertEqual(gradient.axis, .columns, "C small, k short: narrow column blocks")
    XCTAssertEqual(gradient.blocks, 2)
    XCTAssertEqual(gradient.size, RowPlan.blockColumns)
    XCTAssertEqual(RowPlan.split(m: 512, n: 64, k: 64)?.blocks, 4)
    let rows = try XCTUnwrap(RowPlan.split(m: 4096, n: 256, k: 256))
    XCTAssertEqual(rows.axis, .rows)
    XCTAssertEqual(rows.blocks, RowPlan.maxBlocks)
    XCTAssertEqual(rows.size * rows.blocks, 4096)
    let columns = try XCTUnwrap(RowPlan.split(m: 1, n: 65536, k: 256))
    XCTAssertEqual(columns.axis, .columns)
    XCTAssertGreaterThan(columns.blocks, 1)
    XCTAssertGreaterThanOrEqual(columns.size * columns.blocks, 65536)
    XCTAssertLessThan(columns.size * (columns.blocks - 1), 65536, "no empty block")
    // C too small to split, long k (a weight gradient over a large batch): k is split.
    let inner = try XCTUnwrap(RowPlan.split(m: 64, n: 64, k: 65536))
    XCTAssertEqual(inner.axis, .inner)
    XCTAssertEqual(inner.blocks, RowPlan.maxInnerBlocks)
    XCTAssertEqual(inner.size * inner.blocks, 65536)
    // A 256-wide weight gradient over 4096 rows: k long against m and n, so k is split
    // (B is packed once, not once per row block).
    let weightGradient = try XCTUnwrap(RowPlan.split(m: 256, n: 256, k: 4096))
    XCTAssertEqual(weightGradient.axis, .inner)
    XCTAssertEqual(weightGradient.size * weightGradient.blocks, 4096)
    XCTAssertEqual(try XCTUnwrap(RowPlan.split(m: 512, n: 256, k: 4096)).axis, .rows)
    XCTAssertEqual(try XCTUnwrap(RowPlan.split(m: 256, n: 256, k: 2047)).axis, .rows)
    XCTAssertEqual(try XCTUnwrap(RowPlan.split(m: 300, n: 300, k: 65536)).axis, .rows, "C large")
    // Row blocks of per-row work (a 256 -> 256 layer's fused forward: 256 x (256 + 16)
    // multiply-adds a row) still split: that "product" has no inner dimension to split.
    for m in [1024, 4096] {
      let blocks = try XCTUnwrap(RowPlan.rowBlocks(m: m, rowWork: 256 * 272), "m \(m)")
      XCTAssertGreaterThan(blocks.blocks, 1)
    }
    XCTAssertNil(RowPlan.split(m: 64, n: 63, k: 250), "too small every way")
    XCTAssertNil(RowPlan.split(m: 200, n: 40, k: 200), "fewer than two blocks of anything")
    let narrow = try XCTUnwrap(RowPlan.split(m: 200, n: 200, k: 200))
    XCTAssertEqual(narrow.axis, .columns, "fewer than two row blocks, k short")
    XCTAssertEqual(narrow.size % RowPlan.blockColumns, 0)
    XCTAssertGreaterThanOrEqual(narrow.size * narrow.blocks, 200)
    XCTAssertLessThan(narrow.size * (narrow.blocks - 1), 200)
    // Odd sizes: the blocks cover the dimension exactly once, the last one shorter.
    for m in [2 * RowPlan.blockRows + 1, 1000, 4097] {
      let plan = try XCTUnwrap(RowPlan.split(m: m, n: 64, k: 1024), "m \(m)")
      XCTAssertEqual(plan.axis, .rows)
      XCTAssertEqual(plan.size % RowPlan.blockRows, 0)
      XCTAssertGreaterThanOrEqual(plan.size * plan.blocks, m)
      XCTAssertLessThan(plan.size * (plan.blocks - 1), m)
    }
  }

  func testSplitProductsMatchOneCallAndReference() {
    var rng = RandomSource(seed: 11)
    // Shapes large enough to split (>= RowPlan.splitWork multiply-adds), odd sizes, both
    // transposes, padded leading dimensions, beta 0 and 1, column splits (m small).
    let shapes: [(m: Int, n: Int, k: Int)] = [
      (1001, 67, 65), (97, 331, 1029), (5, 4099, 257), (20, 3000, 97), (333, 33, 400),
      (40, 50, 9000), (100, 7, 6001),
    ]
    for (m, n, k) in shapes {
      XCTAssertNotNil(RowPlan.split(m: m, n: n, k: k), "\(m)x\(n)x\(k) should split")
      for transA in [false, true] {
        for transB in [false, true] {
          for beta: Float in [0, 1] {
            let lda = (transA ? m : k) + 3
            let ldb = (transB ? k : n) + 1
            let ldc = n + 2
            let a = (0..<((transA ? k : m) * lda)).map { _ in Float(rng.uniform(-1, 1)) }
            let b = (0..<((transB ? n : k) * ldb)).map { _ in Float(rng.uniform(-1, 1)) }
            let c0 = (0..<(m * ldc)).map { _ in Float(rng.uniform(-1, 1)) }
            var split = c0
            var whole = c0
            var reference = c0
            a.withUnsafeBufferPointer { ab in
              b.withUnsafeBufferPointer { bb in
                split.withUnsafeMutableBufferPointer { cb in
                  BLAS.gemm(
                    transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5,
                    ab.baseAddress!, lda: lda, bb.baseAddress!, ldb: ldb, beta: beta,
                    cb.baseAddress!, ldc: ldc)
                }
                whole.withUnsafeMutableBufferPointer { cb in
                  _ = BLAS.singleThreaded
                  BLAS.call(
                    transA, transB, m, n, k, 0.5, ab.baseAddress!, lda, bb.baseAddress!, ldb,
                    beta, cb.baseAddress!, ldc)
                }
              }
            }
            // The Double reference is slow in debug builds: check it for half the cases.
            let checkReference = transA == transB
            if checkReference {
              Self.naive(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda,
                b: b, ldb: ldb, beta: beta, c: &reference, ldc: ldc)
            }
            let label = "\(m)x\(n)x\(k) transA \(transA) transB \(transB) beta \(beta)"
            var worstWhole: Float = 0
            var worstReference: Float = 0
            for i in 0..<m {
              for j in 0..<ldc {
                let idx = i * ldc + j
                if j >= n {
                  // Padding between rows of C is never written.
                  XCTAssertEqual(split[idx], c0[idx], "\(label): padding changed")
                  continue
                }
                worstWhole = max(worstWhole, abs(split[idx] - whole[idx]))
                if checkReference {
                  worstReference = max(worstReference, abs(split[idx] - reference[idx]))
                }
              }
            }
            // Same products and sums as one call: equal up to rounding of a k-term sum.
            XCTAssertLessThanOrEqual(worstWhole, 1e-5 * Float(k).squareRoot(), label)
            XCTAssertLessThanOrEqual(worstReference, 1e-4 * Float(k).squareRoot(), label)
          }
        }
      }
    }
  }

  /// Row blocks cover every row exactly once, in parallel blocks or as one.
  func testRowBlocksCoverEveryRowOnce() {
    for (m, rowWork) in [(1, 10), (300, 100), (5000, 64 * 24), (4097, 256 * 19)] {
      let hits = UnsafeMutablePointer<Int32>.allocate(capacity: m)
      defer { hits.deallocate() }
      hits.initialize(repeating: 0, count: m)
      var calls = 0
      let lock = NSLock()
      BLAS.forEachRowBlock(m: m, rowWork: rowWork) { start, count in
        for r in start..<(start + count) { hits[r] += 1 }
        lock.lock()
        calls += 1
        lock.unlock()
      }
      XCTAssertTrue((0..<m).allSatisfy { hits[$0] == 1 }, "m \(m) work \(rowWork)")
      let plan = RowPlan.split(m: m, n: 1, k: rowWork)
      XCTAssertEqual(calls, plan?.blocks ?? 1, "m \(m) work \(rowWork)")
    }
  }

  /// The same product twice gives the same bits (blocks are fixed by the shape).
  func testSplitIsDeterministic() {
    var rng = RandomSource(seed: 5)
    let (m, n, k) = (2048, 96, 160)
    let a = (0..<(m * k)).map { _ in Float(rng.uniform(-1, 1)) }
    let b = (0..<(n * k)).map { _ in Float(rng.uniform(-1, 1)) }
    func run() -> [Float] {
      var c = [Float](repeating: 0, count: m * n)
      a.withUnsafeBufferPointer { ab in
        b.withUnsafeBufferPointer { bb in
          c.withUnsafeMutableBufferPointer { cb in
            BLAS.gemm(
              transA: false, transB: true, m: m, n: n, k: k, alpha: 1, ab.baseAddress!, lda: k,
              bb.baseAddress!, ldb: k, beta: 0, cb.baseAddress!, ldc: n)
          }
        }
      }
      return c
    }
    let first = run()
    for _ in 0..<3 { XCTAssertEqual(run(), first) }
  }

  /// The vectorised Adam update equals the scalar formula lane for lane (Adam with L2, AdamW
  /// with decoupled decay), including the tail past the last multiple of eight.
  func testVectorisedAdamMatchesScalar() {
    var rng = RandomSource(seed: 9)
    let count = 37
    for (decay, l2): (Float, Float) in [(1, 0), (1, 0.01), (0.999, 0)] {
      var w = (0..<count).map { _ in Float(rng.uniform(-1, 1)) }
      let g = (0..<count).map { _ in Float(rng.uniform(-1, 1)) }
      var m = (0..<count).map { _ in Float(rng.uniform(-0.1, 0.1)) }
      var v = (0..<count).map { _ in Float(rng.uniform(0, 0.1)) }
      var (ws, ms, vs) = (w, m, v)
      let (b1, b2, eps, stepSize, bc2Root): (Float, Float, Float, Float, Float) = (
        0.9, 0.999, 1e-8, 1e-3 / 0.1, 0.0447
      )
      for i in 0..<count {
        let wi = ws[i] * decay
        let gi = g[i] + l2 * wi
        ms[i] = b1 * ms[i] + (1 - b1) * gi
        vs[i] = b2 * vs[i] + (1 - b2) * gi * gi
        ws[i] = wi - stepSize * ms[i] / (vs[i].squareRoot() / bc2Root + eps)
      }
      w.withUnsafeMutableBufferPointer { wb in
        m.withUnsafeMutableBufferPointer { mb in
          v.withUnsafeMutableBufferPointer { vb in
            g.withUnsafeBufferPointer { gb in
              Optimizer.adam(
                wb.baseAddress!, gb.baseAddress!, mb.baseAddress!, vb.baseAddress!,
                count: count, beta1: b1, beta2: b2, epsilon: eps, stepSize: stepSize,
                bc2Root: bc2Root, decay: decay, l2: l2)
            }
          }
        }
      }
      XCTAssertEqual(w, ws, "decay \(decay) l2 \(l2)")
      XCTAssertEqual(m, ms)
      XCTAssertEqual(v, vs)
    }
  }

  func testSumOfSquares() {
    for count in [0, 1, 7, 8, 9, 100] {
      let x = (0..<count).map { Float($0 % 5) - 1.5 }
      let expected = x.reduce(0.0) { $0 + Double($1) * Double($1) }
      let got = x.withUnsafeBufferPointer { b in
        b.baseAddress.map { Trainer.sumOfSquares($0, count: count) } ?? 0
      }
      XCTAssertEqual(Double(got), expected, accuracy: 1e-4, "count \(count)")
    }
  }
  /// The model's fused Dense + activation passes (forward per row block, backward with the
  /// activation and dx per row block) give what the layers give one at a time: outputs,
  /// every parameter gradient and the input gradient, for small batches (dot products),
  /// mid-size ones (one block) and large ones (parallel blocks), with a PReLU slope whose
  /// gradient keeps that pair unfused.
  func testFusedDenseActivationMatchesLayerByLayer() throws {
    let spec =
      #"{"kind": "mlp", "input": 5, "hidden": [24, 128, 40], "output": 3, "activation": ["relu", "tanh", {"name": "prelu", "init": 0.2}]}"#
    // Widths grow (24 -> 128), so a fused block writing where a later block still reads
    // its input would show; 2500 rows make two prediction chunks (2048 rows each at most).
    for n in [2, 37, 2500] {
      let model = try Model(json: spec)
      XCTAssertEqual(model.fused.compactMap { $0 }.count, 3, "three Dense + activation pairs")
      if n == 2500 {
        XCTAssertEqual(model.chunkRows, 2048)
        XCTAssertNotNil(
          RowPlan.split(m: 2048, n: 1, k: 128 * (24 + 2 * RowPlan.elementWork)),
          "large enough for parallel blocks")
      }
      var rng = RandomSource(seed: UInt64(n))
      let x = (0..<(n * 5)).map { _ in Float(rng.uniform(-1, 1)) }
      let dOut = (0..<(n * 3)).map { _ in Float(rng.uniform(-1, 1)) }
      // Fused: the model's own passes.
      let ws = Workspace()
      ws.wantInputGradient = true
      for p in model.parameters { p.gradient = [Float](repeating: 0, count: p.count) }
      var fusedOut: [Float] = []
      var fusedDx: [Float] = []
      x.withUnsafeBufferPointer { xb in
        let out = model.forward(xb.baseAddress!, count: n, workspace: ws)
        fusedOut = Array(UnsafeBufferPointer(start: out, count: n * 3))
        ws.gradientOut.update(from: dOut, count: n * 3)
        let dx = model.backward(xb.baseAddress!, count: n, workspace: ws, parameterGradients: true)
        fusedDx = Array(UnsafeBufferPointer(start: dx, count: n * 5))
      }
      let fusedGradients = model.parameters.map(\.gradient)
      // Layer by layer, through the Layer protocol.
      for p in model.parameters { p.gradient = [Float](repeating: 0, count: p.count) }
      var acts: [[Float]] = [x]
      for layer in model.layers {
        var y = [Float](repeating: 0, count: n * layer.outputDim)
        acts.last!.withUnsafeBufferPointer { xb in
          y.withUnsafeMutableBufferPointer {
            layer.forward(xb.baseAddress!, $0.baseAddress!, count: n)
          }
        }
        acts.append(y)
      }
      var dy = dOut
      for (i, layer) in model.layers.enumerated().reversed() {
        var dx = [Float](repeating: 0, count: n * layer.inputDim)
        acts[i].withUnsafeBufferPointer { xb in
          acts[i + 1].withUnsafeBufferPointer { yb in
            dy.withUnsafeBufferPointer { db in
              dx.withUnsafeMutableBufferPointer {
                layer.backward(
                  xb.baseAddress!, yb.baseAddress!, db.baseAddress!, $0.baseAddress!, count: n,
                  parameterGradients: true)
              }
            }
          }
        }
        dy = dx
      }
      func close(_ a: [Float], _ b: [Float], _ what: String) {
        XCTAssertEqual(a.count, b.count, what)
        let worst = zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1e-5, "n \(n): \(what)")
      }
      close(fusedOut, acts.last!, "output")
      close(fusedDx, dy, "input gradient")
      for (i, p) in model.parameters.enumerated() {
        close(fusedGradients[i], p.gradient, "gradient of parameter \(i)")
        XCTAssertTrue(p.gradient.contains { $0 != 0 }, "n \(n): parameter \(i) got a gradient")
      }
      // Batch prediction fuses the same way.
      let predicted = try model.predict(x)
      close(predicted, acts.last!, "predict")
    }
  }
}
