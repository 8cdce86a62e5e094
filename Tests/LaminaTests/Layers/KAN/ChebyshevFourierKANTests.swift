import Dispatch
import XCTest

@testable import Lamina

/// ChebyKAN and FourierKAN layers: finite-difference gradients (also where tanh saturates),
/// values against an independent numpy reference, specs, parse errors, initialisation,
/// determinism, and a small fit.
final class ChebyshevFourierKANTests: XCTestCase {
  // MARK: - Helpers

  func chebyshev(_ input: Int, _ output: Int, degree: Int, seed: UInt64 = 5) throws
    -> ChebyshevKANLayer
  {
    var rng = RandomSource(seed: seed)
    return try ChebyshevKANLayer(input: input, output: output, degree: degree, rng: &rng)
  }

  func fourier(
    _ input: Int, _ output: Int, grid: Int, smooth: Bool = false, bias: Bool = true,
    seed: UInt64 = 5
  ) throws -> FourierKANLayer {
    var rng = RandomSource(seed: seed)
    let layer = try FourierKANLayer(
      input: input, output: output, grid: grid, smoothInit: smooth, bias: bias, rng: &rng)
    // A zero bias would leave its gradient check trivially easy to pass; make it non-zero.
    if let b = layer.bias { for j in 0..<output { b.value[j] = Float(rng.uniform(-1, 1)) } }
    return layer
  }

  func forward(_ layer: Layer, _ x: [Float]) -> [Float] {
    let n = x.count / layer.inputDim
    var y = [Float](repeating: .nan, count: n * layer.outputDim)
    x.withUnsafeBufferPointer { xb in
      y.withUnsafeMutableBufferPointer { layer.forward(xb.baseAddress!, $0.baseAddress!, count: n) }
    }
    return y
  }

  /// dx for the loss sum(dy * y); parameter gradients are added when asked.
  func backward(_ layer: Layer, _ x: [Float], _ dy: [Float], parameterGradients: Bool = false)
    -> [Float]
  {
    let n = x.count / layer.inputDim
    let y = forward(layer, x)
    var dx = [Float](repeating: .nan, count: x.count)
    x.withUnsafeBufferPointer { xb in
      y.withUnsafeBufferPointer { yb in
        dy.withUnsafeBufferPointer { db in
          dx.withUnsafeMutableBufferPointer {
            layer.backward(
              xb.baseAddress!, yb.baseAddress!, db.baseAddress!, $0.baseAddress!, count: n,
              parameterGradients: parameterGradients)
          }
        }
      }
    }
    return dx
  }

  func randomArray(_ count: Int, _ low: Double, _ high: Double, seed: UInt64) -> [Float] {
    var rng = RandomSource(seed: seed)
    return (0..<count).map { _ in Float(rng.uniform(low, high)) }
  }

  /// y[r, j] from the definition, in Double, with T_d = cos(d arccos t) (valid for forward
  /// values; independent of the layer's recurrence).
  func naiveChebyshev(_ layer: ChebyshevKANLayer, _ x: [Float]) -> [Double] {
    let (inp, out, terms) = (layer.inputDim, layer.outputDim, layer.degree + 1)
    let n = x.count / inp
    var y = [Double](repeating: 0, count: n * out)
    for r in 0..<n {
      for i in 0..<inp {
        let theta = acos(min(1, max(-1, tanh(Double(x[r * inp + i])))))
        for j in 0..<out {
          for d in 0..<terms {
            y[r * out + j] +=
              Double(layer.coefficients.value[(i * out + j) * terms + d]) * cos(Double(d) * theta)
          }
        }
      }
    }
    return y
  }

  func naiveFourier(_ layer: FourierKANLayer, _ x: [Float]) -> [Double] {
    let (inp, out, g) = (layer.inputDim, layer.outputDim, layer.grid)
    let n = x.count / inp
    let c = layer.coefficients.value
    var y = [Double](repeating: 0, count: n * out)
    for r in 0..<n {
      for j in 0..<out {
        var s = Double(layer.bias?.value[j] ?? 0)
        for i in 0..<inp {
          let v = Double(x[r * inp + i])
          for h in 0..<g {
            let a = Double(c[(j * inp + i) * g + h])
            let b = Double(c[((out + j) * inp + i) * g + h])
            s += a * cos(Double(h + 1) * v) + b * sin(Double(h + 1) * v)
          }
        }
        y[r * out + j] = s
      }
    }
    return y
  }

  func assertClose(
    _ actual: [Float], _ expected: [Double], tolerance: Double, _ label: String,
    file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(actual.count, expected.count, label, file: file, line: line)
    for (k, (a, e)) in zip(actual, expected).enumerated() {
      XCTAssertEqual(
        Double(a), e, accuracy: tolerance * max(1, abs(e)), "\(label)[\(k)]", file: file, line: line
      )
    }
  }

  /// Parses `json` as a layer object the way the model builder will: it reads "type",
  /// "output" and "basis", hands the reader to the layer's parser, then refuses unknown keys.
  func parseLayer(_ json: String, input: Int, seed: UInt64 = 0) throws -> Layer {
    let reader = try JSONObjectReader(JSONValue.parse(json), what: "layer")
    _ = try reader.string("type")
    let output = try reader.int("output", min: 1, max: Limits.maxWidth)
    var rng = RandomSource(seed: seed)
    let layer: Layer
    switch try reader.string("basis") {
    case ChebyshevKANLayer.basisName:
      layer = try ChebyshevKANLayer.parse(reader, input: input, output: output, rng: &rng)
    case FourierKANLayer.basisName:
      layer = try FourierKANLayer.parse(reader, input: input, output: output, rng: &rng)
    default:
      throw LaminaError(.invalidArgument, "layer: unknown basis")
    }
    try reader.finish()
    return layer
  }

  func assertInvalid(
    _ json: String, mentions key: String, code: LaminaError.Code = .invalidArgument,
    input: Int = 3, file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertThrowsError(try parseLayer(json, input: input), json, file: file, line: line) {
      error in
      guard let e = error as? LaminaError else {
        return XCTFail("\(json): not a LaminaError: \(error)", file: file, line: line)
      }
      XCTAssertEqual(e.code, code, "\(json): \(e.message)", file: file, line: line)
      XCTAssertTrue(
        e.message.contains(key), "\(json): message \"\(e.message)\" does not name \(key)",
        file: file, line: line)
    }
  }

  // MARK: - Reference values (Tests/Reference/cheby_fourier_kan_reference.py)

  // Generated by Tests/Reference/cheby_fourier_kan_reference.py: float64 numpy from the
  // closed forms, cross-checked there against float32 torch written as the references.
  // cheby1
  static let cheby1X: [Float] = [
    0.0, 0.5, -1.25, 2.0, -0.75, 0.10000000149011612, 12.0, -25.0, 0.30000001192092896, -3.5, 1.0,
    9.0,
  ]
  static let cheby1Coef: [Float] = [
    -0.10559456050395966, -0.25886672735214233, 0.07479792088270187, -0.894948422908783,
    0.14222612977027893, -0.16084779798984528, -0.36302515864372253, 0.04926863685250282,
    -0.9757369160652161, -0.0792064443230629, -0.3656424283981323, 0.20484767854213715,
    0.22122086584568024, -0.4639313519001007, -0.4665839672088623, -0.7350186109542847,
    -0.3938446342945099, 0.1597071886062622, 0.4286351799964905, 0.11439985781908035,
    0.017399625852704048, -0.4337235689163208, 0.09788510948419571, -0.40784475207328796,
  ]
  static let cheby1Y: [Double] = [
    -1.5156570562994265, 1.8944529907602659, -2.416078987093458, -0.33312012941996216,
    -3.443502632577895, 0.7470882445384754, 0.21560615433051222, -0.6585339393523577,
  ]
  // cheby2
  static let cheby2X: [Float] = [
    0.20000000298023224, -0.4000000059604645, 1.5, 0.05000000074505806, -20.0, 0.699999988079071,
    0.8999999761581421, -2.200000047683716, 4.0, 30.0,
  ]
  static let cheby2Coef: [Float] = [
    0.1198144406080246, -0.10129666328430176, 0.4280090630054474, 0.10123517364263535,
    0.6844126582145691, -0.20410722494125366, 0.3779725432395935, 0.11258035898208618,
    0.8482779264450073, -0.9810270071029663, 0.4371291399002075, -0.5118257999420166,
    -0.43432337045669556, -0.009181557223200798, -0.7552796602249146, -0.5972905158996582,
    -0.25277093052864075, -0.16124191880226135, -0.9518394470214844, -0.43681561946868896,
    -0.07295678555965424, -0.06596378982067108, -0.33115407824516296, -0.002044394612312317,
    -0.2566872239112854, 0.5867493748664856, -0.4045675992965698, 0.029551899060606956,
    -0.2447974979877472, 0.4272812306880951, -0.4857742488384247, 0.43830132484436035,
    -0.5976508855819702, -0.6834984421730042, -0.274234801530838, 0.04606342688202858,
    -0.7605118155479431, -0.25209471583366394, -0.001985232811421156, -0.017778826877474785,
    0.43778297305107117, 0.39213675260543823, 0.16641561686992645, 0.45671650767326355,
    0.4698631167411804, -0.5545811653137207, 1.0926309823989868, -0.024463491514325142,
  ]
  static let cheby2Y: [Double] = [
    -1.0197310301869993, 1.2101423177807213, 2.7171308484259615, 0.22763479762961214,
    0.2870801303222019, -1.2611731169603437, 2.1237770882982354, 1.872520939480125,
    -0.308283157955515, -2.194040264865189, 0.037972026062621955, 0.7113402463144578,
    1.5902974278597444, -4.50014361704895, 0.17692566683427202,
  ]
  // fourier1
  static let fourier1X: [Float] = [
    0.0, 0.5, -1.25, 2.0, -0.75, 0.10000000149011612, 3.0999999046325684, -3.0, 0.30000001192092896,
  ]
  static let fourier1Coeffs: [Float] = [
    -0.3029711842536926, 0.30007466673851013, -0.2442885786294937, 0.3135785162448883,
    -0.6006994247436523, 0.36267924308776855, -0.6319368481636047, 0.18786628544330597,
    -0.10661253333091736, -0.25074148178100586, 0.07653672993183136, -0.28765419125556946,
    -0.3859714865684509, 0.19745324552059174, 0.9656034111976624, -0.49887844920158386,
    0.5775836706161499, 0.5407788753509521, -0.5600401163101196, 0.09511730074882507,
    0.262019544839859, -0.45542803406715393, 0.539608895778656, 0.4389548897743225,
    0.8492188453674316, 0.1949172168970108, 0.4730152189731598, 0.9060582518577576,
    0.10149527341127396, -0.2501114010810852, -0.7254571318626404, 0.14322739839553833,
    -0.6336082816123962, 0.5488466620445251, 0.07358253002166748, 0.40552863478660583,
    0.08135675638914108, 0.6191656589508057, -0.22817733883857727, 0.0250338613986969,
    0.7000575065612793, -0.6291555166244507, 0.09626361727714539, 0.487628698348999,
    -0.5317667126655579, -0.34985947608947754, -0.6249554753303528, 0.590377926826477,
  ]
  static let fourier1Bias: [Float] = [-0.0946897566318512, -0.15757635235786438]
  static let fourier1Y: [Double] = [
    -0.5109839278921565, 2.238289286207179, 1.1474467117952531, 1.9496022583098571,
    3.148291459162488, -0.5455635478491748,
  ]
  // fourier2
  static let fourier2X: [Float] = [
    0.20000000298023224, -0.4000000059604645, 1.5, 0.05000000074505806, -8.0, 0.699999988079071,
    12.5, -2.200000047683716,
  ]
  static let fourier2Coeffs: [Float] = [
    -0.7062720656394958, -0.5318940281867981, 0.46326619386672974, -0.09473312646150589,
    -0.20044326782226562, 0.3959489166736603, -0.452935129404068, 0.8066887259483337,
    -0.18410727381706238, -0.2565215826034546, -0.13258256018161774, 0.01867080107331276,
    0.3505842685699463, -0.34941786527633667, -0.4120136499404907, 0.019078658893704414,
    0.16947324573993683, 0.4386277198791504, -0.23837658762931824, 0.48350584506988525,
    -0.5099464654922485, 0.6928890943527222, -0.5460359454154968, -0.04313210770487785,
    0.09764716774225235, 0.5065842270851135, 0.7300837635993958, 0.02461552806198597,
    0.9478222131729126, -0.4097627103328705, 0.16354289650917053, -0.11845031380653381,
    0.28621333837509155, -0.4759288430213928, -0.5489185452461243, 0.64158034324646,
    0.5320152044296265, 0.28055912256240845, -0.3511064350605011, 0.2960354685783386,
    0.2235787808895111, 0.6167315244674683, 0.11645814031362534, -0.8072595596313477,
    -0.10813000053167343, -0.013722545467317104, 0.39610257744789124, -0.12388640642166138,
    -0.5291085243225098, 0.5751959681510925, 0.19279946386814117, -0.5487119555473328,
    -0.33191952109336853, 0.45957279205322266, -0.6746837496757507, 0.4839879870414734,
    0.01143601443618536, -0.07610970735549927, 0.43304312229156494, -0.21207836270332336,
    0.02788992039859295, 0.8175008893013, -0.42243513464927673, 0.9108425378799438,
    -0.8430582284927368, -0.4282238185405731, 0.4504586458206177, -0.3314218521118164,
    -0.1591676026582718, 0.3947909474372864, 0.4789026975631714, 0.24501630663871765,
    -0.27066928148269653, 0.3141333758831024, 0.07693236321210861, 0.5895907282829285,
    0.19493505358695984, -0.3979642987251282, -0.06269431114196777, -0.7761605381965637,
    0.3146323263645172, 0.22351911664009094, 0.009384972974658012, -0.6727904677391052,
  ]
  static let fourier2Y: [Double] = [
    -0.6280451632096833, 0.3955778887204745, 2.3912849309040416, 1.2148916397131266,
    1.8344272597012692, 3.882079771187789, -0.3682526241731948, -0.29979115605809314,
    -0.26365205248537493, 0.038532638361060245, -2.014499654228442, -0.1615160212490675,
  ]

  // MARK: - Values

  func testChebyshevMatchesReference() throws {
    let cases: [([Float], [Float], [Double], Int, Int, Int, String)] = [
      (Self.cheby1X, Self.cheby1Coef, Self.cheby1Y, 3, 2, 3, "cheby1"),
      (Self.cheby2X, Self.cheby2Coef, Self.cheby2Y, 2, 3, 7, "cheby2"),
    ]
    for (x, coef, expected, inp, out, degree, label) in cases {
      let layer = try chebyshev(inp, out, degree: degree)
      XCTAssertEqual(layer.coefficients.shape, [inp, out, degree + 1])
      layer.coefficients.value = coef
      assertClose(forward(layer, x), expected, tolerance: 1e-5, label)
    }
  }

  func testFourierMatchesReference() throws {
    let cases: [([Float], [Float], [Float]?, [Double], Int, Int, Int, String)] = [
      (Self.fourier1X, Self.fourier1Coeffs, Self.fourier1Bias, Self.fourier1Y, 3, 2, 4, "fourier1"),
      (Self.fourier2X, Self.fourier2Coeffs, nil, Self.fourier2Y, 2, 3, 7, "fourier2"),
    ]
    for (x, coeffs, bias, expected, inp, out, grid, label) in cases {
      let layer = try fourier(inp, out, grid: grid, bias: bias != nil)
      XCTAssertEqual(layer.coefficients.shape, [2, out, inp, grid])
      layer.coefficients.value = coeffs
      if let bias { layer.bias?.value = bias }
      XCTAssertEqual(layer.bias?.shape, bias.map { [$0.count] })
      assertClose(forward(layer, x), expected, tolerance: 1e-5, label)
    }
  }

  // MARK: - Gradients

  func testChebyshevGradientCheck() throws {
    for (i, o, d) in [(3, 5, 4), (1, 1, 1), (4, 3, 2), (2, 6, 9), (5, 2, 16)] {
      let layer = try chebyshev(i, o, degree: d)
      // ChebyKAN's initial coefficients are tiny (std 1 / (in (D + 1))); larger ones make
      // every gradient entry large enough for a mismatch to show.
      layer.coefficients.value = randomArray(layer.coefficients.count, -1, 1, seed: UInt64(d))
      assertGradientsCorrect(of: layer, label: "chebyshev \(i)->\(o) degree \(d)", batch: 5) {
        _, _, rng in Float(rng.uniform(-3, 3))
      }
    }
  }

  /// Where tanh saturates (|x| ~ 20), cos(d arccos t) would give NaN gradients; the
  /// recurrence gives finite, correct ones: dx about 0 there, dcoef = sum dy T_d(+-1).
  func testChebyshevGradientsWhereTanhSaturates() throws {
    for (i, o, d) in [(4, 3, 4), (3, 2, 12)] {
      let layer = try chebyshev(i, o, degree: d)
      layer.coefficients.value = randomArray(layer.coefficients.count, -1, 1, seed: 3)
      // Odd columns saturate (|x| in 15...25, either sign); even ones sit in 2...6 where
      // tanh is close to, but not at, +-1.
      let input: (Int, Int, inout RandomSource) -> Float = { _, column, rng in
        let sign: Double = rng.unit() < 0.5 ? -1 : 1
        return Float(sign * (column % 2 == 1 ? rng.uniform(15, 25) : rng.uniform(2, 6)))
      }
      assertGradientsCorrect(
        of: layer, label: "chebyshev saturated \(i)->\(o) degree \(d)", batch: 6, input: input)

      var rng = RandomSource(seed: 8)
      let n = 6
      let x = (0..<(n * i)).map { k in input(k / i, k % i, &rng) }
      let dy = randomArray(n * o, -1, 1, seed: 9)
      for p in layer.parameters { p.gradient = [Float](repeating: 0, count: p.count) }
      let dx = backward(layer, x, dy, parameterGradients: true)
      XCTAssertTrue(dx.allSatisfy(\.isFinite))
      XCTAssertTrue(layer.coefficients.gradient.allSatisfy(\.isFinite))
      // Saturated: Float tanh is exactly +-1, so the forward is flat; dx is the true
      // sech^2(x) p'(t), below 1e-9 for |x| >= 15 (sech^2(15) is 3.7e-13).
      for k in 0..<(n * i) where k % i % 2 == 1 {
        XCTAssertLessThan(abs(dx[k]), 1e-9, "dx[\(k)] at x = \(x[k])")
      }
      for k in 0..<(n * i) where k % i % 2 == 0 {
        XCTAssertNotEqual(dx[k], 0, "dx[\(k)] at x = \(x[k])")
      }
      // An input fully saturated everywhere: dcoef[i, j, d] = sum_r dy[r, j] sign(x[r, i])^d.
      let only = try chebyshev(1, 2, degree: d)
      let xs: [Float] = [20, -20, 25, -18.5]
      let dys = randomArray(xs.count * 2, -1, 1, seed: 10)
      _ = backward(only, xs, dys, parameterGradients: true)
      for j in 0..<2 {
        for e in 0...d {
          var expected = 0.0
          for r in 0..<xs.count {
            expected += Double(dys[r * 2 + j]) * (xs[r] < 0 && e % 2 == 1 ? -1 : 1)
          }
          XCTAssertEqual(
            Double(only.coefficients.gradient[j * (d + 1) + e]), expected, accuracy: 1e-5)
        }
      }
    }
  }

  func testFourierGradientCheck() throws {
    let cases: [(Int, Int, Int, Bool, Bool, Double)] = [
      (3, 5, 5, false, true, 1e-3), (1, 1, 1, false, false, 1e-3), (4, 3, 8, true, true, 1e-3),
      (2, 2, 24, false, true, 1e-4),
    ]
    for (i, o, g, smooth, bias, step) in cases {
      let layer = try fourier(i, o, grid: g, smooth: smooth, bias: bias)
      var options = GradientCheckOptions()
      // Harmonic g oscillates g times faster: a smaller step keeps truncation error down.
      options.step = step
      assertGradientsCorrect(
        of: layer, label: "fourier \(i)->\(o) grid \(g) smooth \(smooth) bias \(bias)", batch: 5,
        options: options
      ) { _, _, rng in Float(rng.uniform(-4, 4)) }
    }
  }

  // MARK: - Specs and parsing

  func testSpecsFillDefaultsAndRoundTrip() throws {
    XCTAssertEqual(
      try chebyshev(3, 4, degree: 6).spec.text,
      #"{"type": "kan", "output": 4, "basis": "chebyshev", "degree": 6}"#)
    XCTAssertEqual(
      try fourier(3, 4, grid: 7, smooth: true, bias: false).spec.text,
      #"{"type": "kan", "output": 4, "basis": "fourier", "grid": 7, "smooth_init": true, "bias": false}"#
    )
    XCTAssertEqual(
      try parseLayer(#"{"type": "kan", "output": 2, "basis": "chebyshev"}"#, input: 3).spec.text,
      #"{"type": "kan", "output": 2, "basis": "chebyshev", "degree": 4}"#)
    XCTAssertEqual(
      try parseLayer(#"{"type": "kan", "output": 2, "basis": "fourier"}"#, input: 3).spec.text,
      #"{"type": "kan", "output": 2, "basis": "fourier", "grid": 5, "smooth_init": false, "bias": true}"#
    )

    let written = [
      #"{"type": "kan", "basis": "chebyshev", "output": 3, "degree": 9}"#,
      #"{"type": "kan", "basis": "fourier", "output": 3, "grid": 6, "smooth_init": true}"#,
      #"{"type": "kan", "basis": "fourier", "output": 3, "bias": false}"#,
    ]
    for json in written {
      let layer = try parseLayer(json, input: 2, seed: 11)
      // The full spec, parsed again with the same seed, gives the same layer bit for bit.
      let again = try parseLayer(layer.spec.text, input: 2, seed: 11)
      XCTAssertEqual(again.spec, layer.spec, json)
      XCTAssertEqual(again.parameters.map(\.name), layer.parameters.map(\.name), json)
      for (a, b) in zip(again.parameters, layer.parameters) {
        XCTAssertEqual(a.shape, b.shape, json)
        XCTAssertEqual(a.value.map(\.bitPattern), b.value.map(\.bitPattern), json)
      }
      let other = try parseLayer(json, input: 2, seed: 12)
      XCTAssertNotEqual(other.parameters[0].value, layer.parameters[0].value, json)
    }
    // Parsing draws exactly what the public initialisers draw.
    var rng = RandomSource(seed: 11)
    let direct = try ChebyshevKANLayer(input: 2, output: 3, degree: 9, rng: &rng)
    XCTAssertEqual(
      direct.coefficients.value, try parseLayer(written[0], input: 2, seed: 11).parameters[0].value)
    rng = RandomSource(seed: 11)
    let directF = try FourierKANLayer(input: 2, output: 3, grid: 6, smoothInit: true, rng: &rng)
    XCTAssertEqual(
      directF.coefficients.value, try parseLayer(written[1], input: 2, seed: 11).parameters[0].value
    )
  }

  func testParseErrorsNameTheKey() {
    let c = #"{"type": "kan", "output": 2, "basis": "chebyshev", "#
    let f = #"{"type": "kan", "output": 2, "basis": "fourier", "#
    for bad in [
      #""degree": 0}"#, #""degree": 65}"#, #""degree": 2.5}"#, #""degree": "4"}"#,
      #""degree": true}"#,
    ] {
      assertInvalid(c + bad, mentions: "\"degree\"")
    }
    for bad in [
      #""grid": 0}"#, #""grid": 1025}"#, #""grid": 3.5}"#, #""grid": -1}"#, #""grid": [5]}"#,
    ] {
      assertInvalid(f + bad, mentions: "\"grid\"")
    }
    assertInvalid(f + #""smooth_init": 1}"#, mentions: "\"smooth_init\"")
    assertInvalid(f + #""bias": "yes"}"#, mentions: "\"bias\"")
    // Keys of the other basis, and typos, are refused by the caller's finish().
    assertInvalid(c + #""degre": 4}"#, mentions: "\"degre\"")
    assertInvalid(c + #""grid": 4}"#, mentions: "\"grid\"")
    assertInvalid(f + #""degree": 4}"#, mentions: "\"degree\"")
    assertInvalid(f + #""smooth": true}"#, mentions: "\"smooth\"")
    // Over the parameter limit: refused before anything is allocated.
    assertInvalid(
      #"{"type": "kan", "output": 65536, "basis": "chebyshev", "degree": 64}"#,
      mentions: "parameters", code: .outOfMemory, input: 65536)
    assertInvalid(
      #"{"type": "kan", "output": 65536, "basis": "fourier", "grid": 1024}"#,
      mentions: "parameters", code: .outOfMemory, input: 65536)
    // The public initialisers check their arguments too.
    var rng = RandomSource(seed: 0)
    XCTAssertThrowsError(try ChebyshevKANLayer(input: 0, output: 2, rng: &rng)) {
      XCTAssertTrue(($0 as? LaminaError)?.message.contains("\"input\"") ?? false)
    }
    XCTAssertThrowsError(try ChebyshevKANLayer(input: 2, output: 2, degree: 0, rng: &rng)) {
      XCTAssertTrue(($0 as? LaminaError)?.message.contains("\"degree\"") ?? false)
    }
    XCTAssertThrowsError(try FourierKANLayer(input: 2, output: 70000, rng: &rng)) {
      XCTAssertTrue(($0 as? LaminaError)?.message.contains("\"output\"") ?? false)
    }
    XCTAssertThrowsError(try FourierKANLayer(input: 2, output: 2, grid: 2000, rng: &rng)) {
      XCTAssertTrue(($0 as? LaminaError)?.message.contains("\"grid\"") ?? false)
    }
  }

  // MARK: - Initialisation

  func standardDeviation(_ v: [Float]) -> Double {
    (v.reduce(0) { $0 + Double($1) * Double($1) } / Double(v.count)).squareRoot()
  }

  func testInitialisationMatchesTheReferences() throws {
    let c = try chebyshev(64, 64, degree: 4)
    XCTAssertEqual(
      standardDeviation(c.coefficients.value), 1.0 / (64 * 5), accuracy: 0.03 / (64 * 5))
    let mean = c.coefficients.value.reduce(0) { $0 + Double($1) } / Double(c.coefficients.count)
    XCTAssertEqual(mean, 0, accuracy: 0.05 / (64 * 5))

    var rng = RandomSource(seed: 5)
    let f = try FourierKANLayer(input: 16, output: 32, grid: 8, rng: &rng)
    XCTAssertEqual(
      standardDeviation(f.coefficients.value), 1 / (4 * 8.0.squareRoot()),
      accuracy: 0.03 / (4 * 8.0.squareRoot()))
    XCTAssertEqual(f.bias?.value, [Float](repeating: 0, count: 32))
    rng = RandomSource(seed: 5)
    let s = try FourierKANLayer(input: 16, output: 32, grid: 8, smoothInit: true, rng: &rng)
    for g in 1...3 {
      let harmonic = s.coefficients.value.enumerated().filter { $0.offset % 8 == g - 1 }.map(
        \.element)
      let expected = 1 / (4 * Double(g * g))
      XCTAssertEqual(
        standardDeviation(harmonic), expected, accuracy: 0.08 * expected, "harmonic \(g)")
    }
  }

  // MARK: - Large batches, blocks and threads

  /// Batches spanning several row blocks (and parallel basis pieces): forward matches the
  /// definition, is bit-identical run to run and from several threads at once, and the
  /// gradients accumulated over blocks match sums in Double.
  func testLargeBatchesAreExactAndDeterministic() throws {
    let cheb = try chebyshev(32, 4, degree: 8)
    let four = try fourier(16, 4, grid: 10)
    let n = 2000
    for layer in [cheb, four] as [Layer] {
      let label = "\(layer.spec.text)"
      let x = randomArray(n * layer.inputDim, -3, 3, seed: 21)
      let y = forward(layer, x)
      let naive = layer === cheb ? naiveChebyshev(cheb, x) : naiveFourier(four, x)
      assertClose(y, naive, tolerance: 2e-5, label)
      XCTAssertEqual(forward(layer, x).map(\.bitPattern), y.map(\.bitPattern), label)
      var concurrent = [[Float]](repeating: [], count: 4)
      concurrent.withUnsafeMutableBufferPointer { slots in
        let base = slots.baseAddress!
        DispatchQueue.concurrentPerform(iterations: 4) { t in base[t] = forward(layer, x) }
      }
      for c in concurrent { XCTAssertEqual(c.map(\.bitPattern), y.map(\.bitPattern), label) }

      // Parameter gradients of sum(dy * y): against Double sums.
      let dy = randomArray(n * layer.outputDim, -1, 1, seed: 22)
      for p in layer.parameters { p.gradient = [Float](repeating: 0, count: p.count) }
      let dx = backward(layer, x, dy, parameterGradients: true)
      let inp = layer.inputDim
      let out = layer.outputDim
      if let c = layer as? ChebyshevKANLayer {
        let terms = c.degree + 1
        for (i, j, d) in [(0, 0, 0), (5, 1, 3), (31, 3, 8), (17, 2, 7)] {
          var s = 0.0
          for r in 0..<n {
            s += cos(Double(d) * acos(tanh(Double(x[r * inp + i])))) * Double(dy[r * out + j])
          }
          XCTAssertEqual(
            Double(c.coefficients.gradient[(i * out + j) * terms + d]), s,
            accuracy: 1e-4 * max(1, abs(s)))
        }
      } else if let f = layer as? FourierKANLayer {
        let g = f.grid
        for (part, j, i, h) in [(0, 0, 0, 0), (1, 3, 15, 9), (0, 2, 7, 4), (1, 1, 3, 0)] {
          var s = 0.0
          for r in 0..<n {
            let v = Double(h + 1) * Double(x[r * inp + i])
            s += (part == 0 ? cos(v) : sin(v)) * Double(dy[r * out + j])
          }
          XCTAssertEqual(
            Double(f.coefficients.gradient[((part * out + j) * inp + i) * g + h]), s,
            accuracy: 1e-4 * max(1, abs(s)))
        }
        for j in 0..<out {
          let s = (0..<n).reduce(0.0) { $0 + Double(dy[$1 * out + j]) }
          XCTAssertEqual(Double(f.bias!.gradient[j]), s, accuracy: 1e-4 * max(1, abs(s)))
        }
      }
      // dx does not depend on how rows are blocked: the first rows alone give the same.
      let head = 7
      let dxHead = backward(layer, Array(x[0..<(head * inp)]), Array(dy[0..<(head * out)]))
      for k in 0..<(head * inp) {
        XCTAssertEqual(dx[k], dxHead[k], accuracy: 1e-5 * max(1, abs(dxHead[k])), label)
      }
    }
  }

  // MARK: - Fitting

  /// Test RMSE of a [2, 5, 1] network of `layers` trained on f(x, y) = exp(sin(pi x) + y^2)
  /// over [-1, 1]^2 (1000 training points, 1000 fresh test points).
  func fitExpSin(_ layers: [Layer], config: String) throws -> Double {
    func target(_ a: Float, _ b: Float) -> Float { expf(sinf(Float.pi * a) + b * b) }
    func sample(_ n: Int, seed: UInt64) -> ([Float], [Float]) {
      let x = randomArray(2 * n, -1, 1, seed: seed)
      return (x, (0..<n).map { target(x[2 * $0], x[2 * $0 + 1]) })
    }
    let (xTrain, yTrain) = sample(1000, seed: 1)
    let (xTest, yTest) = sample(1000, seed: 2)
    let spec: JSONValue = .object([
      ("kind", .string("sequential")), ("input", .number(2)),
      ("layers", .array(layers.map(\.spec))),
      ("seed", .number(0)),
    ])
    let model = Model(kind: "sequential", spec: spec, layers: layers, inputDim: 2)
    let trainer = try Trainer(model: model, json: config)
    try xTrain.withUnsafeBufferPointer { xb in
      try yTrain.withUnsafeBufferPointer { yb in
        _ = try trainer.fit(xb.baseAddress!, yb.baseAddress!, count: 1000)
      }
    }
    let prediction = try model.predict(xTest)
    let mse = zip(prediction, yTest).reduce(0.0) { $0 + pow(Double($1.0) - Double($1.1), 2) } / 1000
    return mse.squareRoot()
  }

  /// Adam with a cosine schedule over `epochs` passes through the 1000 training points in
  /// shuffled batches of `batch`. Settings and the RMSEs they reach over seeds are in the
  /// tests below; the seeds are fixed, so each test is deterministic.
  static func fitConfig(learningRate: Double, epochs: Int, batch: Int) -> String {
    #"{"learning_rate": \#(learningRate), "epochs": \#(epochs), "batch_size": \#(batch), "schedule": "cosine"}"#
  }

  /// Degree 8, Adam lr 0.05, batches of 250, 250 epochs (1000 steps), cosine schedule.
  /// Test RMSE over layer seeds 0...9 (data fixed): 0.0156 to 0.0253 (seed 0: 0.0156).
  /// Degree 4 reaches about 0.04 and degree 6 about 0.035 (in a PyTorch run of the same
  /// network), so degree 8 is what the [2, 5, 1] widths need for 3e-2.
  func testChebyshevFitsExpSin() throws {
    var rng = RandomSource(seed: 0)
    let layers: [Layer] = [
      try ChebyshevKANLayer(input: 2, output: 5, degree: 8, rng: &rng),
      try ChebyshevKANLayer(input: 5, output: 1, degree: 8, rng: &rng),
    ]
    let start = ContinuousClock.now
    let rmse = try fitExpSin(
      layers, config: Self.fitConfig(learningRate: 0.05, epochs: 250, batch: 250))
    print(
      "ChebyKAN [2, 5, 1] degree 8 on exp(sin(pi x) + y^2): test RMSE \(rmse) in \(ContinuousClock.now - start)"
    )
    XCTAssertLessThan(rmse, 3e-2)
  }

  /// Grid 10 with smooth_init, Adam lr 0.03, batches of 250, 500 epochs (2000 steps),
  /// cosine schedule. Test RMSE over layer seeds 0...9 (data fixed): 0.0079 to 0.0184
  /// (seed 0: 0.0124). Fourier fits are more seed-sensitive than Chebyshev ones: with lr
  /// 0.02 one seed in ten ends at 0.032, with lr 0.05 one at 0.052; grid 16 (full batch,
  /// lr 0.05, 1000 steps) ended between 0.033 and 0.55 on four seeds; full-batch grid 10
  /// (lr 0.05, 2000 steps) gave 0.007 to 0.027 on eight seeds at four times the cost.
  func testFourierFitsExpSin() throws {
    var rng = RandomSource(seed: 0)
    let layers: [Layer] = [
      try FourierKANLayer(input: 2, output: 5, grid: 10, smoothInit: true, rng: &rng),
      try FourierKANLayer(input: 5, output: 1, grid: 10, smoothInit: true, rng: &rng),
    ]
    let start = ContinuousClock.now
    let rmse = try fitExpSin(
      layers, config: Self.fitConfig(learningRate: 0.03, epochs: 500, batch: 250))
    print(
      "FourierKAN [2, 5, 1] grid 10 smooth on exp(sin(pi x) + y^2): test RMSE \(rmse) in \(ContinuousClock.now - start)"
    )
    XCTAssertLessThan(rmse, 3e-2)
  }
}
