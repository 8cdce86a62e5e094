import Dispatch
import Foundation
import XCTest

@testable import Lamina

/// Every KAN basis through the spec language: the "kan" model kind and the sequential "kan"
/// layer, the full spec and its round trip, per-layer basis lists, width-dependent errors,
/// parameter budgets, save/load, and the scratch pool all the KAN layers share.
final class KANBasisSpecTests: XCTestCase {
  // MARK: - Helpers

  /// One basis as a test case: the keys a user writes, the full spec the model reports for
  /// [2, 5, 1], and the tensors of each layer (name and shape).
  struct Case {
    var basis: String
    var keys: String
    var fullSpec: String
    var tensors: [(String, [Int])]
  }

  static let cases: [Case] = [
    Case(
      basis: "bspline", keys: "",
      fullSpec:
        #"{"kind": "kan", "widths": [2, 5, 1], "basis": "bspline", "grid": 5, "order": 3, "grid_range": [-1, 1], "noise_scale": 0.3, "scale_base_mu": 0, "scale_base_sigma": 1, "base_fun": "silu", "seed": 0}"#,
      tensors: [
        ("0.coef", [2, 5, 8]), ("0.scale_base", [2, 5]), ("0.scale_sp", [2, 5]),
        ("0.grid", [2, 12]), ("0.mask", [2, 5]), ("1.coef", [5, 1, 8]), ("1.scale_base", [5, 1]),
        ("1.scale_sp", [5, 1]), ("1.grid", [5, 12]), ("1.mask", [5, 1]),
      ]),
    Case(
      basis: "chebyshev", keys: #", "degree": 8"#,
      fullSpec:
        #"{"kind": "kan", "widths": [2, 5, 1], "basis": "chebyshev", "degree": 8, "seed": 0}"#,
      tensors: [("0.coef", [2, 5, 9]), ("1.coef", [5, 1, 9])]),
    Case(
      basis: "fourier", keys: "",
      fullSpec:
        #"{"kind": "kan", "widths": [2, 5, 1], "basis": "fourier", "grid": 5, "smooth_init": false, "bias": true, "seed": 0}"#,
      tensors: [
        ("0.fouriercoeffs", [2, 5, 2, 5]), ("0.bias", [5]), ("1.fouriercoeffs", [2, 1, 5, 5]),
        ("1.bias", [1]),
      ]),
    Case(
      basis: "rbf", keys: "",
      fullSpec:
        #"{"kind": "kan", "widths": [2, 5, 1], "basis": "rbf", "grid": 8, "grid_range": [-2, 2], "normalize": false, "base": true, "seed": 0}"#,
      tensors: [
        ("0.spline_linear.weight", [5, 16]), ("0.base_linear.weight", [5, 2]),
        ("0.base_linear.bias", [5]), ("0.rbf.grid", [8]), ("1.spline_linear.weight", [1, 40]),
        ("1.base_linear.weight", [1, 5]), ("1.base_linear.bias", [1]), ("1.rbf.grid", [8]),
      ]),
    Case(
      basis: "rational", keys: "",
      fullSpec:
        #"{"kind": "kan", "widths": [2, 5, 1], "basis": "rational", "groups": 0, "init": "identity", "bias": true, "seed": 0}"#,
      tensors: [
        ("0.numerator", [2, 6]), ("0.denominator", [2, 4]), ("0.linear.weight", [5, 2]),
        ("0.linear.bias", [5]), ("1.numerator", [5, 6]), ("1.denominator", [5, 4]),
        ("1.linear.weight", [1, 5]), ("1.linear.bias", [1]),
      ]),
  ]

  func bits(_ m: Model) -> [[UInt32]] { m.tensors.map { $0.parameter.value.map(\.bitPattern) } }

  func inputs(_ n: Int, width: Int, seed: UInt64 = 9) -> [Float] {
    var rng = RandomSource(seed: seed)
    return (0..<(n * width)).map { _ in Float(rng.uniform(-1.5, 1.5)) }
  }

  func expectError(
    _ json: String, _ fragments: [String], code: LaminaError.Code = .invalidArgument,
    file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertThrowsError(try Model(json: json), json, file: file, line: line) { error in
      guard let e = error as? LaminaError else {
        return XCTFail("\(json): not a LaminaError: \(error)", file: file, line: line)
      }
      XCTAssertEqual(e.code, code, "\(json): \(e.message)", file: file, line: line)
      for fragment in fragments {
        XCTAssertTrue(
          e.message.contains(fragment), "\(json): \"\(e.message)\" lacks \(fragment)", file: file,
          line: line)
      }
    }
  }

  // MARK: - The "kan" kind, one basis for every layer

  func testEveryBasisBuildsFillsDefaultsAndRoundTrips() throws {
    for c in Self.cases {
      let json = #"{"kind": "kan", "widths": [2, 5, 1], "basis": "\#(c.basis)"\#(c.keys)}"#
      let m = try Model(json: json)
      XCTAssertEqual(m.spec.text, c.fullSpec, c.basis)
      XCTAssertEqual(m.tensors.map(\.name), c.tensors.map(\.0), c.basis)
      XCTAssertEqual(m.tensors.map(\.parameter.shape), c.tensors.map(\.1), c.basis)
      XCTAssertEqual([m.inputDim, m.outputDim], [2, 1], c.basis)
      // The full spec rebuilds the same model, bit for bit, and reports itself again.
      let again = try Model(spec: m.spec)
      XCTAssertEqual(again.spec, m.spec, c.basis)
      XCTAssertEqual(bits(again), bits(m), c.basis)
      let x = inputs(37, width: 2)
      XCTAssertEqual(try again.predict(x), try m.predict(x), c.basis)
      // The seed matters for every basis (the rbf centres and the rational start do not
      // depend on it, the rest does).
      let other = try Model(
        spec: JSONValue.parse(json.replacingOccurrences(of: "}", with: #", "seed": 1}"#)))
      XCTAssertNotEqual(bits(other), bits(m), c.basis)
      // The layers' own specs are the sequential form of the same keys.
      for (l, layer) in m.layers.enumerated() {
        XCTAssertEqual(layer.spec["basis"], .string(c.basis))
        XCTAssertEqual(layer.spec["output"], .number(l == 0 ? 5 : 1))
      }
    }
  }

  /// A "kan" model and a sequential stack of "kan" layers with the same keys and seed draw
  /// the same weights, for every basis; the sequential spec round-trips too.
  func testKANKindEqualsSequentialLayersForEveryBasis() throws {
    let keys: [String: String] = [
      "bspline": #", "grid": 4, "order": 2"#, "chebyshev": #", "degree": 6"#,
      "fourier": #", "grid": 3, "smooth_init": true"#,
      "rbf": #", "grid": 5, "grid_range": [-1, 1], "normalize": true"#,
      "rational": #", "init": "gelu""#,
    ]
    for (basis, k) in keys.sorted(by: { $0.key < $1.key }) {
      let a = try Model(
        json: #"{"kind": "kan", "widths": [3, 4, 2], "basis": "\#(basis)"\#(k), "seed": 3}"#)
      let b = try Model(
        json: #"""
          {"kind": "sequential", "input": 3, "seed": 3, "layers": [
           {"type": "kan", "output": 4, "basis": "\#(basis)"\#(k)},
           {"type": "kan", "output": 2, "basis": "\#(basis)"\#(k)}]}
          """#)
      XCTAssertEqual(a.tensors.map(\.name), b.tensors.map(\.name), basis)
      XCTAssertEqual(bits(a), bits(b), basis)
      let again = try Model(spec: b.spec)
      XCTAssertEqual(again.spec, b.spec, basis)
      XCTAssertEqual(bits(again), bits(b), basis)
      // Each sequential layer's spec is what the kind's layers report.
      guard case .array(let layers)? = b.spec["layers"] else { return XCTFail(basis) }
      XCTAssertEqual(layers, a.layers.map(\.spec), basis)
    }
  }

  /// Rational "groups" defaults per layer (the largest divisor of its input width not above
  /// 8); the model spec records 0 ("per layer") so it rebuilds the same layers, and each
  /// layer's own spec records the number it used.
  func testRationalGroupsDefaultPerLayer() throws {
    let m = try Model(json: #"{"kind": "kan", "widths": [2, 12, 7, 1], "basis": "rational"}"#)
    let groups = m.layers.compactMap { ($0 as? RationalKANLayer)?.groups }
    XCTAssertEqual(groups, [2, 6, 7])
    XCTAssertEqual(m.spec["groups"], .number(0))
    XCTAssertEqual(m.layers.map { $0.spec["groups"] }, [.number(2), .number(6), .number(7)])
    let again = try Model(spec: m.spec)
    XCTAssertEqual(bits(again), bits(m))
    // Explicit groups apply to every layer and must divide every input width.
    let two = try Model(
      json: #"{"kind": "kan", "widths": [4, 6, 2], "basis": "rational", "groups": 2}"#)
    XCTAssertEqual(two.layers.compactMap { ($0 as? RationalKANLayer)?.groups }, [2, 2])
    expectError(
      #"{"kind": "kan", "widths": [4, 6, 1], "basis": "rational", "groups": 4}"#,
      ["layer 1 (6 -> 1)", "\"groups\"", "divide"])
    // A sequential layer knows its input: "groups": 0 there is resolved in its spec.
    let s = try Model(
      json:
        #"{"kind": "sequential", "input": 12, "layers": [{"type": "kan", "output": 2, "basis": "rational", "groups": 0}]}"#
    )
    XCTAssertEqual(s.layers[0].spec["groups"], .number(6))
  }

  // MARK: - Per-layer bases

  func testPerLayerBasisListBuildsEachLayerAndRoundTrips() throws {
    let m = try Model(
      json:
        #"{"kind": "kan", "widths": [2, 5, 4, 1], "basis": ["bspline", {"name": "chebyshev", "degree": 8}, {"name": "rational", "init": "swish"}], "seed": 2}"#
    )
    XCTAssertTrue(m.layers[0] is BSplineKANLayer)
    XCTAssertTrue(m.layers[1] is ChebyshevKANLayer)
    XCTAssertTrue(m.layers[2] is RationalKANLayer)
    XCTAssertEqual(
      m.spec.text,
      #"{"kind": "kan", "widths": [2, 5, 4, 1], "basis": [{"name": "bspline", "grid": 5, "order": 3, "grid_range": [-1, 1], "noise_scale": 0.3, "scale_base_mu": 0, "scale_base_sigma": 1, "base_fun": "silu"}, {"name": "chebyshev", "degree": 8}, {"name": "rational", "groups": 4, "init": "swish", "bias": true}], "seed": 2}"#
    )
    XCTAssertEqual(m.tensor(named: "0.coef")?.shape, [2, 5, 8])
    XCTAssertEqual(m.tensor(named: "1.coef")?.shape, [5, 4, 9])
    XCTAssertEqual(m.tensor(named: "2.numerator")?.shape, [4, 6])
    let again = try Model(spec: m.spec)
    XCTAssertEqual(again.spec, m.spec)
    XCTAssertEqual(bits(again), bits(m))
    // The same layers as a sequential model with the same seed.
    let s = try Model(
      json: #"""
        {"kind": "sequential", "input": 2, "seed": 2, "layers": [
         {"type": "kan", "output": 5},
         {"type": "kan", "output": 4, "basis": "chebyshev", "degree": 8},
         {"type": "kan", "output": 1, "basis": "rational", "init": "silu"}]}
        """#)
    XCTAssertEqual(bits(s), bits(m))
    // A list with one basis repeated is the shared form with the same weights.
    let list = try Model(
      json: #"{"kind": "kan", "widths": [2, 5, 1], "basis": ["fourier", {"name": "fourier"}]}"#)
    let shared = try Model(json: #"{"kind": "kan", "widths": [2, 5, 1], "basis": "fourier"}"#)
    XCTAssertEqual(bits(list), bits(shared))
    // Each basis can train as part of a mixed model: gradients reach every layer.
    let trainer = try Trainer(model: m, json: #"{"learning_rate": 0.01, "batch_size": 16}"#)
    let x = inputs(16, width: 2)
    let y = (0..<16).map { Float($0 % 3) * 0.5 }
    let before = bits(m)
    try x.withUnsafeBufferPointer { xb in
      try y.withUnsafeBufferPointer { yb in
        _ = try trainer.step(xb.baseAddress!, yb.baseAddress!, count: 16)
      }
    }
    let after = bits(m)
    for (l, name) in ["0.coef", "1.coef", "2.numerator"].enumerated() {
      let i = try XCTUnwrap(m.tensors.firstIndex { $0.name == name })
      XCTAssertNotEqual(after[i], before[i], "layer \(l) did not train")
    }
  }

  func testPerLayerBasisErrorsNameTheProblem() {
    let base = #"{"kind": "kan", "widths": [2, 3, 1], "#
    expectError(base + #""basis": ["bspline"]}"#, ["\"basis\" lists 1 bases for 2 layers"])
    expectError(base + #""basis": ["bspline", 3]}"#, ["basis[1]", "a number"])
    expectError(base + #""basis": ["bspline", {"degree": 4}]}"#, ["basis[1]", "\"name\""])
    expectError(
      base + #""basis": ["bspline", "bessel"]}"#, ["basis[1]", "unknown \"basis\" \"bessel\""])
    expectError(
      base + #""basis": ["bspline", {"name": "chebyshev", "grid": 5}]}"#,
      ["basis[1]", "unknown key \"grid\""])
    expectError(
      base + #""basis": ["bspline", {"name": "chebyshev", "degree": 0}]}"#,
      ["basis[1]", "\"degree\""])
    expectError(
      base + #""basis": ["bspline", "chebyshev"], "grid": 10}"#,
      ["unknown key \"grid\"", "entry"])
    expectError(base + #""basis": {"name": "bspline"}}"#, ["\"basis\"", "string"])
    expectError(
      #"{"kind": "sequential", "input": 2, "layers": [{"type": "kan", "output": 1, "basis": ["bspline"]}]}"#,
      ["layers[0]", "\"basis\""])
    // Width rules are checked per layer of the list, naming it.
    expectError(
      #"{"kind": "kan", "widths": [3, 1, 2], "basis": ["bspline", {"name": "rbf", "normalize": true}]}"#,
      ["layer 1 (1 -> 2)", "\"normalize\""])
  }

  // MARK: - Width-dependent errors and budgets

  func testWidthRulesAreErrorsNotTraps() {
    // LayerNorm over one feature would make the layer ignore its input.
    expectError(
      #"{"kind": "kan", "widths": [1, 4, 1], "basis": "rbf", "normalize": true}"#,
      ["layer 0 (1 -> 4)", "\"normalize\""])
    expectError(
      #"{"kind": "sequential", "input": 1, "layers": [{"type": "kan", "output": 2, "basis": "rbf", "normalize": true}]}"#,
      ["layers[0]", "\"normalize\""])
    expectError(
      #"{"kind": "kan", "widths": [4096, 2], "basis": "rbf", "grid": 1024}"#,
      ["layer 0", "basis features"])
    expectError(
      #"{"kind": "sequential", "input": 6, "layers": [{"type": "kan", "output": 2, "basis": "rational", "groups": 4}]}"#,
      ["layers[0]", "\"groups\""])
    expectError(
      #"{"kind": "kan", "widths": [2, 1], "basis": "rbf", "grid_range": [1, -1]}"#,
      ["\"grid_range\""])
    expectError(
      #"{"kind": "kan", "widths": [2, 1], "basis": "rational", "groups": -1}"#, ["\"groups\""])
    expectError(
      #"{"kind": "kan", "widths": [2, 1], "basis": "chebyshev", "grid": 5}"#,
      ["unknown key \"grid\""])
    expectError(
      #"{"kind": "kan", "widths": [2, 1], "basis": "fourier", "order": 3}"#,
      ["unknown key \"order\""])
  }

  /// Over-budget models are refused with `.outOfMemory` before anything is allocated, for a
  /// single huge layer and for many layers that are each within the limit.
  func testParameterBudgetsAreCheckedBeforeAllocating() {
    let huge = [
      #""basis": "chebyshev", "degree": 64"#, #""basis": "fourier", "grid": 1024"#,
      #""basis": "rational""#, #""basis": "bspline", "grid": 10000"#,
    ]
    for keys in huge {
      expectError(
        #"{"kind": "kan", "widths": [65536, 65536], \#(keys)}"#, ["parameters"],
        code: .outOfMemory)
    }
    expectError(
      #"{"kind": "kan", "widths": [65536, 256], "basis": "rbf", "grid": 16}"#, ["parameters"],
      code: .outOfMemory)
    // Each layer 4096 x 4096 x 9 = 151M (Fourier: 2 x 4096 x 4096 x 5 = 168M) is under the
    // 268M limit; two are over it.
    expectError(
      #"{"kind": "kan", "widths": [4096, 4096, 4096], "basis": "chebyshev", "degree": 8}"#,
      ["model would have more than"], code: .outOfMemory)
    expectError(
      #"{"kind": "kan", "widths": [4096, 4096, 4096], "basis": [{"name": "chebyshev", "degree": 8}, "fourier"]}"#,
      ["model would have more than"], code: .outOfMemory)
  }

  // MARK: - Files

  func testSaveLoadEveryBasis() throws {
    let bases =
      Self.cases.map { (#""\#($0.basis)""# + $0.keys, $0.basis) } + [
        (#"["rbf", {"name": "fourier", "smooth_init": true}, "rational"]"#, "mixed")
      ]
    for (keys, label) in bases {
      let m = try Model(
        json: #"{"kind": "kan", "widths": [3, 4, 2, 2], "basis": \#(keys), "seed": 6}"#)
      // Change every tensor but the knots so the file, not the seed, has to carry them.
      for (k, t) in m.tensors.enumerated() where !t.name.hasSuffix("grid") {
        t.parameter.value = t.parameter.value.enumerated().map {
          $0.element * 0.9 + Float(($0.offset + k) % 7) * 0.01
        }
      }
      let path = NSTemporaryDirectory() + "lamina-kan-\(label)-\(getpid()).safetensors"
      defer { unlink(path) }
      try m.save(to: path)
      let back = try Model.load(from: path)
      XCTAssertEqual(back.spec, m.spec, label)
      XCTAssertEqual(back.tensors.map(\.name), m.tensors.map(\.name), label)
      XCTAssertEqual(bits(back), bits(m), label)
      let x = inputs(19, width: 3)
      XCTAssertEqual(try back.predict(x), try m.predict(x), label)
    }
  }

  // MARK: - Scratch pool

  func testScratchPoolLendsTheSmallestFittingBufferAndGrowsOnlyWhenNeeded() {
    let pool = ScratchPool()
    var first: UnsafeMutableRawPointer?
    pool.withBytes(1000) { first = $0 }
    // Returned and lent again: the same memory, no new buffer.
    pool.withBytes(100) { XCTAssertEqual($0, first) }
    XCTAssertEqual(pool.idleByteCounts, [1000])
    // Nested borrowers get distinct buffers, each cache-line aligned.
    pool.withBytes(64) { a in
      pool.withBytes(64) { b in
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(Int(bitPattern: b) % ScratchPool.alignment, 0)
      }
    }
    XCTAssertEqual(pool.idleByteCounts.sorted(), [64, 1000])
    // Best fit: a small request takes the small buffer, leaving the large one idle.
    pool.withBytes(10) { _ in XCTAssertEqual(pool.idleByteCounts, [1000]) }
    // Too large for both: the largest grows, nothing new is made.
    pool.withBytes(5000) { _ in XCTAssertEqual(pool.idleByteCounts, [64]) }
    XCTAssertEqual(pool.idleByteCounts.sorted(), [64, 5000])
    // Doubles then floats, both aligned, the floats after the doubles.
    pool.withBuffers(doubles: 3, floats: 5) { d, f in
      XCTAssertEqual(Int(bitPattern: d) % ScratchPool.alignment, 0)
      XCTAssertEqual(Int(bitPattern: f) % ScratchPool.alignment, 0)
      XCTAssertGreaterThanOrEqual(UnsafeRawPointer(f) - UnsafeRawPointer(d), 24)
    }
  }

  /// Forward from many threads at once gives the same bits as alone, for every basis, and
  /// the layers' pools then hold at most one buffer per simultaneous caller.
  func testConcurrentForwardIsIdenticalForEveryBasis() throws {
    for c in Self.cases {
      let m = try Model(
        json: #"{"kind": "kan", "widths": [3, 16, 2], "basis": "\#(c.basis)"\#(c.keys)}"#)
      let x = inputs(600, width: 3, seed: 4)
      let reference = try m.predict(x).map(\.bitPattern)
      let results = UnsafeMutableBufferPointer<Bool>.allocate(capacity: 8)
      defer { results.deallocate() }
      DispatchQueue.concurrentPerform(iterations: 8) { t in
        results[t] = (try? m.predict(x).map(\.bitPattern)) == reference
      }
      XCTAssertTrue(results.allSatisfy { $0 }, c.basis)
    }
  }
}
