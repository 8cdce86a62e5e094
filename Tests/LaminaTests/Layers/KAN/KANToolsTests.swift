import XCTest

@testable import Lamina

/// Edge curves of B-spline KAN layers and the model-level entry points the C ABI calls
/// (`kanEdgeCurve`, pointer forms of `updateGrid` and `refine`).
final class KANToolsTests: XCTestCase {
  /// A layer with random spline weights, scales and a partial mask; optionally non-uniform
  /// knots (sorted, random gaps), so every evaluator path is seen.
  func layer(_ input: Int, _ output: Int, grid: Int, order: Int, nonUniform: Bool)
    -> BSplineKANLayer
  {
    var options = BSplineKANLayer.Options()
    options.grid = grid
    options.order = order
    let l = BSplineKANLayer(input: input, output: output, options: options)
    var rng = RandomSource(seed: 11)
    l.initialize(rng: &rng)
    for e in l.coef.value.indices { l.coef.value[e] = Float(rng.uniform(-1, 1)) }
    for e in l.scaleSp.value.indices { l.scaleSp.value[e] = Float(rng.uniform(0.3, 1.2)) }
    for e in l.mask.value.indices where e % 3 == 1 { l.mask.value[e] = e % 2 == 0 ? 0 : 0.5 }
    if nonUniform {
      let count = options.knotCount
      for i in 0..<input {
        var t = Float(rng.uniform(-2.5, -1.5))
        for j in 0..<count {
          l.grid.value[i * count + j] = t
          t += Float(rng.uniform(0.05, 1.0)) * 4 / Float(count)
        }
      }
    }
    return l
  }

  /// Sum over inputs of the edge curves, accumulated as `forward` accumulates its outputs.
  func edgeSums(_ l: BSplineKANLayer, _ x: [Float]) -> [Float] {
    let n = x.count / l.inputDim
    var y = [Float](repeating: 0, count: n * l.outputDim)
    var phi = [Float](repeating: 0, count: n)
    for i in 0..<l.inputDim {
      let column = (0..<n).map { x[$0 * l.inputDim + i] }
      for j in 0..<l.outputDim {
        column.withUnsafeBufferPointer { cb in
          phi.withUnsafeMutableBufferPointer {
            l.edgeValues(input: i, output: j, at: cb.baseAddress!, count: n, into: $0.baseAddress!)
          }
        }
        for s in 0..<n { y[s * l.outputDim + j] += phi[s] }
      }
    }
    return y
  }

  func forward(_ l: BSplineKANLayer, _ x: [Float]) -> [Float] {
    var y = [Float](repeating: 0, count: x.count / l.inputDim * l.outputDim)
    x.withUnsafeBufferPointer { xb in
      y.withUnsafeMutableBufferPointer {
        l.forward(xb.baseAddress!, $0.baseAddress!, count: x.count / l.inputDim)
      }
    }
    return y
  }

  func testEdgeCurvesReproduceForward() {
    // Orders 3 (closed-form cubic path) and 2 and 1 (general recursion), uniform and not;
    // more than one block of rows; points inside, on and outside the extended grid.
    for (order, nonUniform) in [(3, false), (3, true), (2, false), (1, true)] {
      let label = "order \(order)\(nonUniform ? ", non-uniform" : "")"
      let single = layer(1, 1, grid: 6, order: order, nonUniform: nonUniform)
      var rng = RandomSource(seed: 4)
      let x = (0..<700).map { _ in Float(rng.uniform(-3.5, 3.5)) } + single.grid.value
      // One input, one output: the edge curve is the layer, to the bit.
      XCTAssertEqual(edgeSums(single, x), forward(single, x), label)
      let wide = layer(3, 5, grid: 7, order: order, nonUniform: nonUniform)
      let xs = (0..<(300 * 3)).map { _ in Float(rng.uniform(-3.5, 3.5)) }
      let (a, b) = (edgeSums(wide, xs), forward(wide, xs))
      for (u, v) in zip(a, b) where !(abs(u - v) <= 1e-5 * (1 + abs(v))) {
        XCTFail("\(label): edge sum \(u) vs forward \(v)")
        break
      }
    }
  }

  /// More points than one chunk of the dense path's edge evaluation: every chunk lands in
  /// its own rows, and the curve matches the layer's forward to rounding (the forward splits
  /// its blocks for the whole batch, the edge curve per chunk).
  func testEdgeCurveOverSeveralChunks() {
    let single = layer(1, 4, grid: 5, order: 3, nonUniform: false)
    let n = BSplineKANLayer.edgeValueChunk * 2 + 37
    var rng = RandomSource(seed: 9)
    let x = (0..<n).map { _ in Float(rng.uniform(-3, 3)) }
    let y = forward(single, x)
    var phi = [Float](repeating: .nan, count: n)
    x.withUnsafeBufferPointer { xb in
      phi.withUnsafeMutableBufferPointer {
        single.edgeValues(input: 0, output: 2, at: xb.baseAddress!, count: n, into: $0.baseAddress!)
      }
    }
    for s in 0..<n where !(abs(phi[s] - y[s * 4 + 2]) <= 1e-5 * (1 + abs(y[s * 4 + 2]))) {
      XCTFail("row \(s): edge curve \(phi[s]) vs forward \(y[s * 4 + 2])")
      break
    }
  }

  func testModelEdgeCurveChecksItsArguments() throws {
    let m = try Model(
      json:
        #"{"kind": "sequential", "input": 2, "seed": 1, "layers": [{"type": "dense", "output": 3}, {"type": "kan", "output": 2, "grid": 4}]}"#
    )
    var x: [Float] = [0.5, -0.25]
    var y: [Float] = [0, 0]
    func call(_ l: Int, _ i: Int, _ j: Int) throws {
      try x.withUnsafeBufferPointer { xb in
        try y.withUnsafeMutableBufferPointer {
          try m.kanEdgeCurve(
            layer: l, input: i, output: j, at: xb.baseAddress!, count: 2, into: $0.baseAddress!)
        }
      }
    }
    func code(_ l: Int, _ i: Int, _ j: Int) -> LaminaError.Code? {
      do {
        try call(l, i, j)
        return nil
      } catch {
        return (error as? LaminaError)?.code
      }
    }
    XCTAssertNil(code(1, 2, 1))
    XCTAssertEqual(code(0, 0, 0), .unsupported)
    XCTAssertEqual(code(2, 0, 0), .invalidArgument)
    XCTAssertEqual(code(-1, 0, 0), .invalidArgument)
    XCTAssertEqual(code(1, 3, 0), .invalidArgument)
    XCTAssertEqual(code(1, 0, 2), .invalidArgument)
    x[1] = .nan
    XCTAssertEqual(code(1, 0, 0), .numeric)
    XCTAssertThrowsError(try m.kanEdgeLayer(Int(bitPattern: UInt.max), input: 0, output: 0)) {
      XCTAssertTrue(($0 as? LaminaError)?.message.contains("18446744073709551615") ?? false)
    }
  }

  func testRefineWithoutSamplesReproducesNestedNonUniformGrids() throws {
    let m = try Model(json: #"{"kind": "kan", "widths": [2, 3, 1], "grid": 6, "seed": 3}"#)
    var rng = RandomSource(seed: 8)
    let x = (0..<(400 * 2)).map { _ in Float(pow(rng.unit(), 2) * 1.6 - 0.7) }
    try x.withUnsafeBufferPointer { try m.updateGrid(samples: $0.baseAddress!, count: 400) }
    let before = try m.predict(x)
    // 6 -> 12 splits every (non-uniform) interval; the dense points follow the knots, so
    // every new basis is determined and the old splines are reproduced.
    let fine = try m.refine(grid: 12, samples: nil, count: 0)
    for (u, v) in zip(try fine.predict(x), before) where !(abs(u - v) <= 2e-4) {
      XCTFail("refined without samples: \(u) vs \(v)")
      break
    }
    XCTAssertThrowsError(try m.updateGrid(samples: [], gridEps: 0.02)) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .shape)
    }
    XCTAssertThrowsError(
      try x.withUnsafeBufferPointer { try m.updateGrid(samples: $0.baseAddress!, count: Int.max) }
    ) { XCTAssertEqual(($0 as? LaminaError)?.code, .outOfMemory) }
  }
}
