import XCTest

@testable import Lamina

/// The AVX2 kernels of the uniform cubic B-spline path (CLaminaKernels/kan.h) give the bits
/// of the Swift SIMD8 code they replace: basis blocks plane by plane (rows on knots, next to
/// them, outside the grid, NaN, rows whose direct guess the knots reject), and whole layer
/// passes (plain, and kept in a `ForwardCache` and reused by backward) at awkward batch sizes.
final class KANKernelTests: XCTestCase {
  /// Whether this CPU runs the kernels (the flag's value at start-up).
  static let available = KANBlock.useAVX2

  override func tearDown() {
    KANBlock.useAVX2 = Self.available
    BSplineKANLayer.useSmallOutputKernels = true
    super.tearDown()
  }

  /// Extended uniform cubic knots of `g` intervals on [a, a + g h], knot `nudged` (if any)
  /// moved by `delta` h (within the uniformity tolerance, so the basis stays "uniform" and
  /// rows next to it get a rejected direct guess).
  static func knots(_ g: Int, a: Float, h: Float, nudged: Int? = nil, delta: Float = 0) -> [Float] {
    var t = (0...(g + 6)).map { a + Float($0 - 3) * h }
    if let nudged { t[nudged] += delta * h }
    return t
  }

  /// Prepares `xs` with the kernel and with the Swift code and compares every plane over
  /// the padded rows; returns the rows the kernel had to hand back (guess rejected).
  @discardableResult
  func compareBlocks(_ knots: [Float], _ xs: [Float], label: String) -> Int {
    let count = xs.count
    let bytes = KANBlock.byteCount(capacity: count, order: 3)
    let memory = UnsafeMutableRawPointer.allocate(
      byteCount: 2 * bytes, alignment: ScratchPool.alignment)
    defer { memory.deallocate() }
    memory.initializeMemory(as: UInt8.self, repeating: 0xFF, count: 2 * bytes)
    let fast = KANBlock(capacity: count, order: 3, memory: memory)
    let slow = KANBlock(capacity: count, order: 3, memory: memory + bytes)
    let table = UnsafeMutablePointer<Float>.allocate(
      capacity: BSpline.InputBasis.tableCount(knots: knots.count, order: 3))
    defer { table.deallocate() }
    var rejected = 0
    knots.withUnsafeBufferPointer { tb in
      let basis = BSpline.InputBasis(
        knots: tb.baseAddress!, count: knots.count, order: 3, table: table)
      XCTAssertTrue(basis.uniform, label)
      xs.withUnsafeBufferPointer { xb in
        for derivatives in [true, false] {
          KANBlock.useAVX2 = true
          fast.prepare(
            basis, column: xb.baseAddress!, stride: 1, count: count, base: .silu,
            siluDerivative: derivatives,
            withDerivatives: derivatives, keepSiluPrime: !derivatives)
          KANBlock.useAVX2 = false
          slow.prepare(
            basis, column: xb.baseAddress!, stride: 1, count: count, base: .silu,
            siluDerivative: derivatives,
            withDerivatives: derivatives, keepSiluPrime: !derivatives)
          let padded = (count + 7) & ~7
          for q in 0..<padded {
            let l = "\(label) row \(q) x \(q < count ? xs[q] : 0)"
            XCTAssertEqual(fast.interval[q], slow.interval[q], l)
            for (p, r) in [
              (fast.firstBasis, slow.firstBasis), (fast.u, slow.u),
              (fast.inverseWidth, slow.inverseWidth), (fast.silu, slow.silu), (fast.x, slow.x),
            ] + (derivatives ? [] : [(fast.siluPrime, slow.siluPrime)]) {
              XCTAssertEqual(p[q].bitPattern, r[q].bitPattern, l)
            }
            for t in 0...3 {
              let e = t * fast.capacity + q
              XCTAssertEqual(
                fast.values[e].bitPattern, slow.values[e].bitPattern, "\(l) basis \(t)")
              if derivatives {
                XCTAssertEqual(
                  fast.derivatives[e].bitPattern, slow.derivatives[e].bitPattern,
                  "\(l) derivative \(t)")
              }
            }
          }
        }
        // Rows inside the grid whose guess the knots reject (the kernel's hand-back).
        let locator = basis.locator
        for q in 0..<count {
          let xv = xs[q]
          guard xv >= locator.first && xv < locator.last else { continue }
          let g = min(
            Int(
              ((xv - locator.first) * locator.inverseSpacing - 0.5 + 12_582_912).bitPattern
                & 0x3F_FFFF),
            locator.intervals - 1)
          if !(locator.knots[g] <= xv && xv < locator.knots[g + 1]) { rejected += 1 }
        }
      }
    }
    return rejected
  }

  func testUniformCubicBlocksMatchTheSwiftPath() throws {
    try XCTSkipUnless(Self.available, "no AVX2/FMA on this CPU")
    var rng = RandomSource(seed: 11)
    for (g, a, h) in [(5, Float(-1), Float(0.4)), (3, -2.3, 1.0), (11, 0.25, 0.07)] {
      let t = Self.knots(g, a: a, h: h)
      let grid = Array(t[3...(g + 3)])
      var pool: [Float] = grid + grid.map(\.nextUp) + grid.map(\.nextDown)
      pool += [.nan, .infinity, -.infinity, 0, -0.0, a - 5 * h, a + Float(g + 5) * h]
      pool += (0..<40).map { _ in Float(rng.uniform(Double(a - h), Double(a + Float(g + 1) * h))) }
      for count in [1, 7, 8, 13, 37, pool.count] {
        let xs = (0..<count).map { pool[($0 * 7) % pool.count] }
        compareBlocks(t, xs, label: "G \(g) count \(count)")
      }
    }
  }

  func testRejectedGuessesAreRedone() throws {
    try XCTSkipUnless(Self.available, "no AVX2/FMA on this CPU")
    // Knot t_6 (grid knot 3 of 5) moved right by 3e-5 h: rows just left of it guess the
    // interval to its right, which the knots reject.
    let h: Float = 0.4
    let t = Self.knots(5, a: -1, h: h, nudged: 6, delta: 3e-5)
    let centre = -1 + 3 * h
    var xs: [Float] = []
    var v = centre
    for _ in 0..<30 {
      xs.append(v)
      v = v.nextUp
    }
    xs += [t[6], t[6].nextDown, t[6].nextUp, 0.1, -0.7, 2]
    let rejected = compareBlocks(t, xs, label: "nudged knot")
    XCTAssertGreaterThan(rejected, 0, "the test should reach the rejected-guess path")
  }

  /// Forward, kept forward and reusing backward of a dense-path cubic layer (G = 5), with
  /// the basis kernels on and off (products in sgemm both times): the same bits.
  func testLayerPassesMatchTheSwiftPath() throws {
    try XCTSkipUnless(Self.available, "no AVX2/FMA on this CPU")
    BSplineKANLayer.useSmallOutputKernels = false
    for (i, o, n) in [(5, 7, 37), (3, 2, 1), (9, 4, 300), (16, 10, 1029), (4, 20, 45)] {
      let layer = randomKANLayer(i, o, grid: 5, order: 3, masked: true)
      XCTAssertTrue(layer.usesDenseBases)
      let x = KANForwardReuseTests.inputs(n, i, seed: 3)
      var rng = RandomSource(seed: 9)
      let dy = (0..<(n * o)).map { _ in Float(rng.uniform(-1, 1)) }
      let on = passes(layer, x, dy, n, avx2: true)
      let off = passes(layer, x, dy, n, avx2: false)
      XCTAssertEqual(on.count, off.count)
      for (a, b) in zip(on, off) { XCTAssertEqual(a, b, "\(i)->\(o) n \(n)") }
      XCTAssertEqual(on[0], on[1], "kept forward = plain forward")
    }
  }
  /// Plain forward, kept forward, reusing backward (dx and parameter gradients) of `layer`
  /// on x and dy, with the basis kernels on or off, as bit patterns.
  func passes(
    _ layer: BSplineKANLayer, _ x: [Float], _ dy: [Float], _ n: Int, avx2: Bool
  ) -> [[UInt32]] {
    let (i, o) = (layer.inputDim, layer.outputDim)
    KANBlock.useAVX2 = avx2
    for p in layer.parameters { p.gradient = [Float](repeating: 0, count: p.value.count) }
    var y = [Float](repeating: .nan, count: n * o)
    var yKept = y
    var dx = [Float](repeating: .nan, count: n * i)
    let cache = ForwardCache()
    x.withUnsafeBufferPointer { xb in
      let xp = xb.baseAddress!
      y.withUnsafeMutableBufferPointer { layer.forward(xp, $0.baseAddress!, count: n) }
      yKept.withUnsafeMutableBufferPointer {
        layer.forward(xp, $0.baseAddress!, count: n, keeping: cache)
      }
      y.withUnsafeBufferPointer { yb in
        dy.withUnsafeBufferPointer { db in
          dx.withUnsafeMutableBufferPointer { dxb in
            layer.backward(
              xp, yb.baseAddress!, db.baseAddress!, dxb.baseAddress!, count: n,
              parameterGradients: true, reusing: cache)
          }
        }
      }
    }
    return [y.map(\.bitPattern), yKept.map(\.bitPattern), dx.map(\.bitPattern)]
      + layer.parameters.map { $0.gradient.map(\.bitPattern) }
  }

  /// The small-output kernels (products without sgemm, for at most 12 outputs) against the
  /// sgemm path: the same values up to summation order (relative 1e-5 of each result's scale),
  /// kept forward = plain forward to the bit, and the same bits on a second run; layers with
  /// more outputs are unaffected.
  func testSmallOutputKernelsMatchSgemm() throws {
    try XCTSkipUnless(Self.available, "no AVX2/FMA on this CPU")
    for (i, o, n) in [(5, 1, 37), (3, 3, 1), (9, 10, 300), (16, 12, 1029), (7, 5, 9), (4, 13, 45)] {
      let label = "\(i)->\(o) n \(n)"
      let layer = randomKANLayer(i, o, grid: 5, order: 3, masked: true)
      let x = KANForwardReuseTests.inputs(n, i, seed: 4)
      var rng = RandomSource(seed: 10)
      let dy = (0..<(n * o)).map { _ in Float(rng.uniform(-1, 1)) }
      BSplineKANLayer.useSmallOutputKernels = true
      KANBlock.useAVX2 = true
      XCTAssertEqual(layer.smallOutputs, o <= 12, label)
      let fast = passes(layer, x, dy, n, avx2: true)
      XCTAssertEqual(passes(layer, x, dy, n, avx2: true), fast, "\(label): run to run")
      BSplineKANLayer.useSmallOutputKernels = false
      let reference = passes(layer, x, dy, n, avx2: true)
      XCTAssertEqual(fast[0], fast[1], "\(label): kept forward")
      if o > 12 { XCTAssertEqual(fast, reference, label) }
      for (t, (a, b)) in zip(fast, reference).enumerated() {
        let (fa, fb) = (a.map(Float.init(bitPattern:)), b.map(Float.init(bitPattern:)))
        let scale = max(fb.map { abs($0) }.max() ?? 0, 1e-3)
        for e in fa.indices {
          XCTAssertEqual(fa[e], fb[e], accuracy: 1e-5 * scale * 4, "\(label) tensor \(t) [\(e)]")
        }
      }
      // The kernel path was really taken: its parameter-gradient sums (eight lanes, added
      // pairwise) are not sgemm's bits. (Its forward sums are in sgemm's order, and with one
      // output so are the sums.)
      if o > 1 && o <= 12 && n > 8 {
        XCTAssertTrue(zip(fast, reference).contains { $0 != $1 }, "\(label): kernel path taken")
      }
    }
  }
}
