import Foundation
import XCTest

@testable import Lamina

/// The wavelet basis (Wav-KAN): gradients of the input and of every tensor against finite
/// differences, forward values against a hand evaluation of the formula, specs and parse
/// errors, save/load, and the basis inside a mixture with B-splines.
final class WaveletKANTests: XCTestCase {
  /// Both mother wavelets, in spec order.
  let wavelets = WaveletKANLayer.MotherWavelet.allCases

  /// A layer whose scales (in [0.5, 2]) and translations (in [-1, 1]) are away from their
  /// initial 1 and 0, so that both enter every check.
  func layer(
    _ input: Int, _ output: Int, _ wavelet: WaveletKANLayer.MotherWavelet, seed: UInt64 = 5
  ) throws -> WaveletKANLayer {
    var rng = RandomSource(seed: seed)
    let l = try WaveletKANLayer(
      input: input, output: output, options: .init(wavelet: wavelet), rng: &rng)
    for e in 0..<l.scale.count {
      l.scale.value[e] = Float(rng.uniform(0.5, 2))
      l.translation.value[e] = Float(rng.uniform(-1, 1))
    }
    return l
  }

  /// A model's tensors as bit patterns.
  func bits(_ m: Model) -> [[UInt32]] { m.tensors.map { $0.parameter.value.map(\.bitPattern) } }

  // MARK: - Gradients

  func testGradientCheckOfInputsScalesTranslationsAndWeights() throws {
    for wavelet in wavelets {
      for (i, o) in [(3, 2), (2, 4), (1, 1)] {
        let l = try layer(i, o, wavelet)
        // Morlet oscillates at frequency 5 / s, so its differences need a smaller step.
        var options = GradientCheckOptions()
        if wavelet == .morlet { options.step = 2e-4 }
        assertGradientsCorrect(
          of: l, label: "\(wavelet.rawValue) \(i)->\(o)", batch: 6, options: options
        ) { _, _, rng in Float(rng.uniform(-2, 2)) }
      }
    }
  }

  func testInputGradientsAloneLeaveTheParameterGradientsAlone() throws {
    let l = try layer(3, 2, .mexicanHat)
    let x: [Float] = [0.3, -1.2, 0.7, 1.1, 0.2, -0.4]
    let dy: [Float] = [1, -0.5, 0.25, 2]
    var dx = [Float](repeating: 0, count: 6)
    var y = [Float](repeating: 0, count: 4)
    l.forward(x, &y, count: 2)
    l.backward(x, y, dy, &dx, count: 2, parameterGradients: false)
    for p in l.parameters { XCTAssertEqual(p.gradient, [Float](repeating: 0, count: p.count)) }
    XCTAssertNotEqual(dx, [Float](repeating: 0, count: 6))
  }

  // MARK: - Values

  /// One output, two edges: x = (1.5, -0.5), s = (2, 0.25), tau = (0.5, -1), w = (1.5, -0.75),
  /// so t = (0.5, 2) and y = 1.5 psi(0.5) - 0.75 psi(2), evaluated by hand:
  /// Mexican hat C (1.5 * 0.75 e^(-1/8) + 0.75 * 3 e^(-2)), Morlet
  /// 1.5 cos(2.5) e^(-1/8) - 0.75 cos(10) e^(-2).
  func testForwardMatchesTheFormulaByHand() throws {
    let c = 2 / (3.0.squareRoot() * pow(Double.pi, 0.25))
    let expected: [WaveletKANLayer.MotherWavelet: Double] = [
      .mexicanHat: c * (1.125 * exp(-0.125) + 2.25 * exp(-2.0)),
      .morlet: 1.5 * cos(2.5) * exp(-0.125) - 0.75 * cos(10.0) * exp(-2.0),
    ]
    for wavelet in wavelets {
      var rng = RandomSource(seed: 1)
      let l = try WaveletKANLayer(
        input: 2, output: 1, options: .init(wavelet: wavelet), rng: &rng)
      l.scale.value = [2, 0.25]
      l.translation.value = [0.5, -1]
      l.weight.value = [1.5, -0.75]
      var y: [Float] = [0]
      l.forward([1.5, -0.5], &y, count: 1)
      let e = try XCTUnwrap(expected[wavelet])
      XCTAssertEqual(Double(y[0]), e, accuracy: 1e-6 * max(1, abs(e)), wavelet.rawValue)
    }
  }

  func testInitialTensorsAreWavKANs() throws {
    var rng = RandomSource(seed: 3)
    let l = try WaveletKANLayer(input: 4, output: 3, rng: &rng)
    XCTAssertEqual(l.parameters.map(\.name), ["scale", "translation", "wavelet_weights"])
    XCTAssertEqual(l.parameters.map(\.shape), [[3, 4], [3, 4], [3, 4]])
    XCTAssertEqual(l.scale.value, [Float](repeating: 1, count: 12))
    XCTAssertEqual(l.translation.value, [Float](repeating: 0, count: 12))
    XCTAssertTrue(l.weight.value.allSatisfy { abs($0) <= 0.5 }, "U(-1/sqrt(4), 1/sqrt(4))")
    XCTAssertGreaterThan(Set(l.weight.value).count, 10)
  }

  // MARK: - Specs and files

  func testSpecsFillDefaultsAndParseErrorsNameTheKey() throws {
    let m = try Model(json: #"{"kind": "kan", "widths": [2, 3, 1], "basis": "wavelet"}"#)
    XCTAssertEqual(m.spec["wavelet"], .string("mexican_hat"))
    XCTAssertEqual(
      m.layers[0].spec.text,
      #"{"type": "kan", "output": 3, "basis": "wavelet", "wavelet": "mexican_hat"}"#)
    XCTAssertEqual(try Model(spec: m.spec).spec, m.spec)
    XCTAssertThrowsError(
      try Model(json: #"{"kind": "kan", "widths": [2, 1], "basis": "wavelet", "wavelet": "haar"}"#)
    ) { error in
      XCTAssertTrue(
        (error as? LaminaError)?.message.contains(#"unknown "wavelet" "haar""#) ?? false, "\(error)"
      )
    }
  }

  func testSaveLoadRoundTrip() throws {
    for wavelet in wavelets {
      let m = try Model(
        json:
          #"{"kind": "kan", "widths": [3, 4, 2], "basis": "wavelet", "wavelet": "\#(wavelet.rawValue)", "seed": 6}"#
      )
      // Move every tensor so the file, not the seed, has to carry them.
      for (k, t) in m.tensors.enumerated() {
        t.parameter.value = t.parameter.value.enumerated().map {
          $0.element * 0.9 + Float(($0.offset + k) % 7) * 0.01 + 0.05
        }
      }
      let path =
        NSTemporaryDirectory() + "lamina-wavelet-\(wavelet.rawValue)-\(getpid()).safetensors"
      defer { unlink(path) }
      try m.save(to: path)
      let back = try Model.load(from: path)
      XCTAssertEqual(back.spec, m.spec, wavelet.rawValue)
      XCTAssertEqual(back.tensors.map(\.name), m.tensors.map(\.name), wavelet.rawValue)
      XCTAssertEqual(bits(back), bits(m), wavelet.rawValue)
      let x = (0..<30).map { Float($0 % 11) * 0.3 - 1.5 }
      XCTAssertEqual(try back.predict(x), try m.predict(x), wavelet.rawValue)
    }
  }

  // MARK: - Mixtures and edge curves

  func testInsideAMixtureWithBSplines() throws {
    let m = try Model(
      json:
        #"{"kind": "kan", "widths": [3, 2], "basis": "mixed", "bases": ["bspline", {"name": "wavelet", "wavelet": "morlet"}], "seed": 4}"#
    )
    let mixed = try XCTUnwrap(m.layers[0] as? MixedKANLayer)
    var rng = RandomSource(seed: 8)
    for p in [mixed.logits].compactMap({ $0 }) {
      for t in 0..<p.count { p.value[t] = Float(rng.unit() * 2 - 1) }
    }
    for (name, t) in m.tensors where name.hasSuffix("bases.1.scale") {
      for e in 0..<t.count { t.value[e] = Float(rng.uniform(0.5, 2)) }
    }
    assertGradientsCorrect(
      of: mixed, label: "mixed bspline + morlet", batch: 5,
      options: GradientCheckOptions(step: 2e-4)
    ) { _, _, rng in Float(rng.uniform(-0.9, 0.9)) }
    XCTAssertEqual(try Model(spec: m.spec).spec, m.spec)
    assertEdgeCurvesSumToTheOutput(m)
  }

  func testEdgeCurvesOfAPlainLayerSumToTheOutput() throws {
    assertEdgeCurvesSumToTheOutput(
      try Model(json: #"{"kind": "kan", "widths": [3, 2], "basis": "wavelet", "seed": 2}"#))
  }

  /// sum_i phi_ij(x_i) = y_j for the first layer of a [3, 2] model `m`.
  func assertEdgeCurvesSumToTheOutput(
    _ m: Model, file: StaticString = #filePath, line: UInt = #line
  ) {
    let n = 6
    let x = (0..<(3 * n)).map { Float(($0 * 7) % 13) * 0.25 - 1.5 }
    do {
      let y = try m.predict(x)
      var sums = [Float](repeating: 0, count: 2 * n)
      for i in 0..<3 {
        let column = (0..<n).map { x[$0 * 3 + i] }
        for j in 0..<2 {
          var c = [Float](repeating: 0, count: n)
          try column.withUnsafeBufferPointer { xb in
            try c.withUnsafeMutableBufferPointer {
              try m.kanEdgeCurve(
                layer: 0, input: i, output: j, at: xb.baseAddress!, count: n,
                into: $0.baseAddress!)
            }
          }
          for r in 0..<n { sums[r * 2 + j] += c[r] }
        }
      }
      for (a, b) in zip(y, sums) { XCTAssertEqual(a, b, accuracy: 1e-5, file: file, line: line) }
    } catch {
      XCTFail("\(error)", file: file, line: line)
    }
  }
}
