import XCTest

@testable import Lamina

/// KAN layers' jet passes split into row tasks (`KANEdgeJetTasks`): a batch large enough
/// to run on the worker pool gives the same bits as the same tasks one after another, the
/// same bits run to run, and rows that do not depend on how the batch is cut.
final class KANJetTasksTests: XCTestCase {
  /// One KAN layer per code path: cubic B-splines in closed form, quadratic ones through
  /// A2.3, and a basis without private gradient sums (its backward stays serial).
  static let specs: [(name: String, json: String)] = [
    ("bspline", #"{"kind": "kan", "widths": [3, 4], "seed": 1}"#),
    (
      "bspline grid 20 k 2",
      #"{"kind": "kan", "widths": [3, 4], "grid": 20, "order": 2, "seed": 2}"#
    ),
    ("chebyshev", #"{"kind": "kan", "widths": [3, 4], "basis": "chebyshev", "seed": 3}"#),
  ]

  /// A second-order jet of `rows` rows along 3 directions through `layer`: the output jet,
  /// the input jet's adjoint and the parameter gradients (from zero).
  struct Pass {
    /// The output jet.
    var y: [Float]
    /// The input jet's adjoint.
    var dx: [Float]
    /// Every parameter's gradient, in `parameters` order.
    var gradients: [[Float]]
  }

  /// Rows above two tasks, and enough work to pass `RowPlan.kanJetParallelWork`.
  static let rows = 2 * RowPlan.kanJetTaskRows + 517

  /// The input jet: values in [-1.2, 1.2] (some outside the grid), first-derivative
  /// streams with zeros (as the first layer's are), second-derivative streams.
  static func inputJet(_ shape: JetShape, seed: UInt64) -> [Float] {
    var rng = RandomSource(seed: seed)
    return (0..<shape.count(width: 3)).map { i in
      let v = Float(rng.uniform(-1, 1))
      return i < shape.rows * 3 ? 1.2 * v : (i % 5 == 0 ? 0 : v)
    }
  }

  /// `layer`'s jet forward and backward passes on `x` with output adjoint `dy`.
  func run(_ layer: JetLayer, x: [Float], dy: [Float], shape: JetShape) -> Pass {
    for p in layer.parameters { p.gradient = [Float](repeating: 0, count: p.count) }
    var y = [Float](repeating: .nan, count: shape.count(width: layer.outputDim))
    var dx = [Float](repeating: .nan, count: x.count)
    x.withUnsafeBufferPointer { xb in
      y.withUnsafeMutableBufferPointer { yb in
        layer.jetForward(xb.baseAddress!, yb.baseAddress!, shape: shape)
      }
      y.withUnsafeBufferPointer { yb in
        dy.withUnsafeBufferPointer { db in
          dx.withUnsafeMutableBufferPointer { gb in
            layer.jetBackward(
              xb.baseAddress!, yb.baseAddress!, db.baseAddress!, gb.baseAddress!, shape: shape,
              parameterGradients: true)
          }
        }
      }
    }
    return Pass(y: y, dx: dx, gradients: layer.parameters.map(\.gradient))
  }

  /// The first layer of the model `json` describes.
  func layer(_ json: String) throws -> JetLayer {
    try XCTUnwrap(try Model(json: json).layers.first as? JetLayer)
  }

  /// A batch of three tasks: on the pool, one after another, and again on the pool.
  func testSameBitsOnThePoolSeriallyAndRunToRun() throws {
    let shape = JetShape(rows: Self.rows, directions: 3, order: 2)
    let x = Self.inputJet(shape, seed: 41)
    for (name, json) in Self.specs {
      let layer = try layer(json)
      let dy = ModelJetTests.points(shape.rows, shape.streams * layer.outputDim, seed: 42)
      let pooled = run(layer, x: x, dy: dy, shape: shape)
      let again = run(layer, x: x, dy: dy, shape: shape)
      // From inside a pool task the tasks run one after another (WorkerPool's nesting rule).
      var serial: Pass?
      WorkerPool.shared.run(2) { task in
        if task == 0 { serial = self.run(layer, x: x, dy: dy, shape: shape) }
      }
      let s = try XCTUnwrap(serial)
      for (label, other) in [("serial", s), ("run to run", again)] {
        XCTAssertEqual(pooled.y.map(\.bitPattern), other.y.map(\.bitPattern), "\(name) y \(label)")
        XCTAssertEqual(
          pooled.dx.map(\.bitPattern), other.dx.map(\.bitPattern), "\(name) dx \(label)")
        for (a, b) in zip(pooled.gradients, other.gradients) {
          XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "\(name) gradient \(label)")
        }
      }
      XCTAssertFalse(pooled.y.contains { !$0.isFinite }, name)
      XCTAssertFalse(pooled.dx.contains { !$0.isFinite }, name)
    }
  }

  /// The whole batch in tasks against 100-row batches one at a time (one task each, on the
  /// calling thread): the same bits for every row of y and dx, and parameter gradients
  /// equal up to the order of their sums.
  func testRowsDoNotDependOnHowTheBatchIsCut() throws {
    let shape = JetShape(rows: Self.rows, directions: 3, order: 2)
    let x = Self.inputJet(shape, seed: 43)
    for (name, json) in Self.specs {
      let layer = try layer(json)
      let (nIn, nOut, streams) = (layer.inputDim, layer.outputDim, shape.streams)
      let dy = ModelJetTests.points(shape.rows, streams * nOut, seed: 44)
      let whole = run(layer, x: x, dy: dy, shape: shape)
      var sums = whole.gradients.map { [Double](repeating: 0, count: $0.count) }
      var start = 0
      while start < shape.rows {
        let m = min(100, shape.rows - start)
        let part = JetShape(rows: m, directions: 3, order: 2)
        // Stream s of the part is rows start ..< start + m of stream s of the whole.
        func slice(_ a: [Float], _ width: Int) -> [Float] {
          var out: [Float] = []
          for s in 0..<streams {
            let first = (s * shape.rows + start) * width
            out += a[first..<(first + m * width)]
          }
          return out
        }
        let p = run(layer, x: slice(x, nIn), dy: slice(dy, nOut), shape: part)
        XCTAssertEqual(
          p.y.map(\.bitPattern), slice(whole.y, nOut).map(\.bitPattern), "\(name) y at \(start)")
        XCTAssertEqual(
          p.dx.map(\.bitPattern), slice(whole.dx, nIn).map(\.bitPattern),
          "\(name) dx at \(start)")
        for (g, pg) in zip(sums.indices, p.gradients) {
          for e in pg.indices { sums[g][e] += Double(pg[e]) }
        }
        start += m
      }
      for (g, reference) in zip(whole.gradients, sums) {
        let scale = reference.map(abs).max() ?? 0
        XCTAssertGreaterThan(scale, 1e-3, "\(name): gradients worth checking")
        for e in g.indices {
          XCTAssertEqual(Double(g[e]), reference[e], accuracy: 1e-5 * scale, "\(name) [\(e)]")
        }
      }
    }
  }
}
