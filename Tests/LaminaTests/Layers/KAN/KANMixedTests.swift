import Foundation
import XCTest

@testable import Lamina

/// Mixed-basis KAN layers ("basis": "mixed"): spec, gradients, an independent numpy
/// reference, edge curves, keep-strongest and the tools that refuse them.
final class KANMixedTests: XCTestCase {
  /// A model from spec text.
  func model(_ json: String) throws -> Model { try Model(json: json) }

  /// The first layer of `m` as a mixed layer.
  func mixed(_ m: Model, _ l: Int = 0) throws -> MixedKANLayer {
    try XCTUnwrap(m.layers[l] as? MixedKANLayer)
  }

  /// Entry `i` of a JSON array, or nil.
  func item(_ value: JSONValue?, _ i: Int) -> JSONValue? {
    guard case .array(let items)? = value, i < items.count else { return nil }
    return items[i]
  }

  /// The error code `body` throws, or nil.
  func code(_ body: () throws -> Void) -> LaminaError.Code? {
    do {
      try body()
      return nil
    } catch let e as LaminaError {
      return e.code
    } catch {
      return .internal
    }
  }

  /// Sets every trainable tensor of layer `l` to fixed values (see mixed_kan_reference.py).
  func setReferenceValues(_ m: Model, layer l: Int = 0) {
    for (s, p) in m.layers[l].parameters.enumerated() {
      for t in 0..<p.count {
        p.value[t] =
          s == 0
          ? Float(0.8 * cos(0.9 * Double(t))) : Float(0.3 * sin(1.3 * Double(t) + 0.5 * Double(s)))
      }
    }
  }

  // MARK: - Spec

  func testSpecFillsDefaultsAndRoundTrips() throws {
    let m = try model(#"{"kind": "kan", "widths": [2, 3, 1], "basis": "mixed", "seed": 4}"#)
    let layer = try mixed(m)
    XCTAssertEqual(layer.componentNames, ["bspline", "chebyshev", "fourier", "rbf"])
    XCTAssertEqual(m.spec["basis"], .string("mixed"))
    XCTAssertEqual(m.spec["temperature"], .number(1))
    XCTAssertEqual(m.spec["selected"], .bool(false))
    guard case .array(let bases)? = m.spec["bases"] else { return XCTFail("no bases") }
    XCTAssertEqual(bases.count, 4)
    XCTAssertEqual(bases[0]["grid"], .number(5))
    XCTAssertEqual(bases[1]["degree"], .number(4))
    XCTAssertEqual(bases[3]["normalize"], .bool(false))
    let names = m.tensors.map(\.name)
    for name in [
      "0.mix_logits", "0.bases.0.coef", "0.bases.0.scale_base", "0.bases.0.grid", "0.bases.0.mask",
      "0.bases.1.coef", "0.bases.2.fouriercoeffs", "0.bases.2.bias",
      "0.bases.3.spline_linear.weight",
      "0.bases.3.rbf.grid", "1.mix_logits",
    ] {
      XCTAssertTrue(names.contains(name), name)
    }
    XCTAssertEqual(m.tensor(named: "0.mix_logits")?.shape, [3, 2, 4])
    XCTAssertEqual(m.tensor(named: "0.mix_logits")?.value, [Float](repeating: 0, count: 24))
    XCTAssertEqual(m.tensor(named: "0.bases.1.coef")?.shape, [2, 3, 5])
    // The full spec builds the same model, weights included (same seed, same draws).
    let again = try Model(spec: m.spec)
    XCTAssertEqual(again.spec, m.spec)
    for ((n1, p1), (n2, p2)) in zip(m.tensors, again.tensors) {
      XCTAssertEqual(n1, n2)
      XCTAssertEqual(p1.value, p2.value, n1)
    }
    // The sequential form and the per-layer list form.
    let s = try model(
      #"{"kind": "sequential", "input": 3, "layers": [{"type": "kan", "output": 2, "basis": "mixed", "#
        + #""bases": ["chebyshev", {"name": "rational", "init": "gelu"}], "temperature": 0.5}]}"#)
    let sl = try mixed(s)
    XCTAssertEqual(sl.componentNames, ["chebyshev", "rational"])
    XCTAssertEqual(sl.temperature, 0.5)
    guard case .array(let layers)? = s.spec["layers"], case .array(let sb)? = layers[0]["bases"]
    else { return XCTFail("no layers") }
    XCTAssertEqual(sb[1]["groups"], .number(3))  // resolved for 3 inputs
    XCTAssertEqual(try Model(spec: s.spec).spec, s.spec)
    let p = try model(
      #"{"kind": "kan", "widths": [2, 2, 1], "basis": ["bspline", {"name": "mixed", "bases": ["fourier", "rbf"]}]}"#
    )
    XCTAssertTrue(p.layers[0] is BSplineKANLayer)
    XCTAssertEqual(try mixed(p, 1).componentNames, ["fourier", "rbf"])
  }

  func testParseErrorsNameTheKey() {
    let cases: [(String, String)] = [
      (#""bases": ["chebyshev"]"#, "at least two"),
      (#""bases": ["chebyshev", "chebyshev"]"#, "listed twice"),
      (#""bases": ["chebyshev", "mixed"]"#, "no nesting"),
      (#""bases": ["chebyshev", "spline"]"#, "unknown \"basis\""),
      (#""bases": "chebyshev""#, "\"bases\" must be an array"),
      (#""bases": ["chebyshev", 3]"#, "bases[1]"),
      (#""bases": ["chebyshev", {"name": "fourier", "grdi": 3}]"#, "unknown key \"grdi\""),
      (#""bases": ["chebyshev", {"name": "rbf", "normalize": true}]"#, "\"normalize\""),
      (#""bases": ["chebyshev", {"name": "bspline", "symbolic": true}]"#, "\"symbolic\""),
      (#""bases": ["chebyshev", {"name": "fourier", "grid": 0}]"#, "\"grid\""),
      (#""temperature": 0"#, "\"temperature\""),
      (#""temperature": -1"#, "\"temperature\""),
      (#""selected": 1"#, "\"selected\""),
      (#""mix": 1"#, "unknown key \"mix\""),
    ]
    for (keys, expected) in cases {
      let json = #"{"kind": "kan", "widths": [2, 1], "basis": "mixed", "# + keys + "}"
      XCTAssertThrowsError(try Model(json: json), json) {
        let e = $0 as? LaminaError
        XCTAssertEqual(e?.code, .invalidArgument, json)
        XCTAssertTrue(e?.message.contains(expected) ?? false, "\(json): \(e?.message ?? "")")
      }
    }
    // "bases" belongs to "mixed" only.
    XCTAssertThrowsError(
      try Model(json: #"{"kind": "kan", "widths": [2, 1], "bases": ["rbf", "fourier"]}"#))
  }

  // MARK: - Gradients

  func testGradientCheck() throws {
    let configs: [(String, Int, Int)] = [
      (#""basis": "mixed""#, 2, 3),
      (#""basis": "mixed", "bases": ["chebyshev", "rational"], "temperature": 0.5"#, 3, 2),
      (
        #""basis": "mixed", "bases": ["fourier", "rbf", {"name": "bspline", "grid": 3}], "temperature": 2"#,
        2, 2
      ),
      (#""basis": "mixed", "bases": ["bspline", "chebyshev", "fourier", "rbf", "rational"]"#, 1, 2),
      (#""basis": "mixed", "bases": ["fourier", "chebyshev"], "selected": true"#, 2, 3),
    ]
    for (n, (keys, input, output)) in configs.enumerated() {
      let m = try model(
        #"{"kind": "sequential", "input": \#(input), "layers": [{"type": "kan", "output": \#(output), "#
          + keys + "}], \"seed\": \(n)}")
      let layer = try mixed(m)
      var rng = RandomSource(seed: UInt64(40 + n))
      // Non-uniform mixtures (and selections), and rational denominators away from |s| = 0.
      for p in [layer.logits, layer.selection].compactMap({ $0 }) {
        for t in 0..<p.count { p.value[t] = Float(rng.unit() * 2 - 1) }
      }
      for (name, p) in m.tensors where name.hasSuffix(".denominator") {
        for t in 0..<p.count { p.value[t] = Float(rng.unit() * 0.6 + 0.2) }
      }
      assertGradientsCorrect(of: layer, label: "mixed \(n): \(keys)", batch: 5) { _, _, rng in
        Float(rng.unit() * 1.8 - 0.9)
      }
    }
  }

  // MARK: - Reference

  /// Values from Tests/Reference/mixed_kan_reference.py (float64 numpy, written without
  /// Lamina's code): the mixture, outputs, one edge curve and one component's edge.
  enum Reference {
    static let mixture: [Double] = [
      0.4979131365836549, 0.3231058203441102, 0.122475248637513, 0.056505794434722076,
      0.05655146103725068, 0.12385460222226778, 0.3255060625260408, 0.4940878742144406,
      0.5765521408998406, 0.21777685957164075, 0.10154635629196185, 0.10412464323655679,
      0.10005029515484551, 0.26187687068569937, 0.3914959958326595, 0.24657683832679553,
    ]
    static let y: [Double] = [
      0.09972977649791694, 0.060991033733550366, 0.04438068347002011, -0.061571541692296824,
      -0.1631851660685401, -0.08624353003110871, 0.20671987812696052, 0.3496287350638555,
      0.3064929364941301, 0.22505441498658196,
    ]
    static let curve: [Double] = [
      -0.09006473305448873, 0.37360165056824857, -0.24958244105006364, -0.024341004904884653,
      -0.03914390275042741, -0.14046138613570766, -0.31010483763075697,
    ]
    static let fourierEdge: [Double] = [
      -0.26076835482913524, 1.3800044106855562, -0.3589248350529157, 0.06529955291803605,
      -0.17958498467099396, -0.33493765858943575, 0.15444773624477462,
    ]
    static let x: [Float] = [-1.3, 0.4, 0.25, -0.6, 0.9, 1.7, -0.05, 0.0, 2.5, -2.4]
    static let curveX: [Float] = [-3.0, -1.1, -0.3, 0.0, 0.45, 0.99, 1.8]
  }

  func assertClose(
    _ a: [Float], _ b: [Double], tolerance: Double, _ what: String, line: UInt = #line
  ) {
    XCTAssertEqual(a.count, b.count, what, line: line)
    for (k, (u, v)) in zip(a, b).enumerated() where !(abs(Double(u) - v) <= tolerance) {
      XCTFail("\(what)[\(k)]: \(u) vs reference \(v)", line: line)
    }
  }

  func testMatchesNumpyReference() throws {
    let m = try model(
      #"{"kind": "kan", "widths": [2, 2], "basis": "mixed", "temperature": 0.7}"#)
    setReferenceValues(m)
    let layer = try mixed(m)
    assertClose(layer.mixture, Reference.mixture, tolerance: 1e-6, "mixture")
    assertClose(try m.kanMixture(layer: 0), Reference.mixture, tolerance: 1e-6, "kanMixture")
    assertClose(try m.predict(Reference.x), Reference.y, tolerance: 2e-6, "y")
    var curve = [Float](repeating: 0, count: Reference.curveX.count)
    try Reference.curveX.withUnsafeBufferPointer { xb in
      try curve.withUnsafeMutableBufferPointer {
        try m.kanEdgeCurve(
          layer: 0, input: 1, output: 0, at: xb.baseAddress!, count: xb.count, into: $0.baseAddress!
        )
      }
    }
    assertClose(curve, Reference.curve, tolerance: 2e-6, "edge curve (1, 0)")
    Reference.curveX.withUnsafeBufferPointer { xb in
      curve.withUnsafeMutableBufferPointer {
        layer.componentEdgeValues(
          component: 2, input: 1, output: 0, at: xb.baseAddress!, count: xb.count,
          into: $0.baseAddress!)
      }
    }
    assertClose(curve, Reference.fourierEdge, tolerance: 2e-6, "fourier edge (1, 0)")
  }

  /// y_j = sum_i phi_ij(x_i) for every basis combination, biases included.
  func testEdgeCurvesSumToTheOutput() throws {
    let m = try model(
      #"{"kind": "kan", "widths": [3, 2], "basis": "mixed", "bases": ["bspline", "chebyshev", "fourier", "rbf", "rational"], "seed": 2}"#
    )
    setReferenceValues(m)
    var rng = RandomSource(seed: 3)
    let n = 6
    let x = (0..<(3 * n)).map { _ in Float(rng.unit() * 3 - 1.5) }
    let y = try m.predict(x)
    var sums = [Double](repeating: 0, count: 2 * n)
    for i in 0..<3 {
      let column = (0..<n).map { x[$0 * 3 + i] }
      for j in 0..<2 {
        var c = [Float](repeating: 0, count: n)
        try column.withUnsafeBufferPointer { xb in
          try c.withUnsafeMutableBufferPointer {
            try m.kanEdgeCurve(
              layer: 0, input: i, output: j, at: xb.baseAddress!, count: n, into: $0.baseAddress!)
          }
        }
        for r in 0..<n { sums[r * 2 + j] += Double(c[r]) }
      }
    }
    assertClose(y, sums, tolerance: 1e-5, "sum of edge curves")
  }

  /// Plain Chebyshev, Fourier, RBF and rational layers (what keep-strongest can produce)
  /// have edge curves too, summing to the output; an RBF layer with a LayerNorm has none.
  func testEdgeCurvesOfEverySeparableBasis() throws {
    var rng = RandomSource(seed: 6)
    let n = 5
    let x = (0..<(3 * n)).map { _ in Float(rng.unit() * 3 - 1.5) }
    for basis in ["chebyshev", "fourier", "rbf", "rational"] {
      let m = try model(#"{"kind": "kan", "widths": [3, 2], "basis": "\#(basis)", "seed": 2}"#)
      setReferenceValues(m)  // non-zero biases too
      let y = try m.predict(x)
      var sums = [Double](repeating: 0, count: 2 * n)
      for i in 0..<3 {
        let column = (0..<n).map { x[$0 * 3 + i] }
        for j in 0..<2 {
          for (r, v) in try curve(m, 0, i, j, column).enumerated() { sums[r * 2 + j] += Double(v) }
        }
      }
      assertClose(y, sums, tolerance: 1e-5, "\(basis): sum of edge curves")
    }
    let normalized = try model(
      #"{"kind": "kan", "widths": [3, 2], "basis": "rbf", "normalize": true}"#)
    XCTAssertEqual(code { _ = try self.curve(normalized, 0, 0, 0, [0.5]) }, .unsupported)
  }

  // MARK: - Keep strongest

  func testKeepStrongestKeepsTheChosenComponentsCurves() throws {
    let m = try model(
      #"{"kind": "kan", "widths": [2, 3, 1], "basis": "mixed", "bases": ["bspline", "chebyshev", "fourier"], "seed": 1}"#
    )
    let layer = try mixed(m)
    // Layer 0: edge e prefers component e % 3; layer 1: every edge prefers chebyshev.
    let logits0 = try XCTUnwrap(layer.logits)
    for e in 0..<6 { logits0.value[e * 3 + e % 3] = 1 }
    let logits1 = try XCTUnwrap(try mixed(m, 1).logits)
    for e in 0..<3 { logits1.value[e * 3 + 1] = 0.5 }
    let kept = try m.kanKeepStrongest()
    let k0 = try mixed(kept, 0)
    XCTAssertTrue(k0.isSelected)
    XCTAssertNil(k0.logits)
    XCTAssertEqual(k0.componentNames, ["bspline", "chebyshev", "fourier"])
    XCTAssertEqual(item(kept.spec["basis"], 0)?["selected"], .bool(true))
    XCTAssertNil(kept.tensor(named: "0.mix_logits"))
    XCTAssertEqual(kept.tensor(named: "0.selection")?.shape, [3, 2, 3])
    // Layer 1 became a plain Chebyshev layer with the component's tensor.
    let k1 = try XCTUnwrap(kept.layers[1] as? ChebyshevKANLayer)
    XCTAssertEqual(k1.coefficients.value, m.tensor(named: "1.bases.1.coef")?.value)
    XCTAssertEqual(item(kept.spec["basis"], 1)?["name"], .string("chebyshev"))
    // Each kept edge is exactly its chosen component's edge at full weight.
    let xs: [Float] = [-2.0, -0.7, -0.1, 0.3, 0.8, 1.5]
    for i in 0..<2 {
      for j in 0..<3 {
        let chosen = (j * 2 + i) % 3
        let a = try curve(kept, 0, i, j, xs)
        var b = [Float](repeating: 0, count: xs.count)
        xs.withUnsafeBufferPointer { xb in
          b.withUnsafeMutableBufferPointer {
            layer.componentEdgeValues(
              component: chosen, input: i, output: j, at: xb.baseAddress!, count: xs.count,
              into: $0.baseAddress!)
          }
        }
        XCTAssertEqual(a, b, "edge (\(i), \(j))")
        XCTAssertEqual(
          try kept.kanMixture(layer: 0)[(j * 2 + i) * 3..<(j * 2 + i) * 3 + 3].map { $0 },
          (0..<3).map { $0 == chosen ? 1 : 0 })
      }
    }
    // The converted layer computes the chebyshev component's edges (up to rounding: a
    // plain Chebyshev layer sums its terms in another order).
    let source = try mixed(m, 1)
    let h: [Float] = [0.3, -1.2, 0.8, -0.4, 0.05, 1.9]
    let through = try kept.layers[1].forwardArray(h, rows: 2)
    for r in 0..<2 {
      var sum: Float = 0
      for i in 0..<3 {
        var v: Float = 0
        [h[r * 3 + i]].withUnsafeBufferPointer { xb in
          source.componentEdgeValues(
            component: 1, input: i, output: 0, at: xb.baseAddress!, count: 1, into: &v)
        }
        sum += v
      }
      XCTAssertEqual(through[r], sum, accuracy: 1e-5)
    }
    // Selecting again keeps the selection; save and load keep the kept model.
    let twice = try kept.kanKeepStrongest()
    XCTAssertEqual(twice.spec, kept.spec)
    let path = NSTemporaryDirectory() + "lamina-mixed-\(getpid()).safetensors"
    defer { try? FileManager.default.removeItem(atPath: path) }
    try kept.save(to: path)
    let loaded = try Model.load(from: path)
    XCTAssertEqual(loaded.spec, kept.spec)
    let probe: [Float] = [0.3, -0.4, 1.2, 0.9, -1.5, 0.1]
    XCTAssertEqual(try loaded.predict(probe), try kept.predict(probe))
    // The original is unchanged and models without mixed layers are refused.
    XCTAssertNotNil(m.tensor(named: "0.mix_logits"))
    let plain = try model(#"{"kind": "kan", "widths": [2, 1]}"#)
    XCTAssertEqual(code { _ = try plain.kanKeepStrongest() }, .unsupported)
    XCTAssertEqual(code { _ = try plain.kanMixture(layer: 0) }, .unsupported)
    XCTAssertEqual(code { _ = try m.kanMixture(layer: 2) }, .invalidArgument)
  }

  func curve(_ m: Model, _ l: Int, _ i: Int, _ j: Int, _ xs: [Float]) throws -> [Float] {
    var y = [Float](repeating: 0, count: xs.count)
    try xs.withUnsafeBufferPointer { xb in
      try y.withUnsafeMutableBufferPointer {
        try m.kanEdgeCurve(
          layer: l, input: i, output: j, at: xb.baseAddress!, count: xs.count, into: $0.baseAddress!
        )
      }
    }
    return y
  }

  func testKeepStrongestInSequentialModels() throws {
    let m = try model(
      #"{"kind": "sequential", "input": 2, "layers": [{"type": "dense", "output": 3}, {"type": "kan", "output": 1, "basis": "mixed", "bases": ["rbf", "rational"]}]}"#
    )
    let logits = try XCTUnwrap(try mixed(m, 1).logits)
    for e in 0..<3 { logits.value[e * 2] = 2 }  // every edge prefers rbf
    let kept = try m.kanKeepStrongest()
    let rbf = try XCTUnwrap(kept.layers[1] as? RBFKANLayer)
    XCTAssertEqual(rbf.splineWeight.value, m.tensor(named: "1.bases.0.spline_linear.weight")?.value)
    XCTAssertEqual(kept.tensor(named: "0.weight")?.value, m.tensor(named: "0.weight")?.value)
    XCTAssertEqual(item(kept.spec["layers"], 1)?["basis"], .string("rbf"))
  }

  /// A periodic target on [-3, 3]: only the Fourier component can follow it (B-splines on
  /// [-1, 1] leave only SiLU outside, Chebyshev in tanh x flattens), so its mixture weight
  /// grows on the edge and keep-strongest turns the layer into a Fourier layer. (It levels
  /// off near 0.57: once the Fourier component fits, its coefficients and its weight trade
  /// off, so nothing pushes the weight further; a lower temperature sharpens the mixture.)
  func testPeriodicTargetPicksFourier() throws {
    let m = try model(
      #"{"kind": "kan", "widths": [1, 1], "basis": "mixed", "bases": ["bspline", "chebyshev", "fourier"], "seed": 0}"#
    )
    var rng = RandomSource(seed: 9)
    let n = 512
    let x = (0..<n).map { _ in Float(rng.unit() * 6 - 3) }
    let y = x.map { sin(3 * $0) + 0.5 * cos($0) }
    let trainer = try Trainer(
      model: m, json: #"{"learning_rate": 0.03, "epochs": 150, "batch_size": 128}"#)
    try x.withUnsafeBufferPointer { xb in
      try y.withUnsafeBufferPointer { yb in
        _ = try trainer.fit(xb.baseAddress!, yb.baseAddress!, count: n)
      }
    }
    let a = try m.kanMixture(layer: 0)
    print("mixture after training (bspline, chebyshev, fourier): \(a)")
    XCTAssertGreaterThan(a[2], 0.5)  // from 1 / 3; 0.57 here
    XCTAssertGreaterThan(a[2], a[0])
    XCTAssertGreaterThan(a[2], a[1])
    let kept = try m.kanKeepStrongest()
    XCTAssertTrue(kept.layers[0] is FourierKANLayer)
    XCTAssertEqual(item(kept.spec["basis"], 0)?["name"], .string("fourier"))
  }

  // MARK: - Tools that handle B-spline layers only

  func testBSplineToolsRefuseMixedLayers() throws {
    let m = try model(
      #"{"kind": "kan", "widths": [2, 2, 1], "basis": ["bspline", {"name": "mixed", "bases": ["bspline", "fourier"]}]}"#
    )
    let x: [Float] = [0.1, 0.2, -0.3, 0.4, 0.5, -0.6]
    let checks: [(String, () throws -> Void)] = [
      ("update_grid", { try m.updateGrid(samples: x) }),
      ("refine", { _ = try m.refine(grid: 10, samples: x) }),
      (
        "attribute",
        {
          _ = try x.withUnsafeBufferPointer {
            try m.kanAttribute(samples: $0.baseAddress!, count: 3)
          }
        }
      ),
      (
        "prune",
        { _ = try x.withUnsafeBufferPointer { try m.kanPrune(samples: $0.baseAddress!, count: 3) } }
      ),
      (
        "suggest_symbolic",
        { _ = try m.kanSuggestSymbolic(layer: 1, input: 0, output: 0, samples: x) }
      ),
      ("symbolic_formula", { _ = try m.kanSymbolicFormula() }),
    ]
    for (name, body) in checks {
      do {
        try body()
        XCTFail("\(name) accepted a mixed layer")
      } catch let e as LaminaError {
        XCTAssertEqual(e.code, .unsupported, "\(name): \(e.message)")
      }
    }
    do {
      try m.updateGrid(samples: x)
    } catch let e as LaminaError {
      XCTAssertTrue(e.message.contains("layer 1 is a mixed-basis KAN layer"), e.message)
    }
    // Nothing was changed by the refused calls.
    XCTAssertEqual(
      m.tensor(named: "1.bases.0.grid")?.value,
      try model(m.spec.text).tensor(named: "1.bases.0.grid")?.value)
  }

  func testConcurrentForwardIsDeterministic() throws {
    let m = try model(#"{"kind": "kan", "widths": [3, 4, 2], "basis": "mixed", "seed": 5}"#)
    setReferenceValues(m)
    var rng = RandomSource(seed: 1)
    let x = (0..<(3 * 300)).map { _ in Float(rng.unit() * 2 - 1) }
    let expected = try m.predict(x)
    let results = UnsafeMutablePointer<[Float]>.allocate(capacity: 8)
    results.initialize(repeating: [], count: 8)
    defer {
      results.deinitialize(count: 8)
      results.deallocate()
    }
    DispatchQueue.concurrentPerform(iterations: 8) { t in results[t] = (try? m.predict(x)) ?? [] }
    for t in 0..<8 { XCTAssertEqual(results[t], expected) }
  }
}

extension Layer {
  /// forward on `rows` rows of an array (tests).
  func forwardArray(_ x: [Float], rows: Int) throws -> [Float] {
    var y = [Float](repeating: 0, count: rows * outputDim)
    x.withUnsafeBufferPointer { xb in
      y.withUnsafeMutableBufferPointer { forward(xb.baseAddress!, $0.baseAddress!, count: rows) }
    }
    return y
  }
}
