import Foundation
import XCTest

@testable import Lamina

/// pykan's singularity-avoiding symbolic forms (kan/utils.py's f_inv ... f_exp) and the
/// trainer config's "singularity_avoiding" / "y_th" (pykan's fit(singularity_avoiding=...,
/// y_th=...)).
final class KANSingularityTests: XCTestCase {
  private func lib(_ name: String) -> SymbolicFunction {
    SymbolicLibrary.functions[SymbolicLibrary.index(of: name)!]
  }

  /// Sample points of the reference table.
  private let points = [
    -2.5, -1.2, -0.9999, -0.3, -0.05, -1e-3, -4e-7, 3e-7, 2e-4, 0.02, 0.7, 0.99995, 1.6, 3.0,
    7.5,
  ]

  /// pykan 0.2.8's forms evaluated by torch in float64 at `points`: (name, y_th, values).
  /// Made by exec'ing kan/utils.py's f_* lines and calling `f(x, torch.tensor(y_th))`.
  private let reference: [(String, Double, [Double])] = [
    (
      "1/x", 10.0,
      [
        -0.4, -0.8333333333333334, -1.000100010001, -3.3333333333333335, -5.0, -0.1,
        -3.9999999999999996e-05, 2.9999999999999997e-05, 0.02, 2.0, 1.4285714285714286,
        1.000050002500125, 0.625, 0.3333333333333333, 0.13333333333333333,
      ]
    ),
    (
      "1/x^2", 10.0,
      [
        0.16, 0.6944444444444444, 1.0002000300040004, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0,
        2.0408163265306127, 1.0001000075005, 0.39062499999999994, 0.1111111111111111,
        0.017777777777777778,
      ]
    ),
    (
      "1/x^3", 10.0,
      [
        -0.064, -0.5787037037037037, -1.0003000600100014, -6.463304070095652, -1.077217345015942,
        -0.02154434690031884, -8.617738760127536e-06, 6.463304070095651e-06, 0.004308869380063768,
        0.4308869380063768, 2.9154518950437325, 1.0001500150012501, 0.24414062499999994,
        0.037037037037037035, 0.0023703703703703703,
      ]
    ),
    (
      "1/x^4", 10.0,
      [
        0.0256, 0.4822530864197531, 1.0004001000200036, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0,
        4.164931278633904, 1.0002000250025003, 0.15258789062499997, 0.012345679012345678,
        0.0003160493827160494,
      ]
    ),
    (
      "1/x^5", 10.0,
      [
        -0.01024, -0.401877572016461, -1.000500150035007, -4.754679577383341, -0.7924465962305568,
        -0.015848931924611134, -6.339572769844454e-06, 4.75467957738334e-06, 0.0031697863849222273,
        0.3169786384922227, 5.949901826619863, 1.0002500375043755, 0.09536743164062497,
        0.00411522633744856, 4.213991769547325e-05,
      ]
    ),
    (
      "sqrt", 10.0,
      [
        -1.5811388300841898, -1.0954451150103321, -0.9999499987499375, -0.5477225575051661,
        -0.22360679774997896, -1e-06, -4e-10, 3e-10, 2.0000000000000002e-07, 0.1414213562373095,
        0.8366600265340756, 0.9999749996874921, 1.2649110640673518, 1.7320508075688772,
        2.7386127875258306,
      ]
    ),
    (
      "x^1.5", 10.0,
      [
        3.952847075210474, 1.3145341380123985, 0.9998500037500625, 0.1643167672515498,
        0.01118033988749895, 3.1622776601683795e-05, 2.5298221281347035e-10, 1.6431676725154982e-10,
        2.8284271247461903e-06, 0.00282842712474619, 0.5856620185738528, 0.9999250009375078,
        2.023857702507763, 5.196152422706632, 20.53959590644373,
      ]
    ),
    (
      "1/sqrt(x)", 10.0,
      [
        0.6324555320336759, 0.9128709291752769, 1.0000500037503126, 1.8257418583505538,
        4.47213595499958, 10.0, 10.0, 10.0, 10.0, 7.0710678118654755, 1.1952286093343936,
        1.000025000937539, 0.7905694150420948, 0.5773502691896258, 0.3651483716701107,
      ]
    ),
    (
      "exp", 10.0,
      [
        0.0820849986238988, 0.30119421191220214, 0.36791623095501796, 0.7408182206817179,
        0.951229424500714, 0.999000499833375, 0.99999960000008, 1.000000300000045,
        1.0002000200013335, 1.0202013400267558, 2.0137527074704766, 2.718145917765418,
        4.953032424395115, 10.0, 10.0,
      ]
    ),
    (
      "log", 10.0,
      [
        0.9162907318741551, 0.1823215567939546, -0.00010000500033334732, -1.2039728043259361,
        -2.995732273553991, -6.907755278982137, -10.0, -10.0, -8.517193191416238,
        -3.912023005428146, -0.35667494393873245, -5.000125004166272e-05, 0.47000362924573563,
        1.0986122886681098, 2.0149030205422647,
      ]
    ),
    (
      "tan", 10.0,
      [
        0.7470222972386601, -2.5721516221263196, -1.5570652261126678, -0.3093362496096232,
        -0.050041708375538736, -0.001000000333333479, -3.9999999991194365e-07, 3.00000000000009e-07,
        0.00020000000266666673, 0.020002667093402423, 0.8422883804630794, 1.5572364620500039,
        -2.930076054524082, -0.1425465430742778, 2.7060138667726927,
      ]
    ),
    (
      "arctanh", 10.0,
      [
        -10.0, -10.0, -10.0, -0.30951960420311175, -0.05004172927849127, -0.0010000003333335333,
        -4.000000000000213e-07, 3.00000000000009e-07, 0.00020000000266666673, 0.020002667306849582,
        0.8673005276940531, 10.0, 10.0, 10.0, 10.0,
      ]
    ),
    (
      "arcsin", 10.0,
      [
        -1.5707963267948966, -1.5707963267948966, -1.5566540733173846, -0.30469265401539747,
        -0.050020856805770016, -0.0010000001666667416, -4.000000000000106e-07,
        3.000000000000045e-07, 0.00020000000133333336, 0.02000133357339049, 0.775397496610753,
        1.5607962851277617, 1.5707963267948966, 1.5707963267948966, 1.5707963267948966,
      ]
    ),
    (
      "arccos", 10.0,
      [
        3.141592653589793, 3.141592653589793, 3.127450400112281, 1.8754889808102941,
        1.6208171836006666, 1.5717963269615634, 1.5707967267948966, 1.5707960267948966,
        1.5705963267935632, 1.5507949932215062, 0.7953988301841436, 0.010000041667134873, 0.0, 0.0,
        0.0,
      ]
    ),
    (
      "1/x", 1000.0,
      [
        -0.4, -0.8333333333333334, -1.000100010001, -3.3333333333333335, -20.0, -1000.0,
        -0.39999999999999997, 0.3, 200.0, 50.0, 1.4285714285714286, 1.000050002500125, 0.625,
        0.3333333333333333, 0.13333333333333333,
      ]
    ),
    (
      "1/x^2", 1000.0,
      [
        0.16, 0.6944444444444444, 1.0002000300040004, 11.11111111111111, 399.99999999999994, 1000.0,
        1000.0, 1000.0, 1000.0, 1000.0, 2.0408163265306127, 1.0001000075005, 0.39062499999999994,
        0.1111111111111111, 0.017777777777777778,
      ]
    ),
    (
      "1/x^3", 1000.0,
      [
        -0.064, -0.5787037037037037, -1.0003000600100014, -37.03703703703704, -499.99999999999994,
        -9.999999999999998, -0.003999999999999999, 0.002999999999999999, 1.9999999999999998,
        199.99999999999997, 2.9154518950437325, 1.0001500150012501, 0.24414062499999994,
        0.037037037037037035, 0.0023703703703703703,
      ]
    ),
    (
      "1/x^4", 1000.0,
      [
        0.0256, 0.4822530864197531, 1.0004001000200036, 123.4567901234568, 1000.0, 1000.0, 1000.0,
        1000.0, 1000.0, 1000.0, 4.164931278633904, 1.0002000250025003, 0.15258789062499997,
        0.012345679012345678, 0.0003160493827160494,
      ]
    ),
    (
      "1/x^5", 1000.0,
      [
        -0.01024, -0.401877572016461, -1.000500150035007, -411.5226337448561, -199.05358527674863,
        -3.9810717055349722, -0.001592428682213989, 0.0011943215116604917, 0.7962143411069945,
        79.62143411069945, 5.949901826619863, 1.0002500375043755, 0.09536743164062497,
        0.00411522633744856, 4.213991769547325e-05,
      ]
    ),
    (
      "sqrt", 1000.0,
      [
        -1.5811388300841898, -1.0954451150103321, -0.9999499987499375, -0.5477225575051661,
        -0.22360679774997896, -0.03162277660168379, -3.9999999999999994e-16, 2.9999999999999994e-16,
        0.01414213562373095, 0.1414213562373095, 0.8366600265340756, 0.9999749996874921,
        1.2649110640673518, 1.7320508075688772, 2.7386127875258306,
      ]
    ),
    (
      "x^1.5", 1000.0,
      [
        3.952847075210474, 1.3145341380123985, 0.9998500037500625, 0.1643167672515498,
        0.01118033988749895, 3.1622776601683795e-05, 2.5298221281347035e-10, 1.6431676725154982e-10,
        2.8284271247461903e-06, 0.00282842712474619, 0.5856620185738528, 0.9999250009375078,
        2.023857702507763, 5.196152422706632, 20.53959590644373,
      ]
    ),
    (
      "1/sqrt(x)", 1000.0,
      [
        0.6324555320336759, 0.9128709291752769, 1.0000500037503126, 1.8257418583505538,
        4.47213595499958, 31.622776601683796, 1000.0, 1000.0, 70.71067811865476, 7.0710678118654755,
        1.1952286093343936, 1.000025000937539, 0.7905694150420948, 0.5773502691896258,
        0.3651483716701107,
      ]
    ),
    (
      "exp", 1000.0,
      [
        0.0820849986238988, 0.30119421191220214, 0.36791623095501796, 0.7408182206817179,
        0.951229424500714, 0.999000499833375, 0.99999960000008, 1.000000300000045,
        1.0002000200013335, 1.0202013400267558, 2.0137527074704766, 2.718145917765418,
        4.953032424395115, 20.085536923187668, 1000.0,
      ]
    ),
    (
      "log", 1000.0,
      [
        0.9162907318741551, 0.1823215567939546, -0.00010000500033334732, -1.2039728043259361,
        -2.995732273553991, -6.907755278982137, -14.73180128983843, -15.01948336229021,
        -8.517193191416238, -3.912023005428146, -0.35667494393873245, -5.000125004166272e-05,
        0.47000362924573563, 1.0986122886681098, 2.0149030205422647,
      ]
    ),
    (
      "tan", 1000.0,
      [
        0.7470222972386601, -2.5721516221263196, -1.5570652261126678, -0.3093362496096232,
        -0.050041708375538736, -0.001000000333333479, -3.9999999991194365e-07, 3.00000000000009e-07,
        0.00020000000266666673, 0.020002667093402423, 0.8422883804630794, 1.5572364620500039,
        -34.232532735557314, -0.1425465430742778, 2.7060138667726927,
      ]
    ),
    (
      "arctanh", 1000.0,
      [
        -1000.0, -1000.0, -4.951718775643098, -0.30951960420311175, -0.05004172927849127,
        -0.0010000003333335333, -4.000000000000213e-07, 3.00000000000009e-07,
        0.00020000000266666673, 0.020002667306849582, 0.8673005276940531, 1000.0, 1000.0, 1000.0,
        1000.0,
      ]
    ),
    (
      "arcsin", 1000.0,
      [
        -1.5707963267948966, -1.5707963267948966, -1.5566540733173846, -0.30469265401539747,
        -0.050020856805770016, -0.0010000001666667416, -4.000000000000106e-07,
        3.000000000000045e-07, 0.00020000000133333336, 0.02000133357339049, 0.775397496610753,
        1.5607962851277617, 1.5707963267948966, 1.5707963267948966, 1.5707963267948966,
      ]
    ),
    (
      "arccos", 1000.0,
      [
        3.141592653589793, 3.141592653589793, 3.127450400112281, 1.8754889808102941,
        1.6208171836006666, 1.5717963269615634, 1.5707967267948966, 1.5707960267948966,
        1.5705963267935632, 1.5507949932215062, 0.7953988301841436, 0.010000041667134873, 0.0, 0.0,
        0.0,
      ]
    ),
  ]

  /// Every protected form equals pykan's at the table's points (both thresholds).
  func testProtectedFormsMatchPykan() {
    for (name, yTh, values) in reference {
      let f = lib(name)
      for (u, want) in zip(points, values) {
        let got = f.protected(u, yTh: yTh).0
        XCTAssertEqual(got, want, accuracy: 1e-12 * max(1, abs(want)), "\(name)(\(u)), y_th \(yTh)")
      }
    }
    // Identity forms for the rest (pykan's lambda x, y_th: ((), f(x))), Lamina's extras too.
    for name in [
      "x", "x^2", "x^3", "x^4", "x^5", "abs", "sin", "cos", "tanh", "sgn", "arctan", "0",
      "gaussian", "cosh", "sigmoid",
    ] {
      let f = lib(name)
      for u in points {
        XCTAssertEqual(f.protected(u, yTh: 10).0, f.value(u), "\(name)(\(u))")
        XCTAssertEqual(f.protected(u, yTh: 10).1, f.derivative(u), "\(name)'(\(u))")
      }
    }
    // nan_to_num of the outer branch: log(0) with e^-1000 = 0 is float32's lowest, slope 0.
    let l = lib("log").protected(0, yTh: 1000)
    XCTAssertEqual(l.0, -Double(Float.greatestFiniteMagnitude))
    XCTAssertEqual(l.1, 0)
    XCTAssertEqual(lib("1/x").protected(0, yTh: 1000).0, 0)  // on the linear patch
    XCTAssertEqual(lib("exp").protected(800, yTh: 1000).0, 1000)
  }

  /// The derivative of each protected form against a central difference, at points away
  /// from the patch boundaries (where the forms are differentiable).
  func testProtectedDerivativesMatchFiniteDifferences() {
    for (name, yTh, _) in reference {
      let f = lib(name)
      for u in points + [0.0, -1e-5, 1e-5, 1.5708, 2.2, -0.97] {
        let h = 1e-7 * max(1e-3, abs(u))
        let (vm, vp) = (f.protected(u - h, yTh: yTh).0, f.protected(u + h, yTh: yTh).0)
        let d = f.protected(u, yTh: yTh).1
        // Skip a point whose difference straddles a patch boundary (the form jumps there).
        let (dm, dp) = (f.protected(u - h, yTh: yTh).1, f.protected(u + h, yTh: yTh).1)
        guard abs(dm - dp) <= 1e-3 * max(1, abs(d)), d.isFinite else { continue }
        let fd = (vp - vm) / (2 * h)
        XCTAssertEqual(d, fd, accuracy: 1e-5 * max(1, abs(d)), "\(name)'(\(u)), y_th \(yTh)")
      }
    }
  }

  /// A layer in a step with "singularity_avoiding": its backward is the protected forms'
  /// (finite differences of the protected forward), on the patches and beyond them.
  func testProtectedBranchGradients() throws {
    var o = BSplineKANLayer.Options()
    o.symbolic = true
    let layer = BSplineKANLayer(input: 3, output: 2, options: o)
    var rng = RandomSource(seed: 9)
    layer.initialize(rng: &rng)
    let st = try XCTUnwrap(layer.symbolicTensors)
    let names = ["1/x", "log", "sqrt", "1/x^3", "tan", "exp"]
    for e in 0..<6 {
      st.mask.value[e] = 1
      st.function.value[e] = Float(SymbolicLibrary.index(of: names[e])!)
      st.affine.value.replaceSubrange((4 * e)..<(4 * e + 4), with: [1.3, 0.1, 0.7, 0.2])
    }
    // Threshold 2: patches |u| < 0.5 (1/x), |u| < 0.25 (sqrt), ...
    assertGradientsCorrect(
      of: Protected(layer, yTh: 2), label: "bspline+protected symbolic", batch: 7
    ) { _, _, rng in
      Float(rng.unit() * 1.6 - 0.8)
    }
  }

  /// Test wrapper: a B-spline KAN layer whose passes run as in a singularity-avoiding step.
  private final class Protected: Layer {
    let inner: BSplineKANLayer
    let yTh: Double
    init(_ inner: BSplineKANLayer, yTh: Double) { (self.inner, self.yTh) = (inner, yTh) }
    var inputDim: Int { inner.inputDim }
    var outputDim: Int { inner.outputDim }
    var parameters: [Parameter] { inner.parameters }
    var spec: JSONValue { inner.spec }
    func copy() -> Layer { Protected(inner.copy() as! BSplineKANLayer, yTh: yTh) }
    private func run<R>(_ body: () -> R) -> R {
      inner.symbolicTensors!.singularityThreshold = yTh
      defer { inner.symbolicTensors!.singularityThreshold = nil }
      return body()
    }
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
      run { inner.forward(x, y, count: n) }
    }
    func backward(
      _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
      _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool
    ) {
      run { inner.backward(x, y, dy, dx, count: n, parameterGradients: parameterGradients) }
    }
  }

  private func inverseModel() throws -> Model {
    let m = try Model(json: #"{"kind": "kan", "widths": [1, 1], "symbolic": true, "seed": 2}"#)
    try m.kanSetSymbolic(layer: 0, input: 0, output: 0, function: "1/x", affine: [1, 0, 0.5, 0])
    return m
  }

  /// A fixed 1/x edge whose input crosses 0: plain training diverges (NumericError), with
  /// singularity_avoiding every step's loss is finite; predict and the test loss stay plain.
  func testTrainingThroughThePole() throws {
    let n = 41
    let x = (0..<n).map { Float(-1 + 2 * Double($0) / Double(n - 1)) }  // holds 0 exactly
    let y = x.map { 0.3 * $0 }
    let plain = try Trainer(model: try inverseModel(), json: #"{"learning_rate": 0.01}"#)
    XCTAssertThrowsError(try plain.step(x, y, count: n)) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .numeric)
    }
    let m = try inverseModel()
    let json = #"{"learning_rate": 0.01, "singularity_avoiding": true, "y_th": 10}"#
    let t = try Trainer(model: m, json: json)
    XCTAssertEqual(t.config.json["singularity_avoiding"], .bool(true))
    XCTAssertEqual(t.config.json["y_th"], .number(10))
    for _ in 0..<5 { XCTAssertTrue(try t.step(x, y, count: n).isFinite) }
    // Training moved b off 0; predict stays plain: at u = a x + b = 0.01, inside the patch
    // |u| < 1/y_th, it is c / u (50), not the patch's c y_th^2 u (0.5).
    let p = try XCTUnwrap(m.tensors.first { $0.name == "0.symbolic_affine" }).parameter.value
    let x0 = Float((0.01 - Double(p[1])) / Double(p[0]))
    let u0 = Double(p[0]) * Double(x0) + Double(p[1])
    let want = Double(p[2]) / u0 + Double(p[3])
    XCTAssertEqual(Double(try m.predict([x0])[0]), want, accuracy: 1e-4 * abs(want))
    XCTAssertGreaterThan(abs(want), 10)
    // kan_fit: finite training losses; its test loss is the plain one, as pykan's.
    var options = KANFitOptions()
    options.steps = 3
    options.updateGrid = false
    let h = try t.kanFit(x, y, count: n, testX: x, testY: y, testCount: n, options: options)
    XCTAssertTrue(h.trainLoss.allSatisfy(\.isFinite), "\(h.trainLoss)")
    let plainTest = try t.evaluate(x, y, count: n).squareRoot()
    let protectedTest = try m.withSymbolicSingularity(10) { try t.evaluate(x, y, count: n) }
      .squareRoot()
    XCTAssertEqual(h.testLoss.last!, plainTest, accuracy: 1e-6 * max(1, plainTest))
    XCTAssertNotEqual(plainTest, protectedTest)
  }

  /// The keys' defaults, echo and refusals.
  func testConfigKeys() throws {
    let d = try TrainerConfig(json: JSONValue.parse("{}", what: "t"))
    XCTAssertFalse(d.singularityAvoiding)
    XCTAssertEqual(d.yTh, 1000)
    XCTAssertNil(d.symbolicThreshold)
    for bad in [
      #"{"y_th": 0}"#, #"{"y_th": -1}"#, #"{"singularity_avoiding": 1}"#, #"{"y_th": "a"}"#,
    ] {
      XCTAssertThrowsError(try TrainerConfig(json: JSONValue.parse(bad, what: "t")), bad)
    }
  }
}
