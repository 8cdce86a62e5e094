import XCTest

@testable import Lamina

/// The training passes that reuse forward's basis rows in backward (`ForwardCache`,
/// BSplineKANLayer+Reuse.swift): the same outputs and gradients to the bit as the stateless
/// passes, the cache really read, and a stale cache never read. Layers come from
/// `randomKANLayer` (KANTests.swift), with a partial mask.
final class KANReuseTests: XCTestCase {
  /// n rows mostly inside the grid, some outside (only SiLU there), some on knots.
  func inputs(_ n: Int, _ nIn: Int, seed: UInt64) -> [Float] {
    var rng = RandomSource(seed: seed)
    return (0..<(n * nIn)).map { e in
      switch e % 37 {
      case 5: return 3.5
      case 6: return -2.9
      case 7: return 0.2  // a knot of the default grid
      default: return Float(rng.uniform(-1.3, 1.3))
      }
    }
  }

  struct Result: Equatable {
    var y: [UInt32]
    var dx: [UInt32]
    var gradients: [[UInt32]]
  }

  /// Forward then backward (dx and parameter gradients from zero), plain or through `cache`.
  func run(
    _ layer: BSplineKANLayer, _ x: [Float], _ dy: [Float], rows n: Int,
    cache: ForwardCache?, between: ((UnsafeMutablePointer<Float>) -> Void)? = nil,
    backwardRows: Int? = nil
  ) -> Result {
    var x = x
    for p in layer.parameters { p.gradient = [Float](repeating: 0, count: p.count) }
    var y = [Float](repeating: .nan, count: n * layer.outputDim)
    var dx = [Float](repeating: .nan, count: n * layer.inputDim)
    x.withUnsafeMutableBufferPointer { xb in
      let xp = xb.baseAddress!
      y.withUnsafeMutableBufferPointer { yb in
        if let cache {
          layer.forward(xp, yb.baseAddress!, count: n, keeping: cache)
        } else {
          layer.forward(xp, yb.baseAddress!, count: n)
        }
        between?(xp)
        let m = backwardRows ?? n
        dy.withUnsafeBufferPointer { db in
          dx.withUnsafeMutableBufferPointer { dxb in
            if let cache {
              layer.backward(
                xp, yb.baseAddress!, db.baseAddress!, dxb.baseAddress!, count: m,
                parameterGradients: true, reusing: cache)
            } else {
              layer.backward(
                xp, yb.baseAddress!, db.baseAddress!, dxb.baseAddress!, count: m,
                parameterGradients: true)
            }
          }
        }
      }
    }
    return Result(
      y: y.map(\.bitPattern), dx: dx.map(\.bitPattern),
      gradients: layer.parameters.map { $0.gradient.map(\.bitPattern) })
  }

  /// (in, out, G, k, n, non-uniform): dense path (uniform cubic, several blocks; general
  /// knots; order 2) and sparse path (row-major sums with blocks that match forward's and
  /// with blocks that do not; per-input sums; general knots).
  let cases: [(Int, Int, Int, Int, Int, Bool)] = [
    (3, 5, 5, 3, 3000, false), (64, 10, 5, 3, 1024, false), (4, 6, 5, 2, 700, true),
    (2, 3, 3, 1, 77, false), (5, 7, 100, 3, 1024, false), (5, 7, 100, 3, 1000, false),
    (20, 16, 400, 3, 600, false), (3, 4, 100, 3, 513, true), (2, 9, 60, 2, 300, false),
  ]

  func testReusingPassesGiveTheSameBits() {
    for (i, o, g, k, n, nonUniform) in cases {
      let layer = randomKANLayer(i, o, grid: g, order: k, nonUniform: nonUniform, masked: true)
      let x = inputs(n, i, seed: 3)
      var rng = RandomSource(seed: 4)
      let dy = (0..<(n * o)).map { _ in Float(rng.uniform(-1, 1)) }
      let plain = run(layer, x, dy, rows: n, cache: nil)
      let cache = ForwardCache()
      let reused = run(layer, x, dy, rows: n, cache: cache)
      let label = "\(i)->\(o) G \(g) k \(k) n \(n)\(nonUniform ? " non-uniform" : "")"
      XCTAssertEqual(reused.y, plain.y, "\(label): outputs")
      XCTAssertEqual(reused.dx, plain.dx, "\(label): input gradient")
      XCTAssertEqual(reused.gradients, plain.gradients, "\(label): parameter gradients")
      XCTAssertFalse(plain.y.contains(Float.nan.bitPattern), label)
      XCTAssertTrue(cache.isFilled, "\(label): nothing kept")
    }
  }

  /// Proof that backward reads the cache: corrupting the cached bases changes the
  /// gradients; and that it never reads a stale one: with the input changed in place, the
  /// knots moved, fewer rows or another layer, the corrupted cache is ignored and the
  /// results are the recomputing path's.
  func testCacheIsReadAndStaleCacheIsNot() {
    for (i, o, g, k, n, nonUniform) in [
      (3, 5, 5, 3, 600, false), (5, 7, 100, 3, 512, false), (4, 6, 5, 2, 300, true),
    ] {
      let label = "\(i)->\(o) G \(g) k \(k)"
      let layer = randomKANLayer(i, o, grid: g, order: k, nonUniform: nonUniform, masked: true)
      let x = inputs(n, i, seed: 8)
      var rng = RandomSource(seed: 9)
      let dy = (0..<(n * o)).map { _ in Float(rng.uniform(-1, 1)) }
      let cache = ForwardCache()
      // Corrupts the cached bases and derivatives of every block (and dense rows).
      func corrupt(_ xp: UnsafeMutablePointer<Float>) {
        guard
          let memory = cache.contents(
            for: layer, input: xp, rows: n, layout: layer.cacheLayout(n).tag)
        else { return XCTFail("\(label): the cache was not filled") }
        let view = layer.basisCache(memory, n)
        let blocks = layer.cacheLayout(n).blocks
        for b in 0..<blocks {
          if view.denseFloats > 0 {
            let a = view.dense(b)
            for e in 0..<view.denseFloats { a[e] += 0.25 }
          }
          for input in 0..<i {
            let block = view.block(b, input)
            for e in 0..<((k + 1) * block.capacity) {
              block.values[e] += 0.5
              block.derivatives[e] += 0.5
            }
          }
        }
      }
      let plain = run(layer, x, dy, rows: n, cache: nil)
      let corrupted = run(layer, x, dy, rows: n, cache: cache, between: corrupt)
      XCTAssertEqual(corrupted.y, plain.y, label)
      XCTAssertNotEqual(corrupted.dx, plain.dx, "\(label): backward did not read the cache")
      XCTAssertNotEqual(corrupted.gradients, plain.gradients, label)

      // Input changed in place after forward (same pointer, same n).
      var changed = x
      for e in stride(from: 0, to: changed.count, by: 7) { changed[e] *= 0.5 }
      let expected = run(layer, changed, dy, rows: n, cache: nil)
      let stale = run(
        layer, x, dy, rows: n, cache: cache,
        between: { xp in
          corrupt(xp)
          for e in stride(from: 0, to: n * i, by: 7) { xp[e] *= 0.5 }
        })
      XCTAssertEqual(stale.dx, expected.dx, "\(label): stale input read")
      XCTAssertEqual(stale.gradients, expected.gradients, "\(label): stale input read")
      // One bit of one value: -0 for 0 would be the same number, but not the same bits.
      let flipped = run(
        layer, x, dy, rows: n, cache: cache,
        between: { xp in
          corrupt(xp)
          xp[n * i - 1] = xp[n * i - 1].nextUp
        })
      var nudged = x
      nudged[n * i - 1] = nudged[n * i - 1].nextUp
      let nudgedPlain = run(layer, nudged, dy, rows: n, cache: nil)
      XCTAssertEqual(flipped.gradients, nudgedPlain.gradients, "\(label): one-ulp change read")

      // Knots moved after forward: backward sees the new grid.
      let saved = layer.grid.value
      let shifted = run(
        layer, x, dy, rows: n, cache: cache,
        between: { xp in
          corrupt(xp)
          for e in layer.grid.value.indices { layer.grid.value[e] += 0.03125 }
        })
      let shiftedPlain = run(layer, x, dy, rows: n, cache: nil)
      layer.grid.value = saved
      XCTAssertEqual(shifted.gradients, shiftedPlain.gradients, "\(label): stale knots read")
      XCTAssertEqual(shifted.dx, shiftedPlain.dx, "\(label): stale knots read")

      // Backward over fewer rows than forward.
      let fewer = n - 8
      let fewerPlain = run(layer, x, dy, rows: n, cache: nil, backwardRows: fewer)
      let fewerReused = run(
        layer, x, dy, rows: n, cache: cache, between: corrupt, backwardRows: fewer)
      XCTAssertEqual(
        fewerReused.gradients, fewerPlain.gradients, "\(label): cache of another row count")

      // Another layer (a copy: same tensors) handed this layer's cache.
      let other = layer.copy() as! BSplineKANLayer
      x.withUnsafeBufferPointer { xb in
        var y = [Float](repeating: 0, count: n * o)
        y.withUnsafeMutableBufferPointer {
          layer.forward(xb.baseAddress!, $0.baseAddress!, count: n, keeping: cache)
        }
        corrupt(UnsafeMutablePointer(mutating: xb.baseAddress!))
        var dx = [Float](repeating: 0, count: n * i)
        for p in other.parameters { p.gradient = [Float](repeating: 0, count: p.count) }
        y.withUnsafeBufferPointer { yb in
          dy.withUnsafeBufferPointer { db in
            dx.withUnsafeMutableBufferPointer {
              other.backward(
                xb.baseAddress!, yb.baseAddress!, db.baseAddress!, $0.baseAddress!, count: n,
                parameterGradients: true, reusing: cache)
            }
          }
        }
        XCTAssertEqual(dx.map(\.bitPattern), plain.dx, "\(label): another layer's cache read")
        XCTAssertEqual(
          other.parameters.map { $0.gradient.map(\.bitPattern) }, plain.gradients,
          "\(label): another layer's cache read")
      }
    }
  }

  /// A pass too large for the cache's limit keeps nothing and recomputes (same bits).
  func testOversizedPassKeepsNothing() {
    let layer = randomKANLayer(6, 4, grid: 5, order: 3, masked: true)
    let n = 200
    let x = inputs(n, 6, seed: 31)
    var rng = RandomSource(seed: 32)
    let dy = (0..<(n * 4)).map { _ in Float(rng.uniform(-1, 1)) }
    let cache = ForwardCache()
    cache.byteLimit = layer.cacheLayout(n).bytes - 1
    let reused = run(layer, x, dy, rows: n, cache: cache)
    XCTAssertFalse(cache.isFilled)
    XCTAssertEqual(reused, run(layer, x, dy, rows: n, cache: nil))
    cache.byteLimit = layer.cacheLayout(n).bytes
    _ = run(layer, x, dy, rows: n, cache: cache)
    XCTAssertTrue(cache.isFilled)
  }

  /// Through the model: a training forward (`keep`) then backward gives the gradients of a
  /// plain forward then backward, bit for bit; any later forward on the workspace retires
  /// the caches (the backward after it does not read them).
  func testModelTrainingPassesMatchPlainPasses() throws {
    for grid in [5, 100] {
      let model = try Model(
        json: """
          {"kind": "kan", "widths": [4, 6, 3], "grid": \(grid), "seed": 3}
          """)
      let n = 300
      let x = inputs(n, 4, seed: 21)
      var rng = RandomSource(seed: 22)
      let dy = (0..<(n * 3)).map { _ in Float(rng.uniform(-1, 1)) }
      func pass(keep: Bool, retire: Bool = false) -> [[UInt32]] {
        let ws = Workspace()
        for p in model.parameters { p.gradient = [Float](repeating: 0, count: p.count) }
        return x.withUnsafeBufferPointer { xb in
          model.forward(xb.baseAddress!, count: n, workspace: ws, keep: keep)
          if keep {
            for l in model.layers.indices {
              XCTAssertNotNil(ws.currentCache(l), "grid \(grid): layer \(l) kept nothing")
            }
          }
          if retire {
            model.forward(xb.baseAddress!, count: n, workspace: ws)
            for l in model.layers.indices { XCTAssertNil(ws.currentCache(l)) }
          }
          ws.gradientOut.update(from: dy, count: dy.count)
          let dx = model.backward(
            xb.baseAddress!, count: n, workspace: ws, parameterGradients: true)
          return model.parameters.map { $0.gradient.map(\.bitPattern) }
            + [(0..<(n * 4)).map { dx[$0].bitPattern }]
        }
      }
      let plain = pass(keep: false)
      XCTAssertEqual(pass(keep: true), plain, "grid \(grid)")
      XCTAssertEqual(pass(keep: true, retire: true), plain, "grid \(grid)")
    }
  }
}
