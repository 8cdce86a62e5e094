import XCTest

@testable import Lamina

/// Checks `Activation.derivatives` for every activation: f' against the derivative
/// `backward` uses and against central differences of `forward`, f'' against central
/// differences of f', f''' against central differences of f''.
final class ActivationDerivativeTests: XCTestCase {
  /// f', f'', f''' at one point.
  private func derivatives(_ a: Activation, _ v: Float, slope: Float) -> (Float, Float, Float) {
    var (x, d1, d2, d3) = (v, Float.nan, Float.nan, Float.nan)
    a.derivatives(&x, count: 1, slope: slope, d1: &d1, d2: &d2, d3: &d3)
    return (d1, d2, d3)
  }

  private func value(_ a: Activation, _ v: Float, slope: Float) -> Float {
    var (x, y) = (v, Float.nan)
    a.forward(&x, &y, count: 1, slope: slope)
    return y
  }

  /// Central difference of `f` at `v` with step `h`, taking the Float steps actually used.
  private func difference(_ v: Float, _ h: Float, _ f: (Float) -> Float) -> Double {
    let (up, down) = (v + h, v - h)
    return (Double(f(up)) - Double(f(down))) / (Double(up) - Double(down))
  }

  private func close(_ a: Double, _ b: Double, _ tolerance: Double) -> Bool {
    abs(a - b) <= tolerance * (1 + max(abs(a), abs(b)))
  }

  func testEveryDerivativeMatchesFiniteDifferences() {
    var rng = RandomSource(seed: 11)
    let draw = awayFromKinks(-4, 4)
    var checked = 0
    for a in allActivations {
      var slope: Float = 0
      if case .prelu(let s) = a { slope = Float(s) }
      var omega: Float = 1
      if case .sine(let w) = a { omega = Float(w) }
      // Steps well inside one period of sine(30 x), and clear of the kinks' 0.05 margin.
      let h: Float = 1e-3 / omega
      for _ in 0..<40 {
        let v = draw(0, 0, &rng)
        let (d1, d2, d3) = derivatives(a, v, slope: slope)
        // f' is the derivative backward applies.
        var (x, y, dy, dx) = (v, value(a, v, slope: slope), Float(1), Float.nan)
        a.backward(&x, &y, &dy, &dx, count: 1, slope: slope)
        XCTAssert(close(Double(d1), Double(dx), 1e-5), "\(a) f'(\(v)) = \(d1), backward \(dx)")
        let fd1 = difference(v, h) { value(a, $0, slope: slope) }
        let fd2 = difference(v, h) { derivatives(a, $0, slope: slope).0 }
        let fd3 = difference(v, h) { derivatives(a, $0, slope: slope).1 }
        XCTAssert(close(Double(d1), fd1, 3e-3), "\(a) f'(\(v)) = \(d1), differences \(fd1)")
        XCTAssert(
          close(Double(d2), fd2, 3e-3 * Double(omega)), "\(a) f''(\(v)) = \(d2), differences \(fd2)"
        )
        XCTAssert(
          close(Double(d3), fd3, 3e-3 * Double(omega * omega)),
          "\(a) f'''(\(v)) = \(d3), differences \(fd3)")
        checked += 1
      }
    }
    XCTAssertEqual(checked, 40 * allActivations.count)
  }

  func testPiecewiseLinearActivationsHaveZeroSecondDerivative() {
    for a: Activation in [
      .relu, .leakyReLU(negativeSlope: 0.1), .prelu(initialSlope: 0.25),
      .hardtanh(minVal: -1, maxVal: 1),
      .hardsigmoid, .identity,
    ] {
      for v: Float in [-2.5, -0.5, 0.5, 2.5] {
        let (_, d2, d3) = derivatives(a, v, slope: 0.25)
        XCTAssertEqual(d2, 0, "\(a)")
        XCTAssertEqual(d3, 0, "\(a)")
      }
    }
  }

  func testDerivativesStayFiniteInTheTails() {
    for a in allActivations {
      for v: Float in [-1e30, -1e4, -90, 90, 1e4, 1e30] {
        let (d1, d2, d3) = derivatives(a, v, slope: 0.25)
        XCTAssert(d1.isFinite && d2.isFinite, "\(a) at \(v): \(d1) \(d2)")
        XCTAssert(d3.isFinite, "\(a) f''' at \(v): \(d3)")
      }
    }
  }
}
