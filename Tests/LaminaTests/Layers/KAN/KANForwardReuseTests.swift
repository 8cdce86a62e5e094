import XCTest

@testable import Lamina

/// A training forward pass that finds its own basis blocks in the `ForwardCache` for the
/// same input values and knots (full-batch LBFGS re-evaluating new weights on the same
/// data) keeps them and only redoes the products: the same bits as a plain forward, the
/// cache really read, and never read when x, the knots or the layer changed.
final class KANForwardReuseTests: XCTestCase {
  /// n rows mostly inside the grid, some outside, some on a knot of the default grid.
  static func inputs(_ n: Int, _ nIn: Int, seed: UInt64) -> [Float] {
    var rng = RandomSource(seed: seed)
    return (0..<(n * nIn)).map { e in
      switch e % 37 {
      case 5: return 3.5
      case 6: return -2.9
      case 7: return 0.2
      default: return Float(rng.uniform(-1.3, 1.3))
      }
    }
  }

  func plainForward(_ layer: BSplineKANLayer, _ x: UnsafePointer<Float>, _ n: Int) -> [UInt32] {
    var y = [Float](repeating: .nan, count: n * layer.outputDim)
    y.withUnsafeMutableBufferPointer { layer.forward(x, $0.baseAddress!, count: n) }
    return y.map(\.bitPattern)
  }

  func keptForward(
    _ layer: BSplineKANLayer, _ x: UnsafePointer<Float>, _ n: Int, _ cache: ForwardCache
  ) -> [UInt32] {
    var y = [Float](repeating: .nan, count: n * layer.outputDim)
    y.withUnsafeMutableBufferPointer {
      layer.forward(x, $0.baseAddress!, count: n, keeping: cache)
    }
    return y.map(\.bitPattern)
  }

  /// Adds 0.25 to every cached basis value and dense row entry.
  func corrupt(_ layer: BSplineKANLayer, _ cache: ForwardCache, _ x: UnsafePointer<Float>, _ n: Int)
  {
    let layout = layer.cacheLayout(n)
    guard let memory = cache.contents(for: layer, input: x, rows: n, layout: layout.tag) else {
      return XCTFail("the cache was not filled")
    }
    let view = layer.basisCache(memory, n)
    for b in 0..<layout.blocks {
      if view.denseFloats > 0 {
        let a = view.dense(b)
        for e in 0..<view.denseFloats { a[e] += 0.25 }
      }
      for i in 0..<layer.inputDim {
        let block = view.block(b, i)
        for e in 0..<((layer.options.order + 1) * block.capacity) { block.values[e] += 0.25 }
      }
    }
  }

  func testForwardReusesBlocksOnlyForTheSameInputAndKnots() {
    // (in, out, G, k, n, non-uniform): dense and sparse paths, general and uniform knots.
    for (i, o, g, k, n, nonUniform) in [
      (2, 5, 5, 3, 1000, true), (3, 4, 5, 2, 300, true), (3, 5, 5, 3, 600, false),
      (3, 4, 100, 3, 513, true), (5, 7, 100, 3, 512, false),
    ] {
      let label = "\(i)->\(o) G \(g) k \(k) n \(n)\(nonUniform ? " non-uniform" : "")"
      let layer = randomKANLayer(i, o, grid: g, order: k, nonUniform: nonUniform, masked: true)
      var x = Self.inputs(n, i, seed: 41)
      let cache = ForwardCache()
      x.withUnsafeMutableBufferPointer { xb in
        let xp = xb.baseAddress!
        XCTAssertEqual(keptForward(layer, xp, n, cache), plainForward(layer, xp, n), label)
        XCTAssertTrue(cache.isFilled, label)
        // New weights, same x: the kept blocks give the plain pass's bits.
        for p in layer.parameters {
          for e in p.value.indices { p.value[e] += Float(e % 5) * 0.0625 - 0.125 }
        }
        XCTAssertEqual(
          keptForward(layer, xp, n, cache), plainForward(layer, xp, n), "\(label): new weights")
        // Proof that forward reads the cache: corrupted blocks change the outputs.
        corrupt(layer, cache, xp, n)
        XCTAssertNotEqual(
          keptForward(layer, xp, n, cache), plainForward(layer, xp, n),
          "\(label): forward did not reuse the blocks")
        // One ulp of one input: recomputed.
        corrupt(layer, cache, xp, n)
        xp[n * i - 1] = xp[n * i - 1].nextUp
        XCTAssertEqual(
          keptForward(layer, xp, n, cache), plainForward(layer, xp, n), "\(label): stale x read")
        // Knots moved: recomputed.
        corrupt(layer, cache, xp, n)
        for e in layer.grid.value.indices { layer.grid.value[e] += 0.03125 }
        XCTAssertEqual(
          keptForward(layer, xp, n, cache), plainForward(layer, xp, n),
          "\(label): stale knots read")
        // Fewer rows: recomputed (and the cache then describes the fewer rows).
        corrupt(layer, cache, xp, n)
        XCTAssertEqual(
          keptForward(layer, xp, n - 8, cache), plainForward(layer, xp, n - 8),
          "\(label): another row count read")
        // Another layer with the same tensors handed this cache: recomputed.
        _ = keptForward(layer, xp, n, cache)
        corrupt(layer, cache, xp, n)
        let other = layer.copy() as! BSplineKANLayer
        XCTAssertEqual(
          keptForward(other, xp, n, cache), plainForward(other, xp, n),
          "\(label): another layer's cache read")
      }
    }
  }
}
