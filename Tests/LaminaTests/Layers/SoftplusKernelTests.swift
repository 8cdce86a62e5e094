import CLaminaKernels
import Foundation
import XCTest

@testable import Lamina

/// The softplus kernels (`CLaminaKernels/activation.c`): forward, backward and the first
/// three derivatives against the same formulas in Double with the C library's exp and
/// log1p, over the whole float range and its edge cases; the AVX2 and baseline builds give
/// the same bits; and an element's result does not depend on where it sits in the array.
final class SoftplusKernelTests: XCTestCase {
  /// Values from -200 to 200 (dense near 0, where the curve bends), edge cases, and the
  /// thresholds' neighbourhoods.
  static let inputs: [Float] = {
    var v: [Float] = [
      0, -0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, 1e-30,
      -1e-30, 1e-7, -1e-7, 19.999_998, 20, 20.000_002, -87.3, -88, -103.9, -104, -104.1, -150,
      .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity,
    ]
    for i in 0...40_000 { v.append(-200 + Float(i) * 0.01) }
    for i in 0...4000 { v.append(-2 + Float(i) * 0.001) }
    return v
  }()

  /// The settings the tests sweep: PyTorch's default, SDF networks' beta 100, a wide one,
  /// and no threshold.
  static let settings: [(beta: Float, threshold: Float)] = [
    (1, 20), (100, 20), (0.5, 20), (1, 1e30),
  ]

  /// Whether `got` is within `ulps` units in the last place of `want`, or within `floor`
  /// of it (at least the smallest normal's ulp, so that results near 0 compare absolutely).
  func close(_ got: Float, _ want: Double, ulps: Float, floor: Double = 0) -> Bool {
    if want.isNaN { return got.isNaN }
    if want.isInfinite { return Double(got) == want }
    let scale = max(Float(abs(want)).ulp, Float.leastNormalMagnitude.ulp)
    return abs(Double(got) - want) <= max(Double(ulps * scale), floor)
  }

  func testForwardMatchesDoubleReference() {
    let x = Self.inputs
    for (beta, threshold) in Self.settings {
      var y = [Float](repeating: 0, count: x.count)
      lamina_softplus_forward(x, &y, x.count, beta, threshold)
      var bad = 0
      for (i, v) in x.enumerated() {
        let z = Double(v * beta)  // the float product the kernels take
        let want =
          z > Double(threshold)
          ? Double(v) : (max(z, 0) + log1p(exp(-abs(z)))) / Double(beta)
        if !close(y[i], want, ulps: 3) {
          if bad < 5 { print("softplus(\(v)), beta \(beta): \(y[i]), want \(want)") }
          bad += 1
        }
      }
      XCTAssertEqual(bad, 0, "beta \(beta), threshold \(threshold)")
      XCTAssertEqual(y[x.firstIndex(of: .infinity)!], .infinity)
      XCTAssertEqual(y[x.firstIndex(of: -.infinity)!], 0)
    }
    var nan: [Float] = [.nan, 1, .nan]
    lamina_softplus_forward(nan, &nan, 3, 1, 20)
    XCTAssert(nan[0].isNaN && nan[2].isNaN && abs(nan[1] - 1.313_261_7) < 1e-6)
  }

  func testDerivativesAndBackwardMatchDoubleReference() {
    let x = Self.inputs.filter { $0.isFinite }
    let n = x.count
    for (beta, threshold) in Self.settings {
      var d1 = [Float](repeating: 0, count: n)
      var d2 = d1
      var d3 = d1
      var dx = d1
      let dy = (0..<n).map { Float($0 % 7) - 3 }
      lamina_softplus_derivatives(x, n, beta, threshold, &d1, &d2, &d3)
      lamina_softplus_backward(x, dy, &dx, n, beta, threshold)
      var bad = 0
      for i in 0..<n {
        let z = Double(x[i] * beta)
        let linear = z > Double(threshold)
        let s = 1 / (1 + exp(-z))
        let c = 1 / (1 + exp(z))
        let q = s * c
        let b = Double(beta)
        let want = linear ? [1, 0, 0] : [s, b * q, b * b * q * (c - s)]
        // d2 and d3 are products of rounded factors: a few more ulps, and where s c has
        // underflowed (|z| past 87) they are 0 while beta q or beta^2 q may not be.
        let tiny = Double(Float.leastNormalMagnitude)
        let ok =
          close(d1[i], want[0], ulps: 3) && close(d2[i], want[1], ulps: 6, floor: b * tiny)
          && close(
            d3[i], want[2], ulps: 8 + Float(b * b * q / max(abs(want[2]), 1e-300)),
            floor: b * b * tiny)
          && close(dx[i], (linear ? 1 : s) * Double(dy[i]), ulps: 4)
        if !ok {
          if bad < 5 { print("x \(x[i]) beta \(beta): \(d1[i]) \(d2[i]) \(d3[i]), want \(want)") }
          bad += 1
        }
      }
      XCTAssertEqual(bad, 0, "beta \(beta), threshold \(threshold)")
      // Without d3 the others are the same.
      var e1 = d1
      var e2 = d2
      lamina_softplus_derivatives(x, n, beta, threshold, &e1, &e2, nil)
      XCTAssertEqual(e1, d1)
      XCTAssertEqual(e2, d2)
    }
  }

  func testBuildsAndPositionsGiveTheSameBits() {
    let x = Self.inputs
    let n = x.count
    for (beta, threshold) in Self.settings {
      var y = [Float](repeating: 0, count: n)
      lamina_softplus_forward(x, &y, n, beta, threshold)
      let d = kernelOutputs(x, beta, threshold, avx2: false)
      if CPUFeatures.hasAVX2FMA {
        var y2 = y
        lamina_softplus_forward_avx2(x, &y2, n, beta, threshold)
        let e = kernelOutputs(x, beta, threshold, avx2: true)
        XCTAssert(zip(y, y2).allSatisfy { $0.bitPattern == $1.bitPattern }, "forward")
        for k in 0..<4 {
          XCTAssert(zip(d[k], e[k]).allSatisfy { $0.bitPattern == $1.bitPattern }, "output \(k)")
        }
      }
      // Short arrays at every offset: the same bits as the long call.
      for start in [0, 1, 5, 13] {
        for count in 1...19 {
          let part = Array(x[start..<(start + count)])
          var out = [Float](repeating: 0, count: count)
          Activation.softplusForward(part, &out, count: count, beta: beta, threshold: threshold)
          XCTAssert(
            zip(out, y[start..<(start + count)]).allSatisfy { $0.bitPattern == $1.bitPattern },
            "start \(start), count \(count)")
        }
      }
    }
  }

  /// d1, d2, d3 and the backward of dy = x, from one build of the kernels.
  func kernelOutputs(_ x: [Float], _ beta: Float, _ threshold: Float, avx2: Bool) -> [[Float]] {
    let n = x.count
    var (d1, d2, d3, dx) = (
      [Float](repeating: 0, count: n), [Float](repeating: 0, count: n),
      [Float](repeating: 0, count: n), [Float](repeating: 0, count: n)
    )
    if avx2 {
      lamina_softplus_derivatives_avx2(x, n, beta, threshold, &d1, &d2, &d3)
      lamina_softplus_backward_avx2(x, x, &dx, n, beta, threshold)
    } else {
      lamina_softplus_derivatives(x, n, beta, threshold, &d1, &d2, &d3)
      lamina_softplus_backward(x, x, &dx, n, beta, threshold)
    }
    return [d1, d2, d3, dx]
  }
}
