import Dispatch
import Foundation
import XCTest

@testable import Lamina

/// B-spline KANs: bases and layers against pykan, gradients against finite differences,
/// the grid conventions (partition of unity, zero outside), masks, specs, files, and a fit.
final class KANTests: XCTestCase {
  // MARK: - Helpers

  func forward(_ layer: Layer, _ x: [Float]) -> [Float] {
    let n = x.count / layer.inputDim
    var y = [Float](repeating: .nan, count: n * layer.outputDim)
    x.withUnsafeBufferPointer { xb in
      y.withUnsafeMutableBufferPointer { layer.forward(xb.baseAddress!, $0.baseAddress!, count: n) }
    }
    return y
  }

  /// The Jacobian [row][out][in] through `backward` with one-hot dy.
  func jacobian(_ layer: Layer, _ x: [Float]) -> [Float] {
    let n = x.count / layer.inputDim
    let (nIn, nOut) = (layer.inputDim, layer.outputDim)
    let y = forward(layer, x)
    var out = [Float](repeating: 0, count: n * nOut * nIn)
    for o in 0..<nOut {
      var dy = [Float](repeating: 0, count: n * nOut)
      for r in 0..<n { dy[r * nOut + o] = 1 }
      var dx = [Float](repeating: .nan, count: n * nIn)
      x.withUnsafeBufferPointer { xb in
        y.withUnsafeBufferPointer { yb in
          dy.withUnsafeBufferPointer { db in
            dx.withUnsafeMutableBufferPointer {
              layer.backward(
                xb.baseAddress!, yb.baseAddress!, db.baseAddress!, $0.baseAddress!, count: n,
                parameterGradients: false)
            }
          }
        }
      }
      for r in 0..<n {
        for i in 0..<nIn { out[(r * nOut + o) * nIn + i] = dx[r * nIn + i] }
      }
    }
    return out
  }

  /// phi_ij summed the slow way: dense bases for every m, straight from the definition.
  func denseForward(_ layer: BSplineKANLayer, _ x: [Float]) -> [Double] {
    let (nIn, nOut, nb) = (layer.inputDim, layer.outputDim, layer.options.basisCount)
    let kc = layer.options.knotCount
    let n = x.count / nIn
    var y = [Double](repeating: 0, count: n * nOut)
    for r in 0..<n {
      for i in 0..<nIn {
        let xv = x[r * nIn + i]
        let knots = Array(layer.grid.value[(i * kc)..<((i + 1) * kc)])
        let b = BSpline.denseBases(at: xv, knots: knots, order: layer.options.order).values
        let silu = Double(xv) / (1 + exp(-Double(xv)))
        for j in 0..<nOut {
          let e = i * nOut + j
          var spline = 0.0
          for m in 0..<nb { spline += Double(layer.coef.value[e * nb + m]) * Double(b[m]) }
          y[r * nOut + j] +=
            Double(layer.mask.value[e])
            * (Double(layer.scaleBase.value[e]) * silu + Double(layer.scaleSp.value[e]) * spline)
        }
      }
    }
    return y
  }

  func assertClose(
    _ a: [Float], _ b: [Float], absolute: Float, relative: Float, _ what: String,
    file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(a.count, b.count, "\(what): counts", file: file, line: line)
    for (i, (u, v)) in zip(a, b).enumerated()
    where !(abs(u - v) <= absolute + relative * max(abs(u), abs(v))) {
      XCTFail("\(what)[\(i)]: \(u) vs \(v)", file: file, line: line)
      return
    }
  }

  // MARK: - Bases against pykan

  let basesCases: [(String, KANReference.BasesCase)] = [
    ("order 0", KANReference.uniformOrder0), ("order 1", KANReference.uniformOrder1),
    ("order 2", KANReference.uniformOrder2), ("order 3", KANReference.uniformOrder3),
    ("non-uniform order 2", KANReference.nonUniformOrder2),
  ]

  func testBasesAndDerivativesMatchPykan() {
    for (label, c) in basesCases {
      for (s, x) in c.x.enumerated() {
        let (values, derivatives) = BSpline.denseBases(at: x, knots: c.knots, order: c.order)
        assertClose(values, c.values[s], absolute: 2e-6, relative: 1e-5, "\(label) B(\(x))")
        assertClose(
          derivatives, c.derivatives[s], absolute: 2e-5, relative: 1e-4, "\(label) B'(\(x))")
      }
    }
  }

  func testUniformKnotsMatchPykanExtendGrid() {
    for c in basesCases.prefix(4).map(\.1) {
      let knots = BSpline.uniformKnots(intervals: 5, order: c.order, range: (-1, 1))
      // pykan adds h in float32 step by step; Lamina rounds each knot once from Double.
      assertClose(knots, c.knots, absolute: 3e-7, relative: 0, "knots order \(c.order)")
    }
  }

  /// Half-open intervals: exactly 0 outside [t_0, t_M) (including x = t_M), partition of
  /// unity on [lo, hi], less than 1 on the extensions, for uniform and non-uniform knots.
  func testPartitionOfUnityInsideAndZeroOutside() {
    var rng = RandomSource(seed: 3)
    for (g, k) in [(1, 3), (5, 3), (7, 2), (4, 1), (3, 0), (12, 5), (1000, 3)] {
      let uniform = BSpline.uniformKnots(intervals: g, order: k, range: (-1, 1))
      var nonUniform = uniform
      var t: Float = -1.7
      for j in nonUniform.indices {
        nonUniform[j] = t
        t += Float(rng.uniform(0.01, 1)) * 3.4 / Float(nonUniform.count)
      }
      for knots in [uniform, nonUniform] {
        let (lo, hi) = (knots[k], knots[knots.count - 1 - k])
        // Order 0 bases are indicators of [t_m, t_{m+1}), so hi itself is outside.
        for s in 0...(k == 0 ? 199 : 200) {
          let x = lo + (hi - lo) * Float(s) / 200
          let sum = BSpline.denseBases(at: x, knots: knots, order: k).values.reduce(0, +)
          XCTAssertEqual(sum, 1, accuracy: 2e-5, "G \(g) k \(k) sum at \(x)")
        }
        for x in [knots[0] - 1, knots[0].nextDown, knots.last!, knots.last!.nextUp, -1e30, 1e30] {
          let b = BSpline.denseBases(at: x, knots: knots, order: k)
          XCTAssertTrue(
            b.values.allSatisfy { $0 == 0 }, "G \(g) k \(k): bases at \(x) are \(b.values)")
          XCTAssertTrue(b.derivatives.allSatisfy { $0 == 0 })
        }
        if k > 0 {
          // Inside the first extension interval the bases no longer sum to 1.
          let x = (knots[0] + knots[1]) / 2
          XCTAssertLessThan(
            BSpline.denseBases(at: x, knots: knots, order: k).values.reduce(0, +), 0.9)
        }
      }
    }
  }

  /// The layers' division-free evaluator (closed-form uniform path and table-driven
  /// general path) against plain Cox-de Boor, for every order 0 ... 10.
  func testFastEvaluatorMatchesCoxDeBoor() {
    var rng = RandomSource(seed: 21)
    for k in 0...10 {
      for g in [1, 3, 17] {
        let uniform = BSpline.uniformKnots(intervals: g, order: k, range: (-1, 2))
        var nonUniform = uniform
        var t: Float = -2
        for j in nonUniform.indices {
          nonUniform[j] = t
          t += Float(rng.uniform(0.05, 1))
        }
        for (knots, isUniform) in [(uniform, true), (nonUniform, false)] {
          let nb = knots.count - k - 1
          let table = UnsafeMutablePointer<Float>.allocate(
            capacity: BSpline.InputBasis.tableCount(knots: knots.count, order: k))
          defer { table.deallocate() }
          knots.withUnsafeBufferPointer { tb in
            let basis = BSpline.InputBasis(
              knots: tb.baseAddress!, count: knots.count, order: k, table: table)
            XCTAssertEqual(basis.uniform, isUniform || knots.count == 2, "k \(k) G \(g)")
            var n = [Float](repeating: 0, count: k + 1)
            var d = n
            var scratch = [Float](repeating: 0, count: 3 * (k + 1))
            let probes =
              (0..<60).map { _ in Float(rng.uniform(Double(knots[0]), Double(knots.last!))) }
              + knots.dropLast()
            for x in probes {
              let mu = basis.locator.interval(x)
              XCTAssertGreaterThanOrEqual(mu, 0)
              n.withUnsafeMutableBufferPointer { nb in
                d.withUnsafeMutableBufferPointer { db in
                  scratch.withUnsafeMutableBufferPointer { sb in
                    basis.evaluate(
                      x, interval: mu, values: nb.baseAddress!, derivatives: db.baseAddress!,
                      scratch: sb.baseAddress!)
                  }
                }
              }
              let dense = BSpline.denseBases(at: x, knots: knots, order: k)
              let scale = dense.derivatives.map(abs).max() ?? 1
              for r in 0...k where mu - k + r >= 0 && mu - k + r < nb {
                XCTAssertEqual(
                  n[r], dense.values[mu - k + r], accuracy: 2e-5,
                  "k \(k) G \(g) x \(x) basis \(mu - k + r)")
                XCTAssertEqual(
                  d[r], dense.derivatives[mu - k + r], accuracy: 2e-4 * max(1, scale),
                  "k \(k) G \(g) x \(x) derivative \(mu - k + r)")
              }
            }
          }
        }
      }
    }
  }

  func testIntervalSearchAgreesWithLinearScan() {
    var rng = RandomSource(seed: 11)
    for count in [2, 3, 9, 100, 1001] {
      let uniform = BSpline.uniformKnots(intervals: count - 1, order: 0, range: (-3, 5))
      var sorted = (0..<count).map { _ in Float(rng.uniform(-3, 5)) }.sorted()
      for j in 1..<count where sorted[j] <= sorted[j - 1] { sorted[j] = sorted[j - 1].nextUp }
      for knots in [uniform, sorted] {
        knots.withUnsafeBufferPointer { tb in
          let locator = BSpline.Locator(knots: tb.baseAddress!, count: count)
          var probes = (0..<500).map { _ in Float(rng.uniform(-4, 6)) } + knots
          probes += knots.map(\.nextDown) + knots.map(\.nextUp) + [.nan, .infinity, -.infinity]
          for x in probes {
            var expected = -1
            for j in 0..<(count - 1) where knots[j] <= x && x < knots[j + 1] { expected = j }
            XCTAssertEqual(locator.interval(x), expected, "\(count) knots, x = \(x)")
          }
        }
      }
    }
  }

  // MARK: - Layer against pykan

  func testLayerMatchesPykanKANLayer() {
    for (label, c) in [
      ("cubic", KANReference.cubic), ("quadratic", KANReference.quadratic),
      ("linear non-uniform", KANReference.linearNonUniform),
    ] {
      var options = BSplineKANLayer.Options()
      options.grid = c.grid
      options.order = c.order
      let layer = BSplineKANLayer(input: c.input, output: c.output, options: options)
      layer.coef.value = c.coef
      layer.scaleBase.value = c.scaleBase
      layer.scaleSp.value = c.scaleSp
      layer.mask.value = c.mask
      layer.grid.value = c.knots
      assertClose(forward(layer, c.x), c.y, absolute: 2e-6, relative: 1e-5, "\(label) y")
      assertClose(
        jacobian(layer, c.x), c.jacobian, absolute: 2e-5, relative: 1e-4, "\(label) dy/dx")
    }
  }

  // MARK: - Gradients

  func testGradientCheck() {
    let cases: [(Int, Int, Int, Int, Bool, Bool)] = [
      (2, 3, 5, 3, false, false), (3, 2, 7, 2, false, true), (1, 4, 3, 1, false, false),
      (4, 1, 10, 3, true, true), (2, 2, 1, 3, false, false), (3, 5, 20, 4, true, false),
      (5, 3, 6, 3, false, true),
    ]
    for (i, o, g, k, nonUniform, masked) in cases {
      let layer = randomKANLayer(i, o, grid: g, order: k, nonUniform: nonUniform, masked: masked)
      // Partly outside the extended grid (|x| > 1 + k h), to check the SiLU-only region.
      assertGradientsCorrect(
        of: layer, label: "kan \(i)->\(o) G \(g) k \(k) nonuniform \(nonUniform) masked \(masked)",
        batch: 7
      ) { _, _, rng in Float(rng.uniform(-3.2, 3.2)) }
    }
  }

  /// Order 0 is piecewise constant: probe away from the knots (the derivative there is 0).
  func testGradientCheckOrderZero() {
    let layer = randomKANLayer(3, 2, grid: 4, order: 0)
    assertGradientsCorrect(of: layer, label: "kan order 0", batch: 6) { _, _, rng in
      Float(-0.75 + 0.5 * Double(rng.index(below: 4)) + rng.uniform(-0.2, 0.2))
    }
  }

  /// Batches beyond one task and few inputs take the parallel and chunked paths.
  func testGradientCheckLargeBatch() {
    var options = GradientCheckOptions()
    options.maxEntriesPerTensor = 10
    for (i, o, n) in [(1, 3, 1100), (20, 2, 600)] {
      let layer = randomKANLayer(i, o, grid: 8, order: 3, masked: true)
      assertGradientsCorrect(
        of: layer, label: "kan \(i)->\(o) batch \(n)", batch: n, options: options
      ) { _, _, rng in Float(rng.uniform(-1.5, 1.5)) }
    }
  }

  /// Every way parameter gradients are accumulated: row chunks over all inputs (small
  /// tables), per input (large tables), per input and row chunk (few inputs), rows grouped
  /// by interval (up to 2048 intervals) or scattered one by one (finer grids), outputs in
  /// 8-wide vectors plus a scalar tail.
  func testGradientCheckEveryAccumulationPath() {
    var options = GradientCheckOptions()
    options.maxEntriesPerTensor = 12
    let cases: [(Int, Int, Int, Int, Int)] = [
      (3, 9, 5, 3, 40), (2, 17, 4, 2, 40), (4, 16, 6, 3, 600),  // row-major, vectors + tail
      (20, 16, 400, 3, 300),  // per input
      (1, 64, 2100, 3, 2500),  // per input and row chunk, scattered (2106 intervals)
      (2, 8, 2100, 1, 30),  // scattered, order 1
    ]
    for (i, o, g, k, n) in cases {
      let layer = randomKANLayer(i, o, grid: g, order: k, masked: true)
      if g > 100 {
        // Smooth splines on fine grids, so that finite differences resolve them.
        let nb = layer.options.basisCount
        for e in layer.coef.value.indices {
          layer.coef.value[e] = sinf(4 * Float(e % nb) / Float(nb) + Float(e / nb))
        }
      }
      assertGradientsCorrect(
        of: layer, label: "kan \(i)->\(o) G \(g) k \(k) batch \(n)", batch: n, options: options
      ) { _, _, rng in Float(rng.uniform(-1.3, 1.3)) }
    }
  }

  /// Parameter gradients are bit-identical run to run (fixed chunks, ordered reduction),
  /// and the chunked sum equals the sum of per-chunk backward passes up to rounding.
  func testParameterGradientsAreDeterministic() {
    let layer = randomKANLayer(2, 3, grid: 6, order: 3)
    var rng = RandomSource(seed: 2)
    let n = 9000
    let x = (0..<(n * 2)).map { _ in Float(rng.uniform(-1.2, 1.2)) }
    let dy = (0..<(n * 3)).map { _ in Float(rng.uniform(-1, 1)) }
    let y = forward(layer, x)
    func gradients(_ rows: Range<Int>) -> [[Float]] {
      for p in layer.parameters { p.gradient = [Float](repeating: 0, count: p.count) }
      x.withUnsafeBufferPointer { xb in
        y.withUnsafeBufferPointer { yb in
          dy.withUnsafeBufferPointer { db in
            layer.backward(
              xb.baseAddress! + rows.lowerBound * 2, yb.baseAddress! + rows.lowerBound * 3,
              db.baseAddress! + rows.lowerBound * 3, nil, count: rows.count,
              parameterGradients: true)
          }
        }
      }
      return layer.parameters.map(\.gradient)
    }
    let first = gradients(0..<n)
    for _ in 0..<3 {
      XCTAssertEqual(
        gradients(0..<n).map { $0.map(\.bitPattern) }, first.map { $0.map(\.bitPattern) })
    }
    var summed = first.map { [Float](repeating: 0, count: $0.count) }
    for start in stride(from: 0, to: n, by: 1000) {
      let part = gradients(start..<min(n, start + 1000))
      for t in summed.indices { for e in summed[t].indices { summed[t][e] += part[t][e] } }
    }
    for t in summed.indices {
      assertClose(summed[t], first[t], absolute: 2e-3, relative: 1e-4, "tensor \(t)")
    }
  }

  // MARK: - Conventions

  func testOutsideTheGridOnlySiLURemains() {
    let layer = randomKANLayer(2, 3, grid: 5, order: 3)
    // The extended grid is [-2.2, 2.2); at and beyond its end the splines vanish.
    let x: [Float] = [2.2, -2.3, 7, -9, 2.2000003, 100]
    let y = forward(layer, x)
    for r in 0..<3 {
      for j in 0..<3 {
        var expected: Float = 0
        for i in 0..<2 {
          let v = x[r * 2 + i]
          expected +=
            layer.mask.value[i * 3 + j] * layer.scaleBase.value[i * 3 + j] * (v / (1 + expf(-v)))
        }
        XCTAssertEqual(y[r * 3 + j], expected, accuracy: 1e-5 * max(1, abs(expected)))
      }
    }
  }

  func testMaskRemovesAnEdge() {
    let layer = randomKANLayer(2, 3, grid: 5, order: 3)
    let x: [Float] = [0.3, -0.4, -0.9, 0.8, 1.5, 0.1]
    let before = forward(layer, x)
    layer.mask.value[1 * 3 + 2] = 0  // edge from input 1 to output 2
    let masked = forward(layer, x)
    // Changing the removed edge's weights now changes nothing.
    let e = 1 * 3 + 2
    let nb = layer.options.basisCount
    for m in 0..<nb { layer.coef.value[e * nb + m] += 5 }
    layer.scaleBase.value[e] = 9
    XCTAssertEqual(forward(layer, x), masked)
    for r in 0..<3 {
      XCTAssertEqual(masked[r * 3], before[r * 3])
      XCTAssertEqual(masked[r * 3 + 1], before[r * 3 + 1])
      XCTAssertNotEqual(masked[r * 3 + 2], before[r * 3 + 2])
    }
    // Its gradients are zero.
    for p in layer.parameters { p.gradient = [Float](repeating: 0, count: p.count) }
    let y = forward(layer, x)
    let dy = [Float](repeating: 1, count: 9)
    x.withUnsafeBufferPointer { xb in
      y.withUnsafeBufferPointer { yb in
        dy.withUnsafeBufferPointer { db in
          layer.backward(
            xb.baseAddress!, yb.baseAddress!, db.baseAddress!, nil, count: 3,
            parameterGradients: true)
        }
      }
    }
    XCTAssertEqual(layer.scaleBase.gradient[e], 0)
    XCTAssertEqual(layer.scaleSp.gradient[e], 0)
    XCTAssertTrue(layer.coef.gradient[(e * nb)..<((e + 1) * nb)].allSatisfy { $0 == 0 })
    XCTAssertNotEqual(layer.scaleBase.gradient[e - 1], 0)
  }

  /// A G = 1000 layer computes exactly what the dense definition (all G + k bases) gives.
  func testFineGridMatchesDenseEvaluation() {
    for (g, k, nonUniform) in [(1000, 3, false), (1000, 2, true), (300, 5, false)] {
      let layer = randomKANLayer(3, 2, grid: g, order: k, nonUniform: nonUniform)
      var rng = RandomSource(seed: 8)
      let x = (0..<(40 * 3)).map { _ in Float(rng.uniform(-2.5, 2.5)) }
      let y = forward(layer, x)
      let dense = denseForward(layer, x)
      assertClose(y, dense.map { Float($0) }, absolute: 1e-5, relative: 1e-5, "G \(g) k \(k)")
    }
  }

  func testForwardIsThreadSafeAndDeterministic() {
    let layer = randomKANLayer(4, 3, grid: 30, order: 3)
    var rng = RandomSource(seed: 4)
    let x = (0..<(700 * 4)).map { _ in Float(rng.uniform(-2, 2)) }
    let reference = forward(layer, x).map(\.bitPattern)
    let results = UnsafeMutableBufferPointer<Bool>.allocate(capacity: 8)
    defer { results.deallocate() }
    DispatchQueue.concurrentPerform(iterations: 8) { t in
      results[t] = self.forward(layer, x).map(\.bitPattern) == reference
    }
    XCTAssertTrue(results.allSatisfy { $0 })
  }

  // MARK: - Initialisation

  /// pykan's init: coef interpolates noise (U - 1/2) * noise_scale / G drawn [G+1][in][out]
  /// at the grid points; scale_sp = 1/sqrt(in); scale_base = mu/sqrt(in) + sigma U(-1,1)/sqrt(in).
  func testInitialisationFollowsPykan() throws {
    let m = try Model(
      json:
        #"{"kind": "kan", "widths": [3, 4], "grid": 6, "order": 3, "scale_base_mu": 0.5, "scale_base_sigma": 0.2, "seed": 9}"#
    )
    let layer = try XCTUnwrap(m.layers[0] as? BSplineKANLayer)
    var rng = RandomSource(seed: 9)
    var noise = [Float](repeating: 0, count: 7 * 3 * 4)
    for p in noise.indices { noise[p] = Float((rng.unit() - 0.5) * 0.3 / 6) }
    let nb = layer.options.basisCount
    let kc = layer.options.knotCount
    for i in 0..<3 {
      let knots = Array(layer.grid.value[(i * kc)..<((i + 1) * kc)])
      for p in 0...6 {
        let b = BSpline.denseBases(at: knots[3 + p], knots: knots, order: 3).values
        for j in 0..<4 {
          var s: Float = 0
          for q in 0..<nb { s += layer.coef.value[(i * 4 + j) * nb + q] * b[q] }
          XCTAssertEqual(
            s, noise[(p * 3 + i) * 4 + j], accuracy: 1e-6, "edge \(i)->\(j) at grid point \(p)")
        }
      }
    }
    let root3 = Float(3.0.squareRoot())
    for e in 0..<12 {
      let u = Float(rng.unit() * 2 - 1)
      XCTAssertEqual(layer.scaleBase.value[e], 0.5 / root3 + 0.2 * u / root3, accuracy: 1e-6)
      XCTAssertEqual(layer.scaleSp.value[e], 1 / root3, accuracy: 1e-7)
    }
    XCTAssertTrue(layer.mask.value.allSatisfy { $0 == 1 })
    // Small coefficients, as pykan's: |coef| stays near the noise scale.
    XCTAssertLessThan(layer.coef.value.map(abs).max() ?? 1, 0.1)
  }

  func testLeastSquaresFitRecoversASpline() {
    // Samples of a known spline (plus nothing): the fit returns its coefficients.
    let knots = BSpline.uniformKnots(intervals: 8, order: 3, range: (-1, 1))
    var rng = RandomSource(seed: 6)
    let truth = (0..<11).map { _ in Float(rng.uniform(-1, 1)) }
    let xs = (0..<300).map { _ in Float(rng.uniform(-1, 1)) }
    let ys = xs.map { x in
      zip(truth, BSpline.denseBases(at: x, knots: knots, order: 3).values).reduce(0) {
        $0 + $1.0 * $1.1
      }
    }
    let c = BSpline.fit(x: xs, y: ys, columns: 1, knots: knots, order: 3)
    assertClose(c, truth, absolute: 1e-4, relative: 0, "coefficients")
    // Rank deficient (3 samples, 11 unknowns): still finite and interpolating.
    let few = BSpline.fit(x: [-0.5, 0, 0.5], y: [1, -1, 2], columns: 1, knots: knots, order: 3)
    XCTAssertTrue(few.allSatisfy(\.isFinite))
    for (x, y) in zip([Float(-0.5), 0, 0.5], [Float(1), -1, 2]) {
      let v = zip(few, BSpline.denseBases(at: x, knots: knots, order: 3).values).reduce(0) {
        $0 + $1.0 * $1.1
      }
      XCTAssertEqual(v, y, accuracy: 1e-4)
    }
  }

  // MARK: - Specs

  func testKANSpecDefaultsLayoutAndRoundTrip() throws {
    let m = try Model(json: #"{"kind": "kan", "widths": [2, 5, 1]}"#)
    XCTAssertEqual(
      m.spec.text,
      #"{"kind": "kan", "widths": [2, 5, 1], "basis": "bspline", "grid": 5, "order": 3, "grid_range": [-1, 1], "noise_scale": 0.3, "scale_base_mu": 0, "scale_base_sigma": 1, "base_fun": "silu", "seed": 0}"#
    )
    XCTAssertEqual(
      m.tensors.map(\.name),
      [
        "0.coef", "0.scale_base", "0.scale_sp", "0.grid", "0.mask", "1.coef", "1.scale_base",
        "1.scale_sp", "1.grid", "1.mask",
      ])
    XCTAssertEqual(m.tensor(named: "0.coef")?.shape, [2, 5, 8])
    XCTAssertEqual(m.tensor(named: "0.grid")?.shape, [2, 12])
    XCTAssertEqual(m.tensor(named: "1.mask")?.shape, [5, 1])
    XCTAssertEqual(m.tensor(named: "1.scale_sp")?.shape, [5, 1])
    XCTAssertEqual(m.parameterCount, 2 * 5 * 10 + 5 * 1 * 10)  // buffers are not counted
    XCTAssertEqual(m.inputDim, 2)
    XCTAssertEqual(m.outputDim, 1)
    // The full spec rebuilds the same model; a different seed a different one.
    let again = try Model(spec: m.spec)
    XCTAssertEqual(again.spec, m.spec)
    for (a, b) in zip(m.tensors, again.tensors) {
      XCTAssertEqual(a.parameter.value, b.parameter.value, a.name)
    }
    let custom = try Model(
      json:
        #"{"kind": "kan", "widths": [3, 2, 2, 1], "basis": "bspline", "grid": 7, "order": 2, "grid_range": [-2.5, 4], "noise_scale": 0.1, "scale_base_mu": 0.25, "scale_base_sigma": 0.5, "seed": 12}"#
    )
    XCTAssertEqual(try Model(spec: custom.spec).spec, custom.spec)
    XCTAssertEqual(custom.layers.count, 3)
    let layer = try XCTUnwrap(custom.layers[1] as? BSplineKANLayer)
    XCTAssertEqual(layer.grid.value.first, -2.5 - 2 * 6.5 / 7)
    XCTAssertEqual(layer.grid.value[2], -2.5)
    XCTAssertEqual(layer.grid.value[2 + 7], 4)
    let other = try Model(json: #"{"kind": "kan", "widths": [2, 5, 1], "seed": 1}"#)
    XCTAssertNotEqual(other.tensor(named: "0.coef")?.value, m.tensor(named: "0.coef")?.value)
  }

  /// The extremes the spec allows build, initialise (banded least squares) and evaluate.
  func testExtremeGridsAndOrders() throws {
    for json in [
      #"{"kind": "kan", "widths": [2, 1], "grid": 10000, "order": 10}"#,
      #"{"kind": "kan", "widths": [3, 2], "grid": 1, "order": 0}"#,
      #"{"kind": "kan", "widths": [1, 1], "grid": 1, "order": 10, "grid_range": [1000, 1001]}"#,
    ] {
      let m = try Model(json: json)
      XCTAssertTrue(m.parameters.allSatisfy { $0.value.allSatisfy(\.isFinite) }, json)
      var rng = RandomSource(seed: 1)
      let x = (0..<(20 * m.inputDim)).map { _ in
        Float(rng.uniform(-1.5, 1.5)) + (json.contains("1000") ? 1000 : 0)
      }
      let y = try m.predict(x)
      XCTAssertTrue(y.allSatisfy(\.isFinite), json)
      let t = try Trainer(model: m, json: #"{"learning_rate": 0.01}"#)
      XCTAssertNoThrow(try t.step(x: x, y: y.map { $0 + 0.1 }), json)
      XCTAssertEqual(try Model(spec: m.spec).spec, m.spec)
    }
  }

  func testSequentialMixesKANDenseAndActivationLayers() throws {
    let m = try Model(
      json:
        #"{"kind": "sequential", "input": 3, "seed": 4, "layers": [{"type": "dense", "output": 4}, {"type": "activation", "name": "tanh"}, {"type": "kan", "output": 2, "grid": 6, "order": 2}, {"type": "kan", "output": 1}]}"#
    )
    XCTAssertEqual(
      m.tensors.map(\.name).filter { $0.hasPrefix("2.") },
      ["2.coef", "2.scale_base", "2.scale_sp", "2.grid", "2.mask"])
    XCTAssertEqual(m.tensor(named: "2.coef")?.shape, [4, 2, 8])
    XCTAssertEqual(m.tensor(named: "3.coef")?.shape, [2, 1, 8])
    let layerSpec = m.spec["layers"].flatMap {
      if case .array(let a) = $0 { return a[2] } else { return nil }
    }
    XCTAssertEqual(
      layerSpec?.text,
      #"{"type": "kan", "output": 2, "basis": "bspline", "grid": 6, "order": 2, "grid_range": [-1, 1], "noise_scale": 0.3, "scale_base_mu": 0, "scale_base_sigma": 1, "base_fun": "silu"}"#
    )
    let again = try Model(spec: m.spec)
    XCTAssertEqual(again.spec, m.spec)
    for (a, b) in zip(m.tensors, again.tensors) {
      XCTAssertEqual(a.parameter.value, b.parameter.value, a.name)
    }
    // The whole model's gradients through dense -> tanh -> kan -> kan.
    var rng = RandomSource(seed: 1)
    let x = (0..<(5 * 3)).map { _ in Float(rng.uniform(-1, 1)) }
    let jac = try m.inputGradient(x)
    for s in 0..<5 {
      for i in 0..<3 {
        var plus = x
        var minus = x
        plus[s * 3 + i] += 1e-2
        minus[s * 3 + i] -= 1e-2
        let numeric = (try m.predict(plus)[s] - m.predict(minus)[s]) / 2e-2
        XCTAssertEqual(jac[s * 3 + i], numeric, accuracy: 2e-3 + 1e-2 * abs(numeric))
      }
    }
  }

  /// The KAN kind is the same as a sequential stack of KAN layers with the same seed.
  func testKANKindEqualsSequentialKANLayers() throws {
    let a = try Model(json: #"{"kind": "kan", "widths": [2, 3, 1], "grid": 4, "seed": 3}"#)
    let b = try Model(
      json:
        #"{"kind": "sequential", "input": 2, "seed": 3, "layers": [{"type": "kan", "output": 3, "grid": 4}, {"type": "kan", "output": 1, "grid": 4}]}"#
    )
    for (p, q) in zip(a.tensors, b.tensors) {
      XCTAssertEqual(p.name, q.name)
      XCTAssertEqual(p.parameter.value, q.parameter.value, p.name)
    }
  }

  func testKANSpecErrorsNameTheProblem() {
    let cases: [(String, String, LaminaError.Code)] = [
      (#"{"kind": "kan"}"#, "\"widths\"", .invalidArgument),
      (#"{"kind": "kan", "widths": 3}"#, "\"widths\"", .invalidArgument),
      (#"{"kind": "kan", "widths": [3]}"#, "at least two", .invalidArgument),
      (#"{"kind": "kan", "widths": [2, 0, 1]}"#, "widths[1]", .invalidArgument),
      (#"{"kind": "kan", "widths": [2, 70000]}"#, "widths[1]", .invalidArgument),
      (#"{"kind": "kan", "widths": [2, 1.5]}"#, "widths[1]", .invalidArgument),
      (#"{"kind": "kan", "widths": [2, 1], "grid": 0}"#, "\"grid\"", .invalidArgument),
      (#"{"kind": "kan", "widths": [2, 1], "grid": 10001}"#, "\"grid\"", .invalidArgument),
      (#"{"kind": "kan", "widths": [2, 1], "order": 11}"#, "\"order\"", .invalidArgument),
      (#"{"kind": "kan", "widths": [2, 1], "order": -1}"#, "\"order\"", .invalidArgument),
      (
        #"{"kind": "kan", "widths": [2, 1], "grid_range": [1, 1]}"#, "\"grid_range\"",
        .invalidArgument
      ),
      (
        #"{"kind": "kan", "widths": [2, 1], "grid_range": [1, -1]}"#, "\"grid_range\"",
        .invalidArgument
      ),
      (
        #"{"kind": "kan", "widths": [2, 1], "grid_range": [0]}"#, "\"grid_range\"", .invalidArgument
      ),
      (
        #"{"kind": "kan", "widths": [2, 1], "grid_range": [0, "1"]}"#, "\"grid_range\"",
        .invalidArgument
      ),
      (
        #"{"kind": "kan", "widths": [2, 1], "grid_range": [0, 1e-40]}"#, "\"grid_range\"",
        .invalidArgument
      ),
      (
        #"{"kind": "kan", "widths": [2, 1], "grid_range": [-1e38, 3e38]}"#, "\"grid_range\"",
        .invalidArgument
      ),
      (
        #"{"kind": "kan", "widths": [2, 1], "noise_scale": -1}"#, "\"noise_scale\"",
        .invalidArgument
      ),
      (
        #"{"kind": "kan", "widths": [2, 1], "scale_base_sigma": -0.5}"#, "\"scale_base_sigma\"",
        .invalidArgument
      ),
      (
        #"{"kind": "kan", "widths": [2, 1], "basis": "bessel"}"#, "unknown \"basis\"",
        .invalidArgument
      ),
      (
        #"{"kind": "kan", "widths": [2, 1], "grids": 5}"#, "unknown key \"grids\"", .invalidArgument
      ),
      (#"{"kind": "kan", "widths": [2, 1], "seed": -1}"#, "\"seed\"", .invalidArgument),
      (#"{"kind": "kan", "widths": [65536, 65536], "grid": 100}"#, "parameters", .outOfMemory),
      (
        #"{"kind": "sequential", "input": 2, "layers": [{"type": "kan"}]}"#, "\"output\"",
        .invalidArgument
      ),
      (
        #"{"kind": "sequential", "input": 2, "layers": [{"type": "kan", "output": 1, "widths": [2, 1]}]}"#,
        "unknown key \"widths\"", .invalidArgument
      ),
      (
        #"{"kind": "sequential", "input": 2, "layers": [{"type": "kan", "output": 1, "order": 20}]}"#,
        "layers[0]", .invalidArgument
      ),
    ]
    for (json, fragment, code) in cases {
      XCTAssertThrowsError(try Model(json: json), json) { error in
        let e = error as? LaminaError
        XCTAssertEqual(e?.code, code, json)
        XCTAssertTrue(
          e?.message.contains(fragment) ?? false,
          "\(json): message \"\(e?.message ?? "")\" lacks \"\(fragment)\"")
      }
    }
  }

  // MARK: - Files

  func testSaveLoadRoundTripKeepsBuffers() throws {
    let m = try Model(
      json: #"{"kind": "kan", "widths": [2, 3, 1], "grid": 4, "order": 2, "seed": 5}"#)
    // A moved (non-uniform) grid and a pruned edge must survive the file.
    let grid = try XCTUnwrap(m.tensor(named: "0.grid"))
    grid.value = grid.value.enumerated().map { $0.element * 1.3 + Float($0.offset % 9) * 0.01 }
    try XCTUnwrap(m.tensor(named: "1.mask")).value[1] = 0
    try XCTUnwrap(m.tensor(named: "0.coef")).value[3] = 0.75
    let path = NSTemporaryDirectory() + "lamina-kan-\(getpid()).safetensors"
    defer { unlink(path) }
    try m.save(to: path)
    let back = try Model.load(from: path)
    XCTAssertEqual(back.spec, m.spec)
    XCTAssertEqual(back.tensors.map(\.name), m.tensors.map(\.name))
    for (a, b) in zip(m.tensors, back.tensors) {
      XCTAssertEqual(
        a.parameter.value.map(\.bitPattern), b.parameter.value.map(\.bitPattern), a.name)
      XCTAssertEqual(a.parameter.shape, b.parameter.shape)
    }
    let x: [Float] = [0.1, -0.7, 1.5, 0.2, -3, 0.9]
    XCTAssertEqual(try back.predict(x), try m.predict(x))
    // A copy is deep, buffers included.
    let c = m.copy()
    c.tensor(named: "0.grid")?.value[0] = -50
    XCTAssertNotEqual(m.tensor(named: "0.grid")?.value[0], -50)
  }

  // MARK: - Learning

  /// pykan's tutorial function f(x, y) = exp(sin(pi x) + y^2) on [-1, 1]^2 with a [2, 5, 1]
  /// KAN and Adam (full batch); pykan's `fit` reports RMSE, so the bound is on RMSE.
  func testFitsPykanTutorialFunction() throws {
    let m = try Model(json: #"{"kind": "kan", "widths": [2, 5, 1], "grid": 5, "order": 3}"#)
    var rng = RandomSource(seed: 1)
    func data(_ n: Int) -> ([Float], [Float]) {
      var x: [Float] = []
      var y: [Float] = []
      for _ in 0..<n {
        let a = Float(rng.uniform(-1, 1))
        let b = Float(rng.uniform(-1, 1))
        x += [a, b]
        y.append(expf(sinf(Float.pi * a) + b * b))
      }
      return (x, y)
    }
    let (x, y) = data(400)
    let (testX, testY) = data(1000)
    let t = try Trainer(model: m, json: #"{"learning_rate": 0.05}"#)
    let initial = try t.evaluate(x: testX, y: testY).squareRoot()
    for _ in 0..<300 { try t.step(x: x, y: y) }
    let rmse = try t.evaluate(x: testX, y: testY).squareRoot()
    XCTAssertGreaterThan(initial, 0.5)
    XCTAssertLessThan(rmse, 0.05, "test RMSE after 300 Adam steps")
  }

  // MARK: - Grid updates and refinement

  func layer(from c: KANReference.GridCase, grid: Int) -> BSplineKANLayer {
    var options = BSplineKANLayer.Options()
    options.grid = grid
    options.order = c.order
    return BSplineKANLayer(input: c.input, output: c.output, options: options)
  }

  /// The spline parts of every edge at `points` [n][in], out-major per row.
  func splines(_ layer: BSplineKANLayer, _ points: [Float]) -> [Float] {
    let n = points.count / layer.inputDim
    var out: [Float] = []
    for i in 0..<layer.inputDim {
      out += layer.splineValues(input: i, at: (0..<n).map { points[$0 * layer.inputDim + i] })
    }
    return out
  }

  func testGridUpdateMatchesPykan() {
    for (label, c) in [
      ("cubic", KANReference.updateCubic), ("quadratic", KANReference.updateQuadratic),
    ] {
      let l = layer(from: c, grid: c.grid)
      l.coef.value = c.coef
      let before = splines(l, c.samples)
      c.samples.withUnsafeBufferPointer {
        l.updateGrid(samples: $0.baseAddress!, count: c.samples.count / c.input)
      }
      assertClose(l.grid.value, c.newKnots, absolute: 2e-6, relative: 2e-6, "\(label) knots")
      assertClose(l.coef.value, c.newCoef, absolute: 2e-4, relative: 1e-3, "\(label) coef")
      // The refit reproduces the old splines on the samples (least squares, so roughly).
      assertClose(splines(l, c.samples), before, absolute: 0.05, relative: 0, "\(label) preserved")
    }
  }

  func testRefineMatchesPykanInitializeGridFromParent() throws {
    let c = KANReference.refineCubic
    let parent = layer(from: c, grid: c.grid)
    parent.coef.value = c.coef
    parent.grid.value = c.knots
    let child = layer(from: c, grid: c.newGrid)
    try c.samples.withUnsafeBufferPointer {
      try child.initializeGrid(
        from: parent, samples: $0.baseAddress!, count: c.samples.count / c.input)
    }
    assertClose(child.grid.value, c.newKnots, absolute: 2e-6, relative: 2e-6, "knots")
    // pykan's new splines (its coefficients on its knots) against Lamina's, on the samples
    // and between them; the coefficients themselves agree where the samples determine them.
    let reference = layer(from: c, grid: c.newGrid)
    reference.grid.value = c.newKnots
    reference.coef.value = c.newCoef
    var rng = RandomSource(seed: 3)
    let probes = c.samples + (0..<200).map { _ in Float(rng.uniform(-0.9, 1.1)) }
    assertClose(
      splines(child, probes), splines(reference, probes), absolute: 2e-4, relative: 1e-3, "splines")
    XCTAssertEqual(child.scaleSp.value, parent.scaleSp.value)
    XCTAssertEqual(child.mask.value, parent.mask.value)
  }

  func testModelUpdateGridFollowsSamplesAndKeepsTheFunction() throws {
    let m = try Model(json: #"{"kind": "kan", "widths": [2, 3, 1], "grid": 8, "seed": 2}"#)
    for layer in m.layers.compactMap({ $0 as? BSplineKANLayer }) {
      // Smooth splines (slowly varying coefficients), which new knots can represent.
      let nb = layer.options.basisCount
      for e in layer.coef.value.indices {
        layer.coef.value[e] = 0.5 * sinf(0.5 * Float(e % nb) + Float(e / nb))
      }
    }
    var rng = RandomSource(seed: 1)
    // Samples on [-0.5, 0.9] x [-0.2, 0.6], denser near the low end.
    let x = (0..<500).flatMap { _ -> [Float] in
      let u = rng.unit()
      let v = rng.unit()
      return [Float(-0.5 + 1.4 * u * u), Float(-0.2 + 0.8 * v)]
    }
    let before = try m.predict(x)
    let spec = m.spec
    try m.updateGrid(samples: x)
    XCTAssertEqual(m.spec, spec)
    let first = try XCTUnwrap(m.layers[0] as? BSplineKANLayer)
    // Input 0's interior knots now span its samples; order 3, so interior = grid[3...11].
    let knots = Array(first.grid.value[0..<15])
    let column = stride(from: 0, to: x.count, by: 2).map { x[$0] }
    XCTAssertEqual(knots[3], column.min()!, accuracy: 1e-6)
    XCTAssertEqual(knots[11], column.max()!, accuracy: 1e-6)
    XCTAssertTrue(zip(knots, knots.dropFirst()).allSatisfy { $0 < $1 })
    // Quantile grid: the interior knots are denser where the samples are.
    XCTAssertLessThan(knots[4] - knots[3], knots[11] - knots[10])
    let after = try m.predict(x)
    var squares: Float = 0
    var spread: Float = 0
    let mean = before.reduce(0, +) / Float(before.count)
    for (a, b) in zip(before, after) {
      squares += (a - b) * (a - b)
      spread += (a - mean) * (a - mean)
    }
    XCTAssertLessThan(squares, 1e-4 * spread, "update_grid must keep the function on the samples")
    // Degenerate samples (one input constant) keep that input's grid; no NaN appears.
    let grid1 = Array(first.grid.value[15...])
    let flat = (0..<50).flatMap { s -> [Float] in [Float(s) / 50, 0.25] }
    try m.updateGrid(samples: flat)
    XCTAssertEqual(Array(first.grid.value[15...]), grid1)
    XCTAssertTrue(try m.predict(x).allSatisfy(\.isFinite))
  }

  func testRefineNestedGridReproducesTheModel() throws {
    let m = try Model(json: #"{"kind": "kan", "widths": [2, 3, 2], "grid": 5, "seed": 4}"#)
    for layer in m.layers.compactMap({ $0 as? BSplineKANLayer }) {
      var rng = RandomSource(seed: 5)
      for e in layer.coef.value.indices { layer.coef.value[e] = Float(rng.uniform(-0.5, 0.5)) }
      layer.mask.value[1] = 0
    }
    var rng = RandomSource(seed: 9)
    let x = (0..<(300 * 2)).map { _ in Float(rng.uniform(-0.95, 0.95)) }
    let before = try m.predict(x)
    // 5 -> 10 intervals on the same uniform range: the new space contains the old splines.
    let fine = try m.refine(grid: 10)
    XCTAssertEqual(fine.spec["grid"], .number(10))
    XCTAssertEqual(fine.tensor(named: "0.coef")?.shape, [2, 3, 13])
    XCTAssertEqual(fine.tensor(named: "1.mask")?.value, m.tensor(named: "1.mask")?.value)
    XCTAssertEqual(
      fine.tensor(named: "0.scale_base")?.value, m.tensor(named: "0.scale_base")?.value)
    assertClose(try fine.predict(x), before, absolute: 2e-4, relative: 0, "refined without samples")
    let withSamples = try m.refine(grid: 20, samples: x)
    assertClose(
      try withSamples.predict(x), before, absolute: 2e-4, relative: 0, "refined at the samples")
    // Not nested (5 -> 7): close, not exact.
    let seven = try m.refine(grid: 7, samples: x)
    assertClose(try seven.predict(x), before, absolute: 0.05, relative: 0, "refined to 7")
    // The refined model is an ordinary model: its spec rebuilds it, it saves and loads.
    XCTAssertEqual(try Model(spec: fine.spec).spec, fine.spec)
    XCTAssertEqual(try Model.decode(fine.encoded()).predict(x), try fine.predict(x))
    // The original is untouched.
    XCTAssertEqual(try m.predict(x), before)
  }

  func testRefineSequentialAndErrors() throws {
    let m = try Model(
      json:
        #"{"kind": "sequential", "input": 2, "seed": 1, "layers": [{"type": "dense", "output": 3}, {"type": "kan", "output": 1, "grid": 4}]}"#
    )
    let r = try m.refine(grid: 8)
    XCTAssertEqual(r.tensor(named: "1.coef")?.shape, [3, 1, 11])
    XCTAssertEqual(r.tensor(named: "0.weight")?.value, m.tensor(named: "0.weight")?.value)
    let mlp = try Model(json: #"{"kind": "mlp", "input": 2, "output": 1}"#)
    XCTAssertThrowsError(try mlp.refine(grid: 8)) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .unsupported)
    }
    XCTAssertThrowsError(try mlp.updateGrid(samples: [0, 1])) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .unsupported)
    }
    XCTAssertThrowsError(try m.refine(grid: 0)) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .invalidArgument)
    }
    XCTAssertThrowsError(try m.refine(grid: 8, samples: [1, 2, 3])) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .shape)
    }
    XCTAssertThrowsError(try m.updateGrid(samples: [])) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .shape)
    }
    XCTAssertThrowsError(try m.updateGrid(samples: [0, .nan])) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .numeric)
    }
    XCTAssertThrowsError(try m.updateGrid(samples: [0, 1], gridEps: 2)) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .invalidArgument)
    }
  }
}

/// A B-spline KAN layer with the given shape and random (seeded) tensors, optionally a non-uniform grid
/// and a partial mask, so gradient checks see every term.
func randomKANLayer(
  _ input: Int, _ output: Int, grid: Int, order: Int, seed: UInt64 = 5,
  nonUniform: Bool = false, masked: Bool = false
) -> BSplineKANLayer {
  var options = BSplineKANLayer.Options()
  options.grid = grid
  options.order = order
  let layer = BSplineKANLayer(input: input, output: output, options: options)
  var rng = RandomSource(seed: seed)
  layer.initialize(rng: &rng)
  // Spline weights of order 1, so the spline branch matters as much as the SiLU branch.
  for e in layer.coef.value.indices { layer.coef.value[e] = Float(rng.uniform(-1, 1)) }
  for e in layer.scaleSp.value.indices { layer.scaleSp.value[e] = Float(rng.uniform(0.3, 1.2)) }
  if nonUniform {
    // Sorted knots with random gaps (as after a grid update), per input.
    let count = options.knotCount
    for i in 0..<input {
      var t: Float = Float(rng.uniform(-2.5, -1.5))
      for j in 0..<count {
        layer.grid.value[i * count + j] = t
        t += Float(rng.uniform(0.05, 1.0)) * 4 / Float(count)
      }
    }
  }
  if masked {
    for e in layer.mask.value.indices where e % 3 == 1 { layer.mask.value[e] = 0 }
    if layer.mask.value.count > 2 { layer.mask.value[2] = 0.5 }
  }
  return layer
}
