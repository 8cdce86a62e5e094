import Foundation
import XCTest

@testable import Lamina

/// pykan's `base_fun` for B-spline layers (spec key "base_fun": "silu", "identity",
/// "zero"): gradients by finite differences on both forward paths, edges against the
/// definition phi = scale_base * b(x) + scale_sp * spline(x) computed independently, the
/// training passes that reuse forward's blocks, the regulariser's gradient, and the spec
/// (echo, refusal, files, refine, prune, mixed components). Jets: KANJetTests.specs.
final class KANBaseFunctionTests: XCTestCase {
  typealias Base = BSplineKANLayer.BaseFunction

  /// `randomKANLayer`'s tensors in a layer with base function `base`.
  func layer(
    _ base: Base, _ input: Int, _ output: Int, grid: Int, order: Int, nonUniform: Bool = false,
    masked: Bool = false
  ) -> BSplineKANLayer {
    let source = randomKANLayer(
      input, output, grid: grid, order: order, nonUniform: nonUniform, masked: masked)
    var options = source.options
    options.baseFunction = base
    let layer = BSplineKANLayer(input: input, output: output, options: options)
    for (a, b) in zip(source.parameters + source.buffers, layer.parameters + layer.buffers) {
      b.value = a.value
    }
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

  /// The layer's outputs from the definition, in Double: every basis by Cox-de Boor's
  /// recursion on the layer's knots (half-open intervals, as pykan's `B_batch`), b(x) = x
  /// for "identity" and 0 for "zero".
  func reference(_ layer: BSplineKANLayer, _ x: [Float]) -> [Double] {
    let (nIn, nOut, nb, k) = (
      layer.inputDim, layer.outputDim, layer.options.basisCount, layer.options.order
    )
    let kc = layer.options.knotCount
    let n = x.count / nIn
    var y = [Double](repeating: 0, count: n * nOut)
    for r in 0..<n {
      for i in 0..<nIn {
        let v = Double(x[r * nIn + i])
        let t = (0..<kc).map { Double(layer.grid.value[i * kc + $0]) }
        // Degree 0, then raised to k (pykan's B_batch).
        var b = (0..<(kc - 1)).map { v >= t[$0] && v < t[$0 + 1] ? 1.0 : 0.0 }
        if k > 0 {
          for d in 1...k {
            b = (0..<(kc - 1 - d)).map { m in
              (v - t[m]) / (t[m + d] - t[m]) * b[m]
                + (t[m + d + 1] - v) / (t[m + d + 1] - t[m + 1]) * b[m + 1]
            }
          }
        }
        let base: Double
        switch layer.options.baseFunction {
        case .silu: base = v / (1 + exp(-v))
        case .identity: base = v
        case .zero: base = 0
        }
        for j in 0..<nOut {
          let e = i * nOut + j
          var spline = 0.0
          for m in 0..<nb { spline += Double(layer.coef.value[e * nb + m]) * b[m] }
          y[r * nOut + j] +=
            Double(layer.mask.value[e])
            * (Double(layer.scaleBase.value[e]) * base + Double(layer.scaleSp.value[e]) * spline)
        }
      }
    }
    return y
  }

  // MARK: - Gradients

  /// Finite differences for "identity" and "zero": dense path (small grids: cubic uniform,
  /// order 2 non-uniform), sparse path (large grids, several row tasks), order 1, masks,
  /// and x partly outside the extended grid (where only b remains).
  func testGradientCheckIdentityAndZero() {
    var options = GradientCheckOptions()
    options.maxEntriesPerTensor = 40
    let cases: [(Int, Int, Int, Int, Bool, Bool, Int)] = [
      (2, 3, 5, 3, false, false, 7), (3, 2, 7, 2, true, true, 9), (1, 4, 3, 1, false, false, 6),
      (3, 5, 20, 3, false, true, 300), (2, 9, 40, 2, true, false, 11),
    ]
    for base in [Base.identity, .zero] {
      for (i, o, g, k, nonUniform, masked, n) in cases {
        let layer = self.layer(
          base, i, o, grid: g, order: k, nonUniform: nonUniform, masked: masked)
        let path = layer.usesDenseBases ? "dense" : "sparse"
        assertGradientsCorrect(
          of: layer, label: "\(base) \(i)->\(o) G \(g) k \(k) \(path) masked \(masked)",
          batch: n, options: options
        ) { _, _, rng in Float(rng.uniform(-3.2, 3.2)) }
      }
    }
  }

  /// With "zero", scale_base has no effect, so its gradient is exactly 0, and outside the
  /// extended grid the layer outputs exactly 0 and passes no gradient back.
  func testZeroBaseLeavesScaleBaseWithoutGradient() {
    for g in [5, 30] {
      let layer = self.layer(.zero, 3, 4, grid: g, order: 3)
      var rng = RandomSource(seed: 3)
      let n = 50
      let x = (0..<(n * 3)).map { e in e % 7 == 0 ? Float(9) : Float(rng.uniform(-2, 2)) }
      let y = forward(layer, x)
      let dy = (0..<(n * 4)).map { _ in Float(rng.uniform(-1, 1)) }
      var dx = [Float](repeating: .nan, count: n * 3)
      for p in layer.parameters { p.gradient = [Float](repeating: 0, count: p.count) }
      x.withUnsafeBufferPointer { xb in
        y.withUnsafeBufferPointer { yb in
          dy.withUnsafeBufferPointer { db in
            dx.withUnsafeMutableBufferPointer {
              layer.backward(
                xb.baseAddress!, yb.baseAddress!, db.baseAddress!, $0.baseAddress!, count: n,
                parameterGradients: true)
            }
          }
        }
      }
      XCTAssertTrue(layer.scaleBase.gradient.allSatisfy { $0 == 0 }, "G \(g)")
      XCTAssertTrue(layer.coef.gradient.contains { $0 != 0 }, "G \(g)")
      let outside = forward(layer, [9, -9, 50])
      XCTAssertEqual(outside, [Float](repeating: 0, count: 4), "G \(g)")
      for e in stride(from: 0, to: n * 3, by: 7) { XCTAssertEqual(dx[e], 0, "G \(g) dx[\(e)]") }
    }
  }

  /// A mixed layer whose B-spline component has "identity" or "zero": the component is
  /// built with it, and the mixture's gradients match finite differences.
  func testMixedComponentsTakeTheBaseFunction() throws {
    for base in [Base.identity, .zero] {
      let model = try Model(
        json: """
          {"kind": "kan", "widths": [3, 4], "basis": "mixed", "bases": [{"name": "bspline", \
          "base_fun": "\(base.rawValue)"}, "chebyshev"], "seed": 5}
          """)
      let mixed = try XCTUnwrap(model.layers[0] as? MixedKANLayer)
      let component = try XCTUnwrap(mixed.prototypes.first as? BSplineKANLayer)
      XCTAssertEqual(component.options.baseFunction, base)
      assertGradientsCorrect(of: mixed, label: "mixed with \(base)", batch: 9) { _, _, rng in
        Float(rng.uniform(-3, 3))
      }
    }
  }

  // MARK: - Values

  /// With "identity" each edge is scale_base * x + scale_sp * spline(x) (and with "zero"
  /// scale_sp * spline(x)), from an independent Cox-de Boor evaluation, on both paths,
  /// inside and outside the grid; the edge curves equal it too, and so does a one-input
  /// layer's output.
  func testEdgesEqualTheDefinition() {
    for base in [Base.identity, .zero, .silu] {
      for (g, k, nonUniform) in [(5, 3, false), (4, 2, true), (30, 3, false), (25, 1, true)] {
        let layer = self.layer(base, 3, 4, grid: g, order: k, nonUniform: nonUniform, masked: true)
        var rng = RandomSource(seed: 9)
        let x = (0..<(60 * 3)).map { e in
          e % 11 == 0 ? Float(rng.uniform(2.5, 6)) : Float(rng.uniform(-2.4, 2.4))
        }
        let label = "\(base) G \(g) k \(k) \(layer.usesDenseBases ? "dense" : "sparse")"
        let y = forward(layer, x)
        for (e, (a, b)) in zip(y, reference(layer, x)).enumerated() {
          XCTAssertEqual(Double(a), b, accuracy: 2e-5 * max(1, abs(b)), "\(label) y[\(e)]")
        }
        // Edge (1, 2) alone against the definition restricted to it.
        let single = BSplineKANLayer(input: 1, output: 1, options: layer.options)
        let (nb, kc, e) = (layer.options.basisCount, layer.options.knotCount, 1 * 4 + 2)
        single.coef.value = Array(layer.coef.value[(e * nb)..<((e + 1) * nb)])
        single.scaleBase.value = [layer.scaleBase.value[e]]
        single.scaleSp.value = [layer.scaleSp.value[e]]
        single.mask.value = [layer.mask.value[e]]
        single.grid.value = Array(layer.grid.value[kc..<(2 * kc)])
        let column = (0..<60).map { x[$0 * 3 + 1] }
        var curve = [Float](repeating: .nan, count: 60)
        column.withUnsafeBufferPointer { cb in
          curve.withUnsafeMutableBufferPointer {
            layer.edgeValues(
              input: 1, output: 2, at: cb.baseAddress!, count: 60, into: $0.baseAddress!)
          }
        }
        XCTAssertEqual(curve, forward(single, column), "\(label): edge curve vs one-edge layer")
        for (r, (a, b)) in zip(curve, reference(single, column)).enumerated() {
          XCTAssertEqual(Double(a), b, accuracy: 2e-5 * max(1, abs(b)), "\(label) curve[\(r)]")
        }
        if base == .identity {
          // Outside the extended grid the edge is exactly scale_base * mask * x.
          let far: [Float] = [7, -8.5]
          var out = [Float](repeating: .nan, count: 2)
          far.withUnsafeBufferPointer { fb in
            out.withUnsafeMutableBufferPointer {
              layer.edgeValues(
                input: 1, output: 2, at: fb.baseAddress!, count: 2, into: $0.baseAddress!)
            }
          }
          let w = layer.scaleBase.value[e] * layer.mask.value[e]
          XCTAssertEqual(out, far.map { $0 * w }, label)
        }
      }
    }
  }

  // MARK: - Training passes

  /// A training forward (which keeps b' in its cache for backward) then backward gives the
  /// plain passes' gradients bit for bit, on both paths.
  func testTrainingPassesMatchPlainPasses() throws {
    for base in ["identity", "zero"] {
      for grid in [5, 100] {
        let model = try Model(
          json: """
            {"kind": "kan", "widths": [4, 6, 3], "grid": \(grid), "base_fun": "\(base)", "seed": 3}
            """)
        let n = 300
        var rng = RandomSource(seed: 22)
        let x = (0..<(n * 4)).map { _ in Float(rng.uniform(-2.5, 2.5)) }
        let dy = (0..<(n * 3)).map { _ in Float(rng.uniform(-1, 1)) }
        func pass(keep: Bool) -> [[UInt32]] {
          let ws = Workspace()
          for p in model.parameters { p.gradient = [Float](repeating: 0, count: p.count) }
          return x.withUnsafeBufferPointer { xb in
            model.forward(xb.baseAddress!, count: n, workspace: ws, keep: keep)
            ws.gradientOut.update(from: dy, count: dy.count)
            let dx = model.backward(
              xb.baseAddress!, count: n, workspace: ws, parameterGradients: true)
            return model.parameters.map { $0.gradient.map(\.bitPattern) }
              + [(0..<(n * 4)).map { dx[$0].bitPattern }]
          }
        }
        XCTAssertEqual(pass(keep: true), pass(keep: false), "\(base) grid \(grid)")
      }
    }
  }

  /// The trainer's loss + lamb * reg with "identity" (pykan's regulariser scores phi with
  /// the identity base) and its gradient, every parameter, by central differences. (No
  /// "lamb_coef": its |coef| has kinks at the small initial coefficients that differences
  /// straddle; it does not involve b.) The value against numpy: test_kan_base_fun.py.
  func testRegularizedObjectiveGradientWithIdentity() throws {
    let m = try Model(
      json: #"{"kind": "kan", "widths": [2, 3, 1], "grid": 4, "base_fun": "identity", "seed": 4}"#
    )
    let trainer = try Trainer(
      model: m,
      json:
        #"{"lamb": 0.05, "lamb_l1": 1, "lamb_entropy": 2, "optimizer": "sgd"}"#)
    var rng = RandomSource(seed: 6)
    let n = 40
    let x = (0..<(n * 2)).map { _ in Float(rng.uniform(-1, 1)) }
    let y = (0..<n).map { Float(sin(Double($0))) }
    func objective() throws -> Float {
      try x.withUnsafeBufferPointer { xb in
        try y.withUnsafeBufferPointer { yb in
          try trainer.lossAndGradient(xb.baseAddress!, yb.baseAddress!, n).loss
        }
      }
    }
    let total = try objective()
    let reg = try m.kanRegularization(x, settings: trainer.config.regularization)
    let fit = try x.withUnsafeBufferPointer { xb in
      try y.withUnsafeBufferPointer {
        try trainer.evaluate(xb.baseAddress!, $0.baseAddress!, count: n)
      }
    }
    XCTAssertEqual(Double(total), Double(fit) + 0.05 * reg, accuracy: 1e-5 * Double(total))
    let analytic = m.parameters.map(\.gradient)
    for (pi, p) in m.parameters.enumerated() {
      for e in 0..<p.count {
        let v = p.value[e]
        let h: Float = 2e-3
        p.value[e] = v + h
        let up = try objective()
        p.value[e] = v - h
        let down = try objective()
        p.value[e] = v
        let fd = (up - down) / (2 * h)
        let g = analytic[pi][e]
        XCTAssertEqual(fd, g, accuracy: 2e-2 * max(0.05, abs(g)), "\(p.name)[\(e)]")
      }
    }
  }

  // MARK: - Spec

  /// The full spec writes "base_fun" (default "silu") after "scale_base_sigma"; files,
  /// refine, prune and mixed components keep it.
  func testSpecEchoFilesRefinePruneAndMixed() throws {
    let plain = try Model(json: #"{"kind": "kan", "widths": [2, 1]}"#)
    XCTAssertEqual(plain.spec["base_fun"], .string("silu"))
    let m = try Model(
      json: #"{"kind": "kan", "widths": [2, 3, 1], "base_fun": "identity", "seed": 2}"#)
    XCTAssertEqual(m.spec["base_fun"], .string("identity"))
    let x: [Float] = [0.1, -0.7, 1.5, 0.2, -3, 0.9, 4, -5]
    let path = NSTemporaryDirectory() + "lamina-base-fun-\(getpid()).safetensors"
    defer { unlink(path) }
    try m.save(to: path)
    let back = try Model.load(from: path)
    XCTAssertEqual(back.spec, m.spec)
    XCTAssertEqual(try back.predict(x).map(\.bitPattern), try m.predict(x).map(\.bitPattern))
    XCTAssertNotEqual(try plain.predict(x), try m.predict(x))

    let refined = try m.refine(grid: 10)
    XCTAssertEqual(refined.spec["base_fun"], .string("identity"))
    for layer in refined.layers {
      XCTAssertEqual((layer as? BSplineKANLayer)?.options.baseFunction, .identity)
    }
    let pruned = try x.withUnsafeBufferPointer {
      try m.kanPrune(samples: $0.baseAddress!, count: 4, nodeThreshold: 0, edgeThreshold: 0)
    }
    XCTAssertEqual(pruned.spec["base_fun"], .string("identity"))
    XCTAssertEqual(try pruned.predict(x), try m.predict(x))

    let sequential = try Model(
      json:
        #"{"kind": "sequential", "input": 2, "layers": [{"type": "kan", "output": 2, "base_fun": "zero"}]}"#
    )
    XCTAssertEqual((sequential.layers[0] as? BSplineKANLayer)?.options.baseFunction, .zero)
    XCTAssertTrue(sequential.spec.text.contains(#""base_fun": "zero""#), sequential.spec.text)

    let mixed = try Model(
      json:
        #"{"kind": "kan", "widths": [2, 1], "basis": "mixed", "bases": [{"name": "bspline", "base_fun": "identity"}, "chebyshev"]}"#
    )
    XCTAssertTrue(mixed.spec.text.contains(#""base_fun": "identity""#), mixed.spec.text)
  }

  /// An unknown name is refused with a message that names the key, the value and the
  /// known names; so is a value that is not a string.
  func testUnknownBaseFunctionIsRefused() {
    for json in [
      #"{"kind": "kan", "widths": [2, 1], "base_fun": "tanh"}"#,
      #"{"kind": "kan", "widths": [2, 1], "basis": ["bspline"], "base_fun": "silu"}"#,
      #"{"kind": "kan", "widths": [2, 1], "basis": [{"name": "bspline", "base_fun": "SiLU"}]}"#,
      #"{"kind": "kan", "widths": [2, 1], "base_fun": 1}"#,
    ] {
      XCTAssertThrowsError(try Model(json: json), json) { error in
        let e = error as? LaminaError
        XCTAssertEqual(e?.code, .invalidArgument, json)
        XCTAssertTrue(e?.message.contains("\"base_fun\"") ?? false, "\(json): \(e?.message ?? "")")
      }
    }
    XCTAssertThrowsError(
      try Model(json: #"{"kind": "kan", "widths": [2, 1], "base_fun": "tanh"}"#)
    ) { error in
      let message = (error as? LaminaError)?.message ?? ""
      XCTAssertTrue(
        message.contains(#"unknown "base_fun" "tanh" (known: "silu", "identity", "zero")"#), message
      )
    }
  }
}
