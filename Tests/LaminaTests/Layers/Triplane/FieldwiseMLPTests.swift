import Foundation
import XCTest

@testable import Lamina

/// Per-field decoders (`FieldwiseMLP`, the `"triplane"` kind's `"decoder_per_field"`):
/// gradients, agreement with plain MLPs, isolation between fields, initialisation, specs,
/// the model file and a training run.
final class FieldwiseMLPTests: XCTestCase {
  /// A per-field decoder with random weights (not the initialiser's, so every entry matters).
  func makeLayer(
    fields: Int, widths: [Int], activations: [Activation], output: Activation, seed: UInt64 = 3
  ) throws -> FieldwiseMLP {
    let layer = try FieldwiseMLP(
      fields: fields, widths: widths, activations: activations, outputActivation: output)
    var rng = RandomSource(seed: seed)
    for p in layer.parameters {
      for i in p.value.indices { p.value[i] = Float(rng.uniform(-0.8, 0.8)) }
    }
    return layer
  }

  func testGradientsWithRowsOfMixedFields() throws {
    let cases: [(Int, [Int], [Activation], Activation)] = [
      (3, [5, 7, 6, 2], [.tanh, .silu], .identity),
      (2, [4, 3], [], .sigmoid),
      (4, [3, 8, 1], [.softplus(beta: 1, threshold: 20)], .tanh),
    ]
    for (fields, widths, activations, output) in cases {
      let layer = try makeLayer(
        fields: fields, widths: widths, activations: activations, output: output)
      // Rows take field (row * 7) % fields: mixed, not sorted, every field present.
      assertGradientsCorrect(
        of: IndexPinned(layer, field: { ($0 * 7) % fields }), label: "fieldwise \(widths)",
        batch: 13
      ) { _, _, rng in Float(rng.uniform(-1, 1)) }
    }
    // Through the encoding that passes the index on: planes and point gradients.
    var o = TriplaneOptions()
    o.resolutions = [5]
    o.channels = 3
    o.fields = 3
    o.initStd = 0.5
    let e = try TriplaneEncoding(options: o, passesFieldIndex: true)
    var rng = RandomSource(seed: 2)
    e.initialize(rng: &rng)
    assertGradientsCorrect(
      of: IndexPinned(e, field: { $0 % o.fields }), label: "encoding passing the index", batch: 9
    ) {
      _, _, rng in Float(rng.uniform(-0.9, 0.9))
    }
  }

  /// Each field's output equals a plain `"mlp"` model loaded with that field's slices; the
  /// encoding's passed-on index column is the input's, followed by the usual features.
  func testEachFieldIsAPlainMLP() throws {
    let (fields, widths) = (3, [4, 6, 5, 2])
    let layer = try makeLayer(
      fields: fields, widths: widths, activations: [.relu, .tanh], output: .identity)
    let n = 40
    var rng = RandomSource(seed: 9)
    var x = [Float](repeating: 0, count: n * 5)
    for r in 0..<n {
      x[r * 5] = Float(rng.index(below: fields))
      for j in 1..<5 { x[r * 5 + j] = Float(rng.uniform(-1, 1)) }
    }
    x[7 * 5] = 3  // names no field
    x[8 * 5] = 0.5  // not whole
    var y = [Float](repeating: .nan, count: n * 2)
    x.withUnsafeBufferPointer { xb in
      y.withUnsafeMutableBufferPointer { layer.forward(xb.baseAddress!, $0.baseAddress!, count: n) }
    }
    for k in 0..<fields {
      let plain = try Model(
        json:
          #"{"kind": "mlp", "input": 4, "hidden": [6, 5], "activation": ["relu", "tanh"], "output": 2}"#
      )
      for s in 0..<3 {
        let (out, inp) = (widths[s + 1], widths[s])
        plain.tensor(named: "\(2 * s).weight")!.value = Array(
          layer.weights[s].value[(k * out * inp)..<((k + 1) * out * inp)])
        plain.tensor(named: "\(2 * s).bias")!.value = Array(
          layer.biases[s].value[(k * out)..<((k + 1) * out)])
      }
      for r in 0..<n where x[r * 5] == Float(k) {
        let expected = try plain.predict(Array(x[(r * 5 + 1)..<(r * 5 + 5)]))
        for j in 0..<2 {
          XCTAssertEqual(y[r * 2 + j], expected[j], accuracy: 1e-5, "field \(k) row \(r)")
        }
      }
    }
    XCTAssertEqual(Array(y[14..<18]), [0, 0, 0, 0], "rows naming no field give zeros")

    // The encoding: column 0 is the index, the rest the plain encoding's features.
    var o = TriplaneOptions()
    o.resolutions = [4]
    o.channels = 2
    o.fields = 2
    o.fourier = 1
    o.initStd = 0.3
    let plainEncoding = try TriplaneEncoding(options: o)
    let passing = try TriplaneEncoding(options: o, passesFieldIndex: true)
    var prng = RandomSource(seed: 4)
    plainEncoding.initialize(rng: &prng)
    passing.levels[0].value = plainEncoding.levels[0].value
    XCTAssertEqual(passing.outputDim, plainEncoding.outputDim + 1)
    let points: [Float] = [1, 0.2, -0.3, 0.4, 0, -0.7, 0.1, 0.5, 1, 0.1, 0.1, 0.1]
    let a = try Model(kind: "test", spec: .null, layers: [plainEncoding], inputDim: 4).predict(
      points)
    let b = try Model(kind: "test", spec: .null, layers: [passing], inputDim: 4).predict(points)
    let w = plainEncoding.outputDim
    for r in 0..<3 {
      XCTAssertEqual(b[r * (w + 1)], points[r * 4])
      XCTAssertEqual(
        Array(b[(r * (w + 1) + 1)..<((r + 1) * (w + 1))]), Array(a[(r * w)..<((r + 1) * w)]))
    }
    XCTAssertThrowsError(try TriplaneEncoding(options: TriplaneOptions(), passesFieldIndex: true))
  }

  static let perFieldSpec =
    #"{"kind": "triplane", "resolution": 6, "channels": 4, "fields": 2, "init_std": 0.2, "decoder": {"hidden": [8, 8], "activation": "tanh"}, "decoder_per_field": true, "seed": 7}"#

  func testLossOnFieldZeroLeavesFieldOneUntouched() throws {
    let m = try Model(json: Self.perFieldSpec)
    var rng = RandomSource(seed: 1)
    var x: [Float] = []
    var y: [Float] = []
    for _ in 0..<32 {
      x += [0] + (0..<3).map { _ in Float(rng.uniform(-1, 1)) }
      y.append(Float(rng.uniform(-1, 1)))
    }
    // Gradients: field 1's slices are exactly zero, field 0's are not.
    let decoder = try XCTUnwrap(m.layers[1] as? FieldwiseMLP)
    for p in m.parameters { p.gradient = [Float](repeating: 0, count: p.count) }
    let n = 32
    let hidden = m.layers[0].outputDim
    var features = [Float](repeating: 0, count: n * hidden)
    var out = [Float](repeating: 0, count: n)
    x.withUnsafeBufferPointer { xb in
      features.withUnsafeMutableBufferPointer {
        m.layers[0].forward(xb.baseAddress!, $0.baseAddress!, count: n)
      }
    }
    features.withUnsafeBufferPointer { fb in
      out.withUnsafeMutableBufferPointer {
        decoder.forward(fb.baseAddress!, $0.baseAddress!, count: n)
      }
    }
    let dy = zip(out, y).map { $0 - $1 }
    var dfeatures = [Float](repeating: .nan, count: n * hidden)
    features.withUnsafeBufferPointer { fb in
      out.withUnsafeBufferPointer { ob in
        dy.withUnsafeBufferPointer { db in
          dfeatures.withUnsafeMutableBufferPointer { dfb in
            decoder.backward(
              fb.baseAddress!, ob.baseAddress!, db.baseAddress!, dfb.baseAddress!, count: n,
              parameterGradients: true)
          }
        }
      }
    }
    XCTAssertTrue(stride(from: 0, to: n * hidden, by: hidden).allSatisfy { dfeatures[$0] == 0 })
    XCTAssertTrue(dfeatures.allSatisfy(\.isFinite))
    for (s, (w, b)) in zip(decoder.weights, decoder.biases).enumerated() {
      let (wc, bc) = (w.count / 2, b.count / 2)
      XCTAssertTrue(w.gradient[wc...].allSatisfy { $0 == 0 }, "stage \(s) weight, field 1")
      XCTAssertTrue(b.gradient[bc...].allSatisfy { $0 == 0 }, "stage \(s) bias, field 1")
      XCTAssertTrue(w.gradient[..<wc].contains { $0 != 0 }, "stage \(s) weight, field 0")
    }
    // Training steps on field 0's rows: field 1's decoder (and planes) keep their values.
    let before = m.tensors.map { ($0.name, $0.parameter.value) }
    let trainer = try Trainer(
      model: m, json: #"{"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "seed": 1}"#)
    for _ in 0..<3 { try trainer.step(x: x, y: y) }
    for (name, old) in before {
      let new = m.tensor(named: name)!.value
      let half = old.count / 2  // field-major tensors: field 1 is the second half
      XCTAssertEqual(Array(new[half...]), Array(old[half...]), "\(name): field 1 changed")
      XCTAssertNotEqual(Array(new[..<half]), Array(old[..<half]), "\(name): field 0 unchanged")
    }
  }

  func testSpecInitialisationAndModelFile() throws {
    let m = try Model(json: Self.perFieldSpec)
    XCTAssertEqual(m.spec["decoder_per_field"], .bool(true))
    XCTAssertEqual(
      m.tensors.map(\.name),
      ["0.planes", "1.0.weight", "1.0.bias", "1.1.weight", "1.1.bias", "1.2.weight", "1.2.bias"])
    XCTAssertEqual(m.tensor(named: "1.0.weight")?.shape, [2, 8, 4])
    XCTAssertEqual(m.tensor(named: "1.0.bias")?.shape, [2, 8])
    XCTAssertEqual(m.tensor(named: "1.2.weight")?.shape, [2, 1, 8])
    XCTAssertEqual(m.layers.count, 2)
    XCTAssertEqual(m.inputDim, 4)
    // The shared model of the same seed: same planes; its decoder is field 0's start.
    let shared = try Model(json: Self.perFieldSpec.replacingOccurrences(of: "true", with: "false"))
    XCTAssertEqual(shared.spec["decoder_per_field"], .bool(false))
    XCTAssertEqual(shared.tensor(named: "0.planes")!.value, m.tensor(named: "0.planes")!.value)
    for s in 0..<3 {
      let w = m.tensor(named: "1.\(s).weight")!.value
      let b = m.tensor(named: "1.\(s).bias")!.value
      let sw = shared.tensor(named: "\(2 * s + 1).weight")!.value
      let sb = shared.tensor(named: "\(2 * s + 1).bias")!.value
      XCTAssertEqual(Array(w[..<sw.count]), sw, "stage \(s): field 0 starts as the shared decoder")
      XCTAssertEqual(Array(b[..<sb.count]), sb)
      XCTAssertNotEqual(Array(w[sw.count...]), sw, "stage \(s): field 1 is drawn on")
    }
    // Field k's start does not depend on how many fields follow it.
    let three = try Model(
      json: Self.perFieldSpec.replacingOccurrences(of: #""fields": 2"#, with: #""fields": 3"#))
    let w2 = m.tensor(named: "1.1.weight")!.value
    XCTAssertEqual(Array(three.tensor(named: "1.1.weight")!.value[..<w2.count]), w2)
    // Rebuilding from the full spec gives the same model.
    let again = try Model(spec: m.spec)
    XCTAssertEqual(again.spec, m.spec)
    for (a, b) in zip(again.parameters, m.parameters) { XCTAssertEqual(a.value, b.value) }
    // Save / load keeps outputs bit for bit.
    var rng = RandomSource(seed: 1)
    for p in m.parameters {
      for i in p.value.indices { p.value[i] = Float(rng.uniform(-0.5, 0.5)) }
    }
    var x: [Float] = []
    for r in 0..<50 { x += [Float(r % 2)] + (0..<3).map { _ in Float(rng.uniform(-1.1, 1.1)) } }
    let loaded = try Model.decode(m.encoded())
    XCTAssertEqual(loaded.spec, m.spec)
    XCTAssertEqual(try loaded.predict(x), try m.predict(x))
    XCTAssertEqual(try m.predict(x), try m.predict(x), "deterministic")
    // Upsampling keeps the per-field decoder and the passed-on index.
    let up = try m.triplaneUpsampled(to: 11)
    let (a, b) = (try m.predict(x), try up.predict(x))
    for r in a.indices where x[(r * 4 + 1)..<(r * 4 + 4)].allSatisfy({ abs($0) <= 1 }) {
      XCTAssertEqual(a[r], b[r], accuracy: 1e-4, "row \(r) (inside the box)")
    }
  }

  func testSpecChoicesAndErrors() throws {
    func error(_ json: String) -> String {
      do {
        _ = try Model(json: json)
        return "no error"
      } catch {
        return (error as? LaminaError)?.message ?? "\(error)"
      }
    }
    let kan = error(
      #"{"kind": "triplane", "resolution": 4, "fields": 2, "decoder": {"kind": "kan", "hidden": [3]}, "decoder_per_field": true}"#
    )
    XCTAssertTrue(kan.contains("decoder_per_field") && kan.contains("KAN"), kan)
    let prelu = error(
      #"{"kind": "triplane", "resolution": 4, "fields": 2, "decoder": {"hidden": [3], "activation": "prelu"}, "decoder_per_field": true}"#
    )
    XCTAssertTrue(prelu.contains("decoder_per_field") && prelu.contains("prelu"), prelu)
    let notBool = error(#"{"kind": "triplane", "resolution": 4, "decoder_per_field": 1}"#)
    XCTAssertTrue(notBool.contains("decoder_per_field"), notBool)
    // One field: accepted, and the same model as the shared decoder.
    let one = try Model(
      json:
        #"{"kind": "triplane", "resolution": 4, "decoder": {"hidden": [5]}, "decoder_per_field": true}"#
    )
    let shared = try Model(
      json: #"{"kind": "triplane", "resolution": 4, "decoder": {"hidden": [5]}}"#)
    XCTAssertEqual(one.spec["decoder_per_field"], .bool(true))
    XCTAssertEqual(one.tensors.map(\.name), shared.tensors.map(\.name))
    for (a, b) in zip(one.parameters, shared.parameters) { XCTAssertEqual(a.value, b.value) }
    // Over the parameter budget: refused before allocating.
    let big = error(
      #"{"kind": "triplane", "resolution": 2, "channels": 1, "fields": 16000000, "decoder": {"hidden": [4096]}, "decoder_per_field": true}"#
    )
    XCTAssertTrue(big.contains("parameters"), big)
  }

  /// Two spheres of different radius fitted at once, each field with its own decoder.
  func testTrainerFitsTwoSpheres() throws {
    func run() throws -> (Float, Float, [Float]) {
      let m = try Model(
        json:
          #"{"kind": "triplane", "resolution": 12, "channels": 8, "fields": 2, "init_std": 0.1, "decoder": {"hidden": [32], "activation": "relu"}, "decoder_per_field": true, "seed": 3}"#
      )
      var rng = RandomSource(seed: 5)
      var x: [Float] = []
      var y: [Float] = []
      for i in 0..<2048 {
        let field = i % 2
        let p = (0..<3).map { _ in Float(rng.uniform(-1, 1)) }
        x += [Float(field)] + p
        y.append((p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).squareRoot() - (field == 0 ? 0.4 : 0.7))
      }
      let trainer = try Trainer(
        model: m,
        json:
          #"{"optimizer": "adam", "learning_rate": 0.01, "batch_size": 256, "epochs": 20, "seed": 1}"#
      )
      let before = try trainer.evaluate(x: x, y: y)
      let after = try trainer.fit(x: x, y: y)
      return (before, after, try m.predict([0, 0.4, 0, 0, 1, 0.4, 0, 0]))
    }
    let (before, after, surface) = try run()
    XCTAssertLessThan(after, before / 10, "loss \(before) -> \(after)")
    // At radius 0.4 field 0 is on its surface, field 1 well inside its own.
    XCTAssertEqual(surface[0], 0, accuracy: 0.1)
    XCTAssertEqual(surface[1], -0.3, accuracy: 0.1)
    let (_, again, surfaceAgain) = try run()
    XCTAssertEqual(after.bitPattern, again.bitPattern, "bit-identical run to run")
    XCTAssertEqual(surface.map(\.bitPattern), surfaceAgain.map(\.bitPattern))
  }
}
