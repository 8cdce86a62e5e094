import XCTest

@testable import Lamina

/// What fitting fields adds to the trainer: distance losses with truncation, the unsigned
/// distance loss, per-tensor learning rates; and field evaluation (slices, grids).
final class FieldTrainingTests: XCTestCase {
  func loss(_ l: Loss, _ p: [Float], _ t: [Float], truncation: Float) -> (Float, [Float]) {
    var g = [Float](repeating: 0, count: p.count)
    let v = p.withUnsafeBufferPointer { pb in
      t.withUnsafeBufferPointer { tb in
        g.withUnsafeMutableBufferPointer {
          l.evaluate(
            pb.baseAddress!, tb.baseAddress!, rows: p.count, columns: 1, truncation: truncation,
            gradient: $0.baseAddress!)
        }
      }
    }
    return (v, g)
  }

  func testTruncatedL1ClampsPredictionAndTarget() {
    // Clamp to [-0.1, 0.1]: (0.05 vs 0.3 -> 0.1): 0.05; (0.5 vs 0.2): both 0.1 -> 0;
    // (-0.02 vs -0.5 -> -0.1): 0.08; (0.0 vs 0.0): 0.
    let p: [Float] = [0.05, 0.5, -0.02, 0]
    let t: [Float] = [0.3, 0.2, -0.5, 0]
    let (v, g) = loss(.l1, p, t, truncation: 0.1)
    XCTAssertEqual(v, (0.05 + 0 + 0.08 + 0) / 4, accuracy: 1e-7)
    // d/dp: -1/4 where p is inside the band and below the target; 0 where p is clamped.
    XCTAssertEqual(g, [-0.25, 0, 0.25, 0])
    // Truncation 0 is the plain loss.
    XCTAssertEqual(loss(.l1, p, t, truncation: 0).0, (0.25 + 0.3 + 0.48 + 0) / 4, accuracy: 1e-7)
    // Truncated MSE gradient matches finite differences inside the band.
    let (_, gm) = loss(.mse, [0.03], [0.08], truncation: 0.1)
    let h: Float = 1e-3
    let fd =
      (loss(.mse, [0.03 + h], [0.08], truncation: 0.1).0
        - loss(.mse, [0.03 - h], [0.08], truncation: 0.1).0) / (2 * h)
    XCTAssertEqual(gm[0], fd, accuracy: 1e-4)
    // Classification losses ignore truncation.
    XCTAssertEqual(
      loss(.bceWithLogits, [2], [1], truncation: 0.1).0,
      loss(.bceWithLogits, [2], [1], truncation: 0).0)
  }

  func testUnsignedDistanceLossFitsAbsoluteValue() {
    let p: [Float] = [0.3, -0.3, -0.1, 0.2]
    let t: [Float] = [0.3, 0.3, 0.2, 0.1]
    let (v, g) = loss(.unsignedDistance, p, t, truncation: 0)
    XCTAssertEqual(v, (0 + 0 + 0.1 + 0.1) / 4, accuracy: 1e-7)
    // |p| below target: push |p| up (p < 0 -> more negative); above: push it down.
    XCTAssertEqual(g[2], 0.25)
    XCTAssertEqual(g[3], 0.25)
    XCTAssertEqual(g[0], 0)
    for i in [2, 3] {
      let h: Float = 1e-3
      var a = p
      var b = p
      a[i] += h
      b[i] -= h
      let fd =
        (loss(.unsignedDistance, a, t, truncation: 0).0
          - loss(.unsignedDistance, b, t, truncation: 0).0) / (2 * h)
      XCTAssertEqual(g[i], fd, accuracy: 1e-3)
    }
  }

  func testPerTensorLearningRates() throws {
    let spec = #"{"kind": "mlp", "input": 2, "hidden": [3], "output": 1, "seed": 1}"#
    let x: [Float] = [0.1, -0.4, 0.7, 0.2]
    let y: [Float] = [0.5, -0.5]
    func stepped(_ json: String) throws -> (Model, Model) {
      let before = try Model(json: spec)
      let model = before.copy()
      let trainer = try Trainer(model: model, json: json)
      try x.withUnsafeBufferPointer { xb in
        try y.withUnsafeBufferPointer { yb in
          _ = try trainer.step(xb.baseAddress!, yb.baseAddress!, count: 2)
        }
      }
      return (before, model)
    }
    // Plain SGD: each tensor moves by rate * gradient, so per-tensor rates scale the moves.
    let (b0, plain) = try stepped(#"{"optimizer": "sgd", "learning_rate": 0.1}"#)
    let (_, grouped) = try stepped(
      #"{"optimizer": "sgd", "learning_rate": 0.1, "learning_rates": {"weight": 0.3, "2.bias": 0}}"#
    )
    for (name, factor) in [("0.weight", 3.0), ("2.weight", 3.0), ("0.bias", 1.0), ("2.bias", 0.0)] {
      let start = b0.tensor(named: name)!.value
      let d1 = zip(plain.tensor(named: name)!.value, start).map { $0 - $1 }
      let d2 = zip(grouped.tensor(named: name)!.value, start).map { $0 - $1 }
      for (a, b) in zip(d1, d2) { XCTAssertEqual(b, a * Float(factor), accuracy: 1e-6, name) }
    }
    // The full config keeps the rates; names that match no tensor, and lbfgs, are refused.
    let model = try Model(json: spec)
    let t = try Trainer(model: model, json: #"{"learning_rates": {"weight": 0.01}}"#)
    XCTAssertEqual(t.config.json["learning_rates"], .object([("weight", .number(0.01))]))
    XCTAssertThrowsError(try Trainer(model: model, json: #"{"learning_rates": {"planes": 0.01}}"#))
    {
      XCTAssertTrue("\($0)".contains("planes"), "\($0)")
    }
    XCTAssertThrowsError(try Trainer(model: model, json: #"{"learning_rates": {"weight": -1}}"#))
    XCTAssertThrowsError(try Trainer(model: model, json: #"{"learning_rates": [1]}"#))
    XCTAssertThrowsError(
      try Trainer(model: model, json: #"{"optimizer": "lbfgs", "learning_rates": {"weight": 1}}"#))
  }

  func testExtractMeshOfALinearFieldIsAPlaneWithExactNormals() throws {
    // f = z - 0.25 (a dense layer): the level set is the plane z = 0.25 across the box, and
    // every normal is +z (toward increasing values).
    let model = try Model(json: #"{"kind": "mlp", "input": 3, "hidden": [], "output": 1}"#)
    model.tensor(named: "0.weight")!.value = [0, 0, 1]
    model.tensor(named: "0.bias")!.value = [-0.25]
    let mesh = try model.extractMesh(resolution: 9)
    XCTAssertEqual(mesh.faceCount, 2 * 8 * 8)
    for v in 0..<mesh.vertexCount {
      XCTAssertEqual(mesh.vertices[3 * v + 2], 0.25, accuracy: 1e-6)
      XCTAssertEqual(mesh.normals[3 * v + 2], 1, accuracy: 1e-6)
    }
    for t in 0..<mesh.faceCount { XCTAssertGreaterThan(mesh.triangleNormal(t).z, 0.99) }
    XCTAssertThrowsError(try model.extractMesh(resolution: 1))
    XCTAssertThrowsError(try model.extractMesh(resolution: 8, channel: 1))
  }

  func testSliceFollowsTheDocumentedLayout() throws {
    // A linear model y = x + 10 y + 100 z reveals which coordinate lands where.
    let model = try Model(json: #"{"kind": "mlp", "input": 3, "hidden": [], "output": 1}"#)
    model.tensor(named: "0.weight")!.value = [1, 10, 100]
    model.tensor(named: "0.bias")!.value = [0]
    // z = 0.5 slice over [-1, 1]^2, 3 x 3: rows follow y, columns x.
    let s = try model.slice(axis: 2, offset: 0.5, resolution: 3)
    XCTAssertEqual(s.count, 9)
    XCTAssertEqual(s[0], -1 - 10 + 50, accuracy: 1e-5)  // (x, y) = (-1, -1)
    XCTAssertEqual(s[1], 0 - 10 + 50, accuracy: 1e-5)  // column 1: x = 0
    XCTAssertEqual(s[3], -1 + 0 + 50, accuracy: 1e-5)  // row 1: y = 0
    // x = 0.25 slice: columns follow y, rows z.
    let sx = try model.slice(axis: 0, offset: 0.25, resolution: 2)
    XCTAssertEqual(sx[1], 0.25 + 10 - 100, accuracy: 1e-5)
    XCTAssertEqual(sx[2], 0.25 - 10 + 100, accuracy: 1e-5)
    XCTAssertThrowsError(try model.slice(axis: 3, offset: 0, resolution: 4))
    XCTAssertThrowsError(try model.slice(axis: 0, offset: .nan, resolution: 4))
    XCTAssertThrowsError(try model.slice(axis: 0, offset: 0, resolution: 0))
    XCTAssertThrowsError(try Model.Box([0, 0, 0, 1, -1, 1]))
    let twoInputs = try Model(json: #"{"kind": "mlp", "input": 2, "hidden": [], "output": 1}"#)
    XCTAssertThrowsError(try twoInputs.slice(axis: 2, offset: 0, resolution: 4))
  }

  func testPlaneRegularisersInTheTrainer() throws {
    // Fitting a sphere with and without plane_tv and plane_l2: the penalised planes end
    // smoother and smaller, and the reported loss includes the penalty.
    let spec =
      #"{"kind": "triplane", "resolution": 16, "channels": 4, "init_std": 0.1, "decoder": {"hidden": [16]}}"#
    var rng = RandomSource(seed: 5)
    let n = 2048
    var x = [Float](repeating: 0, count: 3 * n)
    var y = [Float](repeating: 0, count: n)
    for r in 0..<n {
      for d in 0..<3 { x[3 * r + d] = Float(rng.uniform(-1, 1)) }
      y[r] =
        (x[3 * r] * x[3 * r] + x[3 * r + 1] * x[3 * r + 1] + x[3 * r + 2] * x[3 * r + 2])
        .squareRoot() - 0.5
    }
    func train(_ json: String) throws -> (tv: Double, l2: Double, loss: Float) {
      let model = try Model(json: spec)
      let trainer = try Trainer(model: model, json: json)
      var loss: Float = 0
      try x.withUnsafeBufferPointer { xb in
        try y.withUnsafeBufferPointer { yb in
          for _ in 0..<50 { loss = try trainer.step(xb.baseAddress!, yb.baseAddress!, count: n) }
        }
      }
      let r = model.triplaneEncodings[0].layer.planeRegularization()
      return (r.tv, r.l2, loss)
    }
    let plain = try train(#"{"learning_rate": 0.01}"#)
    let smooth = try train(#"{"learning_rate": 0.01, "plane_tv": 1, "plane_l2": 1}"#)
    XCTAssertLessThan(smooth.tv, plain.tv * 0.5)
    XCTAssertLessThan(smooth.l2, plain.l2 * 0.5)
    // The reported loss is data loss + penalty: above the plain run's, which has none.
    XCTAssertGreaterThan(smooth.loss, 0)
    XCTAssertThrowsError(
      try Trainer(
        model: try Model(json: #"{"kind": "mlp", "input": 3, "output": 1}"#),
        json: #"{"plane_tv": 1}"#))
  }

  /// The fit options' rule: epochs from steps, batch at most the points, the plane rate for
  /// planes tensors unless named, every key checked.
  func testFieldFitOptions() throws {
    let model = try Model(
      json:
        #"{"kind": "triplane", "resolution": [8, 4], "channels": 2, "decoder": {"hidden": [4]}}"#)
    let defaults = try FieldFitOptions(json: .object([]))
    XCTAssertEqual(defaults.steps, 1000)
    XCTAssertEqual(defaults.samples, 500_000)
    XCTAssertEqual(defaults.trainer.loss, .l1)
    XCTAssertEqual(defaults.trainer.batchSize, 16384)
    XCTAssertEqual(defaults.trainer, FieldFitOptions().trainer)
    let config = try defaults.trainerConfig(for: model, count: 50_000)
    XCTAssertEqual(config.batchSize, 16384)
    XCTAssertEqual(config.epochs, 250)  // 4 batches an epoch, 1000 steps
    XCTAssertEqual(config.learningRates.map(\.name), ["0.planes_0", "0.planes_1"])
    XCTAssertEqual(config.learningRates.map(\.rate), [1e-3, 1e-3])
    let own = try FieldFitOptions(
      json: JSONValue.parse(
        #"{"steps": 10, "batch_size": 64, "plane_learning_rate": 0.02, "learning_rates": {"0.planes_1": 0.5}, "validation_split": 0.5, "seed": 3}"#
      ))
    let c2 = try own.trainerConfig(for: model, count: 100)
    XCTAssertEqual(c2.batchSize, 50)  // 50 training points
    XCTAssertEqual(c2.epochs, 10)
    XCTAssertEqual(c2.seed, 3)
    XCTAssertEqual(own.sampling.seed, 3)
    XCTAssertEqual(c2.learningRates.map(\.name), ["0.planes_1", "0.planes_0"])
    XCTAssertEqual(c2.learningRates.map(\.rate), [0.5, 0.02])
    for bad in [
      #"{"epochs": 2}"#, #"{"stepz": 2}"#, #"{"optimizer": "lbfgs"}"#, #"{"steps": 0}"#,
      #"{"samples": 16777217}"#, #"{"sigma": -1}"#, #"{"bounds": [0, 0]}"#, #"[]"#,
      #"{"plane_learning_rate": 2e6}"#,
    ] {
      XCTAssertThrowsError(try FieldFitOptions(json: JSONValue.parse(bad)), bad)
    }
    XCTAssertThrowsError(try defaults.trainerConfig(for: model, count: 0))
  }

  /// fitMesh fits a sphere's mesh well enough that its zero level set is the sphere.
  func testFitMeshOfASphere() throws {
    let sphere = Shape.sphere(center: .zero, radius: 0.5)
    let mesh = try MarchingCubes.extract(
      resolution: (48, 48, 48), lower: SIMD3(repeating: -1), upper: SIMD3(repeating: 1),
      evaluate: { sphere.sdf($0, $1, into: $2) })
    let model = try Model(
      json: #"{"kind": "triplane", "resolution": 16, "channels": 4, "decoder": {"hidden": [16]}}"#)
    var options = FieldFitOptions()
    options.samples = 20000
    options.steps = 200
    options.trainer.batchSize = 2048
    var epochs = 0
    let loss = try model.fitMesh(mesh, options: options) { _ in
      epochs += 1
      return true
    }
    XCTAssertEqual(epochs, 20)  // 10 batches an epoch
    XCTAssertLessThan(loss, 0.02)
    let radii: [Float] = [0.3, 0.45, 0.55, 0.7]
    let values = try model.predict(radii.flatMap { [$0, 0, 0] })
    XCTAssertEqual(values.map { $0 < 0 }, [true, true, false, false], "\(values)")
    XCTAssertThrowsError(
      try Model(json: #"{"kind": "mlp", "input": 2, "output": 1}"#).fitMesh(mesh, options: options))
  }
}
