import XCTest

@testable import Lamina

/// Model building, inference, input gradients and persistence.
final class ModelTests: XCTestCase {
  func mlp(_ json: String) throws -> Model { try Model(json: json) }

  func testMLPLayoutMatchesTorchSequential() throws {
    let m = try mlp(#"{"kind": "mlp", "input": 3, "hidden": [8, 4], "output": 2}"#)
    XCTAssertEqual(
      m.tensors.map(\.name), ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"])
    XCTAssertEqual(m.tensor(named: "0.weight")?.shape, [8, 3])
    XCTAssertEqual(m.tensor(named: "4.bias")?.shape, [2])
    XCTAssertEqual(m.parameterCount, 3 * 8 + 8 + 8 * 4 + 4 + 4 * 2 + 2)
    XCTAssertEqual(m.inputDim, 3)
    XCTAssertEqual(m.outputDim, 2)
  }

  func testFullSpecRecreatesIdenticalModel() throws {
    let a = try mlp(
      #"{"kind": "mlp", "input": 2, "hidden": [5], "output": 1, "activation": "tanh", "seed": 7}"#)
    let b = try Model(spec: a.spec)
    XCTAssertEqual(a.spec, b.spec)
    for (x, y) in zip(a.parameters, b.parameters) { XCTAssertEqual(x.value, y.value) }
  }

  func testSeedsAreReproducibleAndDistinct() throws {
    let a = try mlp(#"{"kind": "mlp", "input": 2, "hidden": [5], "output": 1, "seed": 1}"#)
    let b = try mlp(#"{"kind": "mlp", "input": 2, "hidden": [5], "output": 1, "seed": 1}"#)
    let c = try mlp(#"{"kind": "mlp", "input": 2, "hidden": [5], "output": 1, "seed": 2}"#)
    XCTAssertEqual(a.parameters[0].value, b.parameters[0].value)
    XCTAssertNotEqual(a.parameters[0].value, c.parameters[0].value)
  }

  func testInitializerScales() throws {
    // he_uniform bound sqrt(6/fan_in); xavier bound sqrt(6/(in+out)); zeros.
    let he = try mlp(
      #"{"kind": "mlp", "input": 100, "hidden": [50], "output": 1, "init": "he_uniform"}"#)
    let w = he.tensor(named: "0.weight")!.value
    let bound = Float((6.0 / 100).squareRoot())
    XCTAssertLessThanOrEqual(w.map(abs).max()!, bound)
    XCTAssertGreaterThan(w.map(abs).max()!, 0.9 * bound)
    let z = try mlp(#"{"kind": "mlp", "input": 4, "hidden": [3], "output": 1, "init": "zeros"}"#)
    XCTAssertTrue(z.tensor(named: "0.weight")!.value.allSatisfy { $0 == 0 })
    let n = try mlp(
      #"{"kind": "mlp", "input": 400, "hidden": [400], "output": 1, "init": "he_normal"}"#)
    let v = n.tensor(named: "0.weight")!.value
    let variance = v.reduce(0) { $0 + Double($1 * $1) } / Double(v.count)
    XCTAssertEqual(variance, 2.0 / 400, accuracy: 0.1 * 2.0 / 400)
  }

  func testSequentialMatchesMLP() throws {
    let a = try mlp(
      #"{"kind": "mlp", "input": 3, "hidden": [6], "output": 2, "activation": "tanh", "seed": 3}"#)
    let b = try mlp(
      #"{"kind": "sequential", "input": 3, "seed": 3, "layers": [{"type": "dense", "output": 6}, {"type": "activation", "name": "tanh"}, {"type": "dense", "output": 2}]}"#
    )
    for (x, y) in zip(a.parameters, b.parameters) { XCTAssertEqual(x.value, y.value) }
    let x: [Float] = [0.1, -0.2, 0.3, 0.5, 0.5, -1]
    XCTAssertEqual(try a.predict(x), try b.predict(x))
  }

  func testPredictMatchesHandComputation() throws {
    let m = try mlp(#"{"kind": "mlp", "input": 2, "hidden": [], "output": 1}"#)
    m.tensor(named: "0.weight")!.value = [2, -3]
    m.tensor(named: "0.bias")!.value = [0.5]
    XCTAssertEqual(try m.predict([1, 1, 0.5, -2]), [-0.5, 7.5])
  }

  func testLargeBatchPredictUsesChunksConsistently() throws {
    let m = try mlp(
      #"{"kind": "mlp", "input": 3, "hidden": [300], "output": 2, "activation": "tanh"}"#)
    var rng = RandomSource(seed: 5)
    let n = m.chunkRows * 2 + 17
    let x = (0..<(n * 3)).map { _ in Float(rng.uniform(-1, 1)) }
    let all = try m.predict(x)
    let tail = try m.predict(Array(x[((n - 1) * 3)...]))
    // One row alone takes the small-batch path, so agreement is to rounding (as in PyTorch,
    // results may differ in the last bits between batch sizes, never between runs).
    for (a, b) in zip(all[((n - 1) * 2)...], tail) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    let again = try m.predict(x)
    XCTAssertEqual(all, again)
  }

  /// A plain MLP predicts a large batch in parallel runs of fixed chunks: each chunk must
  /// equal the same rows predicted alone (one chunk, one thread), bit for bit, and match a
  /// float64 reference to rounding.
  func testParallelChunkPredictEqualsChunksAlone() throws {
    let m = try mlp(#"{"kind": "mlp", "input": 3, "hidden": [64, 64], "output": 2}"#)
    var rng = RandomSource(seed: 11)
    // (4M - 1) / (64 x (64 + 2 x 8)) = 819 rows per chunk: each product and activation
    // pass of a chunk stays under RowPlan.chunkWork.
    let rows = try XCTUnwrap(m.parallelPredictRows())
    XCTAssertEqual(rows, 819)
    let n = rows * 9 + 333  // 10 chunks over 8 tasks, the last one short
    let x = (0..<(n * 3)).map { _ in Float(rng.uniform(-1, 1)) }
    let all = try m.predict(x)
    for chunk in [0, 4, 9] {
      let first = chunk * rows
      let count = min(rows, n - first)
      let alone = try m.predict(Array(x[(first * 3)..<((first + count) * 3)]))
      XCTAssert(Array(all[(first * 2)..<((first + count) * 2)]) == alone, "chunk \(chunk)")
    }
    // float64 reference for a few rows
    let w0 = m.tensor(named: "0.weight")!.value
    let b0 = m.tensor(named: "0.bias")!.value
    let w1 = m.tensor(named: "2.weight")!.value
    let b1 = m.tensor(named: "2.bias")!.value
    let w2 = m.tensor(named: "4.weight")!.value
    let b2 = m.tensor(named: "4.bias")!.value
    func dense(_ v: [Double], _ w: [Float], _ b: [Float], _ out: Int, relu: Bool) -> [Double] {
      (0..<out).map { o in
        var s = Double(b[o])
        for i in 0..<v.count { s += Double(w[o * v.count + i]) * v[i] }
        return relu ? max(s, 0) : s
      }
    }
    for r in [0, rows - 1, rows, 5000, n - 1] {
      let v = (0..<3).map { Double(x[r * 3 + $0]) }
      let y = dense(
        dense(dense(v, w0, b0, 64, relu: true), w1, b1, 64, relu: true), w2, b2, 2, relu: false)
      for o in 0..<2 { XCTAssertEqual(Double(all[r * 2 + o]), y[o], accuracy: 1e-4, "row \(r)") }
    }
  }

  func testInputGradientMatchesFiniteDifferences() throws {
    let m = try mlp(
      #"{"kind": "mlp", "input": 3, "hidden": [16, 16], "output": 2, "activation": "tanh"}"#)
    let x: [Float] = [0.3, -0.4, 0.7, -0.1, 0.2, 0.05]
    var jac = [Float](repeating: 0, count: 2 * 2 * 3)
    try x.withUnsafeBufferPointer { xb in
      try jac.withUnsafeMutableBufferPointer {
        try m.inputGradient(xb.baseAddress!, count: 2, into: $0.baseAddress!)
      }
    }
    let h: Float = 1e-2
    for s in 0..<2 {
      for i in 0..<3 {
        var xp = x
        var xm = x
        xp[s * 3 + i] += h
        xm[s * 3 + i] -= h
        let yp = try m.predict(xp)
        let ym = try m.predict(xm)
        for k in 0..<2 {
          let numeric = (yp[s * 2 + k] - ym[s * 2 + k]) / (2 * h)
          XCTAssertEqual(
            jac[(s * 2 + k) * 3 + i], numeric, accuracy: 2e-3, "sample \(s) out \(k) in \(i)")
        }
      }
    }
  }

  func testRejectsNonFiniteInputs() throws {
    let m = try mlp(#"{"kind": "mlp", "input": 2, "hidden": [3], "output": 1}"#)
    XCTAssertThrowsError(try m.predict([1, .nan])) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .numeric)
    }
    XCTAssertThrowsError(try m.predict([.infinity, 1])) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .numeric)
    }
  }

  func testSpecErrorsNameTheProblem() {
    let cases: [(String, String)] = [
      (#"{"kind": "mlp", "input": 2, "output": 1, "hiden": [3]}"#, "unknown key \"hiden\""),
      (#"{"kind": "cnn", "input": 2, "output": 1}"#, "unknown kind"),
      (#"{"kind": "mlp", "output": 1}"#, "\"input\""),
      (#"{"kind": "mlp", "input": 0, "output": 1}"#, "\"input\""),
      (#"{"kind": "mlp", "input": 2.5, "output": 1}"#, "integer"),
      (#"{"kind": "mlp", "input": 2, "output": 1, "hidden": [3, -1]}"#, "hidden[1]"),
      (
        #"{"kind": "mlp", "input": 2, "output": 1, "hidden": [3], "activation": ["relu", "relu"]}"#,
        "2 activations"
      ),
      (#"{"kind": "mlp", "input": 2, "output": 1, "init": "magic"}"#, "unknown initializer"),
      (#"{"kind": "mlp", "input": 60000, "hidden": [60000, 60000], "output": 1}"#, "parameters"),
      (#"{"kind": "mlp", "input": 2, "output": 1"#, "malformed"),
      (#"[1, 2]"#, "JSON object"),
    ]
    for (json, fragment) in cases {
      XCTAssertThrowsError(try Model(json: json), json) { error in
        let message = (error as? LaminaError)?.message ?? ""
        XCTAssertTrue(
          message.contains(fragment), "\(json): message \"\(message)\" lacks \"\(fragment)\"")
      }
    }
  }

  func testDeeplyNestedJSONIsAnErrorNotACrash() {
    let json = String(repeating: "[", count: 100_000)
    XCTAssertThrowsError(try Model(json: json))
  }

  func testSaveLoadRoundTripIsBitExact() throws {
    let m = try mlp(
      #"{"kind": "mlp", "input": 3, "hidden": [7], "output": 2, "activation": "tanh", "seed": 9}"#)
    let path = NSTemporaryDirectory() + "lamina-roundtrip-\(getpid()).safetensors"
    defer { unlink(path) }
    try m.save(to: path)
    let back = try Model.load(from: path)
    XCTAssertEqual(back.spec, m.spec)
    for (a, b) in zip(m.parameters, back.parameters) { XCTAssertEqual(a.value, b.value) }
  }

  func testEveryTruncationFailsCleanly() throws {
    let m = try mlp(#"{"kind": "mlp", "input": 2, "hidden": [3], "output": 1}"#)
    let bytes = m.encoded()
    XCTAssertNoThrow(try Model.decode(bytes))
    for length in 0..<bytes.count {
      XCTAssertThrowsError(try Model.decode(Array(bytes[..<length]))) {
        XCTAssertEqual(($0 as? LaminaError)?.code, .format, "length \(length)")
      }
    }
  }

  func testHostileHeadersAreFormatErrors() throws {
    func file(_ header: String, data: [UInt8] = []) -> [UInt8] {
      let h = Array(header.utf8)
      var n = UInt64(h.count)
      var out: [UInt8] = []
      for _ in 0..<8 {
        out.append(UInt8(n & 0xFF))
        n >>= 8
      }
      return out + h + data
    }
    let huge: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0x80] + Array(repeating: 0x20, count: 16)
    let spec = #"{\"kind\": \"mlp\", \"input\": 1, \"output\": 1}"#
    let cases: [[UInt8]] = [
      huge,
      file("{"),
      file(
        #"{"0.weight": {"dtype": "F64", "shape": [1, 1], "data_offsets": [0, 8]}}"#,
        data: Array(repeating: 0, count: 8)),
      file(
        #"{"0.weight": {"dtype": "F32", "shape": [1, 1], "data_offsets": [0, 400]}}"#,
        data: Array(repeating: 0, count: 4)),
      file(
        #"{"__metadata__": {"spec": "\#(spec)"}, "0.weight": {"dtype": "F32", "shape": [2, 1], "data_offsets": [0, 8]}, "0.bias": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}"#,
        data: Array(repeating: 0, count: 12)),
      file(
        #"{"__metadata__": {"spec": "\#(spec)"}, "0.weight": {"dtype": "F32", "shape": [1, 1], "data_offsets": [0, 4]}, "0.bias": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#,
        data: Array(repeating: 0, count: 8)),
      file(
        #"{"__metadata__": {"spec": "\#(spec)"}, "0.weight": {"dtype": "F32", "shape": [1, 1], "data_offsets": [0, 4]}, "0.bias": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#,
        data: [0, 0, 0x80, 0x7F, 0, 0, 0, 0]),
    ]
    for (i, bytes) in cases.enumerated() {
      XCTAssertThrowsError(try Model.decode(bytes), "case \(i)") {
        XCTAssertEqual(($0 as? LaminaError)?.code, .format, "case \(i): \($0)")
      }
    }
    // The same well-formed file with finite values loads.
    let good = file(
      #"{"__metadata__": {"spec": "\#(spec)"}, "0.weight": {"dtype": "F32", "shape": [1, 1], "data_offsets": [0, 4]}, "0.bias": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#,
      data: [0, 0, 0x80, 0x3F, 0, 0, 0, 0])
    XCTAssertEqual(try Model.decode(good).predict([2]), [2])
  }

  func testFailedSaveKeepsPreviousFile() throws {
    let m = try mlp(#"{"kind": "mlp", "input": 2, "hidden": [3], "output": 1}"#)
    XCTAssertThrowsError(try m.save(to: "/nonexistent-dir/model.safetensors")) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .io)
    }
    // A directory in the way: the rename fails and the temporary file is removed.
    let dir = NSTemporaryDirectory() + "lamina-dir-\(getpid())"
    mkdir(dir, 0o755)
    defer { rmdir(dir) }
    XCTAssertThrowsError(try m.save(to: dir))
    let leftovers = directoryEntries(NSTemporaryDirectory()).filter {
      $0.hasPrefix("lamina-dir-\(getpid()).tmp")
    }
    XCTAssertEqual(leftovers, [], "a temporary file was left behind")
  }

  /// An empty path names no file: refused before the file system is touched (a save to ""
  /// used to write ".tmp-XXXXXX" in the working directory and fail to rename it, .io).
  func testEmptyPathIsAnInvalidArgument() throws {
    let m = try mlp(#"{"kind": "mlp", "input": 2, "hidden": [3], "output": 1}"#)
    let before = directoryEntries(".")
    XCTAssertThrowsError(try m.save(to: "")) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .invalidArgument)
      XCTAssertTrue("\($0)".contains("path is empty"), "\($0)")
    }
    XCTAssertThrowsError(try Model.load(from: "")) {
      XCTAssertEqual(($0 as? LaminaError)?.code, .invalidArgument)
    }
    XCTAssertEqual(directoryEntries(".").sorted(), before.sorted(), "the failed save wrote a file")
  }

  func testCopyIsIndependent() throws {
    let m = try mlp(#"{"kind": "mlp", "input": 2, "hidden": [3], "output": 1}"#)
    let c = m.copy()
    c.tensor(named: "0.bias")!.value = [9, 9, 9]
    XCTAssertNotEqual(m.tensor(named: "0.bias")!.value, [9, 9, 9])
  }
}
