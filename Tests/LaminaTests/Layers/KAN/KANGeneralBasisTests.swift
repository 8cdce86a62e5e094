import XCTest

@testable import Lamina

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The vectorised evaluation of B-spline bases on non-uniform knots (`KANBlock.prepare` on
/// the general path, `KANBlock.prepareGeneral`): the same bits as the row-by-row
/// `InputBasis.evaluate` on every row inside the grid, zeros outside, and close to a Double
/// Cox-de Boor reference.
final class KANGeneralBasisTests: XCTestCase {
  /// Plain Cox-de Boor in Double with the 0/0 = 0 convention: all bases of order `k` at x
  /// and their derivatives (half-open intervals, zero outside [t_0, t_M)).
  static func referenceBases(_ x: Double, knots t: [Double], order k: Int) -> (
    values: [Double], derivatives: [Double]
  ) {
    let m = t.count - 1
    var b = (0..<m).map { i in t[i] <= x && x < t[i + 1] ? 1.0 : 0.0 }
    var lower = b
    if k > 0 {
      for j in 1...k {
        lower = b
        var next = [Double](repeating: 0, count: m - j)
        for i in 0..<(m - j) {
          var v = 0.0
          let d1 = t[i + j] - t[i]
          if d1 != 0 { v += (x - t[i]) / d1 * b[i] }
          let d2 = t[i + j + 1] - t[i + 1]
          if d2 != 0 { v += (t[i + j + 1] - x) / d2 * b[i + 1] }
          next[i] = v
        }
        b = next
      }
    }
    var d = [Double](repeating: 0, count: b.count)
    if k > 0 {
      for i in 0..<b.count {
        var v = 0.0
        let d1 = t[i + k] - t[i]
        if d1 != 0 { v += lower[i] / d1 }
        let d2 = t[i + k + 1] - t[i + 1]
        if d2 != 0 { v -= lower[i + 1] / d2 }
        d[i] = Double(k) * v
      }
    }
    return (b, d)
  }

  /// Knot vectors that reach the general path: random spacings, a pykan-style grid after
  /// an update to clustered samples, exactly repeated knots and knots one ulp apart.
  static func knotSets(intervals g: Int, order k: Int, rng: inout RandomSource) -> [[Float]] {
    let count = g + 2 * k + 1
    var random = [Float]()
    var t: Float = -1.5
    for _ in 0..<count {
      random.append(t)
      t += Float(rng.uniform(0.02, 0.9))
    }
    // Grid from sample quantiles (clustered near 0.3), extended by k uniform steps each side.
    var samples = (0..<200).map { _ in Float(0.3 + 0.2 * rng.uniform(-1, 1) * rng.uniform(0, 1)) }
    samples.sort()
    var inner = (0...g).map { i in samples[min(samples.count - 1, i * (samples.count - 1) / g)] }
    for i in 1..<inner.count where inner[i] <= inner[i - 1] { inner[i] = inner[i - 1].nextUp }
    let h = (inner[g] - inner[0]) / Float(g)
    let quantile =
      (0..<k).map { inner[0] - Float(k - $0) * h } + inner
      + (1...max(k, 1)).prefix(k).map {
        inner[g] + Float($0) * h
      }
    var repeated = random
    if count > 4 {
      repeated[count / 2] = repeated[count / 2 - 1]  // an empty interval
      repeated[1] = repeated[0]
    }
    var ulp = random
    if count > 3 { ulp[count / 2 + 1] = ulp[count / 2].nextUp }
    // A knot at exactly +0 and one at -0 (x = -0 and +0 are at or above both).
    let middle = random[count / 2]
    let zeroKnot = random.map { $0 - middle }
    var negativeZeroKnot = zeroKnot
    negativeZeroKnot[count / 2] = -0.0
    return [random, quantile, repeated, ulp, zeroKnot, negativeZeroKnot]
  }

  /// Knot sets that took the general path (a few tiny ones are uniform).
  var generalSets = 0

  func testVectorizedGeneralPathMatchesScalarBits() {
    var rng = RandomSource(seed: 77)
    var checkedRows = 0
    for k in 0...5 {
      for g in [1, 2, 5, 13, 70] {
        for knots in Self.knotSets(intervals: g, order: k, rng: &rng) {
          let (first, last) = (knots[0], knots[knots.count - 1])
          var xs = (0..<97).map { _ in
            Float(rng.uniform(Double(first) - 0.3, Double(last) + 0.3))
          }
          xs += knots  // exactly on every knot, including the last (outside: half-open)
          xs += knots.map { $0.nextDown } + knots.map { $0.nextUp }
          xs += [.nan, .infinity, -.infinity, 0, -0.0]
          for rows in [1, 7, 8, 13, xs.count] {
            checkedRows += compare(
              knots: knots, order: k, xs: Array(xs.prefix(rows)), label: "k \(k) G \(g)")
          }
        }
      }
    }
    XCTAssertGreaterThan(checkedRows, 10000)
    XCTAssertGreaterThan(generalSets, 500)
  }

  /// Under every rounding mode a host may set (round-toward-negative makes x - x = -0, which
  /// the vector interval count reads), the fast path still gives the scalar path's bits for
  /// rows exactly on knots, at -0 and beside knots.
  func testRoundingModesKeepScalarBits() {
    var rng = RandomSource(seed: 5)
    let saved = fegetround()
    defer { fesetround(saved) }
    let modes: [Int32] = [FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO, FE_TONEAREST]
    for mode in modes {
      for k in [0, 1, 3] {
        for knots in Self.knotSets(intervals: 5, order: k, rng: &rng) {
          var xs = knots + knots.map { $0.nextDown } + knots.map { $0.nextUp }
          xs += [0, -0.0, 0.5, -0.5]
          XCTAssertEqual(fesetround(mode), 0)
          _ = compare(knots: knots, order: k, xs: xs, label: "mode \(mode) k \(k)")
          fesetround(saved)
        }
      }
    }
  }

  /// Prepares the rows both ways in blocks of `xs.count` rows and compares them; returns
  /// the rows inside the grid compared.
  func compare(knots: [Float], order k: Int, xs: [Float], label: String) -> Int {
    let count = xs.count
    let bytes = KANBlock.byteCount(capacity: count, order: k)
    let memory = UnsafeMutableRawPointer.allocate(
      byteCount: 2 * bytes, alignment: ScratchPool.alignment)
    defer { memory.deallocate() }
    // Poison the scratch so stale values cannot pass for computed ones.
    memory.initializeMemory(as: UInt8.self, repeating: 0xFF, count: 2 * bytes)
    let fast = KANBlock(capacity: count, order: k, memory: memory)
    let slow = KANBlock(capacity: count, order: k, memory: memory + bytes)
    let table = UnsafeMutablePointer<Float>.allocate(
      capacity: BSpline.InputBasis.tableCount(knots: knots.count, order: k))
    defer { table.deallocate() }
    var inside = 0
    knots.withUnsafeBufferPointer { tb in
      let basis = BSpline.InputBasis(
        knots: tb.baseAddress!, count: knots.count, order: k, table: table)
      if !basis.uniform { generalSets += 1 }
      xs.withUnsafeBufferPointer { xb in
        for derivatives in [true, false] {
          fast.prepare(
            basis, column: xb.baseAddress!, stride: 1, count: count, base: .silu,
            siluDerivative: false,
            withDerivatives: derivatives)
          slow.prepare(
            basis, column: xb.baseAddress!, stride: 1, count: count, base: .silu,
            siluDerivative: false,
            withDerivatives: derivatives, vectorized: false)
          let (c, nb) = (fast.capacity, knots.count - k - 1)
          for q in 0..<count {
            XCTAssertEqual(fast.interval[q], slow.interval[q], "\(label) x \(xs[q])")
            XCTAssertEqual(
              fast.firstBasis[q].bitPattern, slow.firstBasis[q].bitPattern, "\(label)")
            let mu = slow.interval[q]
            guard mu >= 0 else {
              // The general path zeroes rows outside (the uniform one leaves them).
              for r in 0...k where !basis.uniform {
                XCTAssertEqual(fast.values[r * c + q], 0, "\(label) outside x \(xs[q])")
              }
              continue
            }
            if derivatives { inside += 1 }
            let reference = Self.referenceBases(
              Double(xs[q]), knots: knots.map(Double.init), order: k)
            for r in 0...k {
              XCTAssertEqual(
                fast.values[r * c + q].bitPattern, slow.values[r * c + q].bitPattern,
                "\(label) x \(xs[q]) basis \(r)")
              if derivatives {
                XCTAssertEqual(
                  fast.derivatives[r * c + q].bitPattern, slow.derivatives[r * c + q].bitPattern,
                  "\(label) x \(xs[q]) derivative \(r)")
              }
              let index = mu - k + r
              guard index >= 0 && index < nb else { continue }
              XCTAssertEqual(
                Double(fast.values[r * c + q]), reference.values[index], accuracy: 1e-5,
                "\(label) x \(xs[q]) basis \(index) vs Double")
            }
          }
          for q in count..<fast.capacity where !basis.uniform {
            XCTAssertEqual(fast.interval[q], -1)
            XCTAssertEqual(fast.firstBasis[q], -Float(k + 1))
          }
        }
      }
    }
    return inside
  }
}
