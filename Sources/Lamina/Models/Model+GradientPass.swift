/// First-order derivative losses on one-output models whose every layer is a
/// `GradientPassLayer` (dense and activation chains: MLPs), by reverse mode over reverse
/// mode: a forward pass, the input-gradient pass (f and grad f), then one reverse sweep
/// through the gradient pass (input to output) and one through the forward pass (output to
/// input). About six products of n rows per dense layer, against 3 (1 + D) for the
/// first-order jet; jets remain the path for second-order terms and for other layers.
extension Model {
  /// f and grad f for `n` rows of `x` into `workspace` (`values`, `inputGradient`), keeping
  /// every layer's output and output gradient for `gradientPassBackward`.
  func gradientPassForward(
    _ x: UnsafePointer<Float>, count n: Int, workspace ws: GradientPassWorkspace
  ) {
    ws.reserve(rows: n, for: self)
    forward(x, count: n, workspace: ws.values)
    let last = layers.count - 1
    ws.outputGradients[last].update(repeating: 1, count: n * outputDim)
    for i in stride(from: last, through: 0, by: -1) {
      let input = i == 0 ? x : UnsafePointer(ws.values.outputs[i - 1])
      let dx = i == 0 ? ws.inputGradient : ws.outputGradients[i - 1]
      gradientLayers![i].gradientStep(
        input, ws.values.outputs[i], ws.outputGradients[i], dx, count: n, table: ws.tables[i])
    }
  }

  /// The model's output for the rows of the last `gradientPassForward`.
  func gradientPassValues(_ ws: GradientPassWorkspace) -> UnsafePointer<Float> {
    UnsafePointer(ws.values.outputs[layers.count - 1])
  }

  /// Adds to every parameter's gradient the gradient of a loss whose adjoints are
  /// `ws.valueAdjoint` (dL/df, n x 1) and `ws.inputGradientAdjoint` (dL/d grad f, n x D),
  /// both filled by the caller after `gradientPassForward` on the same rows of `x`.
  func gradientPassBackward(
    _ x: UnsafePointer<Float>, count n: Int, workspace ws: GradientPassWorkspace
  ) {
    let layerCount = layers.count
    // Through the gradient pass, input side first: the adjoint of each layer's output
    // gradient, and what each layer's input gets from its derivative depending on it.
    var gxBar = UnsafePointer(ws.inputGradientAdjoint)
    var (cur, other) = (ws.sweepA, ws.sweepB)
    for i in 0..<layerCount {
      let layer = gradientLayers![i]
      let input = i == 0 ? x : UnsafePointer(ws.values.outputs[i - 1])
      if layer.gradientDependsOnInput {
        ws.inputAdjoints[i].update(repeating: 0, count: n * layers[i].inputDim)
      }
      layer.gradientAdjoint(
        input, ws.values.outputs[i], ws.outputGradients[i], gxBar, gBar: cur,
        xBar: ws.inputAdjoints[i], count: n, table: ws.tables[i].map { UnsafePointer($0) },
        parameterGradients: true)
      gxBar = UnsafePointer(cur)
      swap(&cur, &other)
    }
    // Through the forward pass, output side first, adding those contributions.
    var yBar = UnsafePointer(ws.valueAdjoint)
    (cur, other) = (ws.sweepA, ws.sweepB)
    for i in stride(from: layerCount - 1, through: 0, by: -1) {
      let input = i == 0 ? x : UnsafePointer(ws.values.outputs[i - 1])
      let dx: UnsafeMutablePointer<Float>? = i == 0 ? nil : cur
      if let dx, layers[i].parameters.isEmpty {
        // No parameters: the same step as the gradient pass's (parallel for activations).
        gradientLayers![i].gradientBackward(
          input, ws.values.outputs[i], yBar, dx, count: n,
          table: ws.tables[i].map { UnsafePointer($0) })
      } else {
        layers[i].backward(
          input, ws.values.outputs[i], yBar, dx, count: n, parameterGradients: true)
      }
      if let dx, i >= 1, gradientLayers![i].gradientDependsOnInput {
        // Layer i's input is layer i - 1's output.
        let extra = ws.inputAdjoints[i]
        for e in 0..<(n * layers[i].inputDim) { dx[e] += extra[e] }
      }
      if let dx { yBar = UnsafePointer(dx) }
      swap(&cur, &other)
    }
  }
}

/// Scratch of the gradient pass: each layer's output (in `values`) and output gradient, the
/// input gradient, the adjoints the caller fills, and the sweeps' buffers; grown on demand.
final class GradientPassWorkspace {
  let values = Workspace()
  private var rows = 0
  private var layerCount = -1
  private(set) var outputGradients: [UnsafeMutablePointer<Float>] = []
  private(set) var inputAdjoints: [UnsafeMutablePointer<Float>] = []
  /// Each layer's derivative table (`GradientPassLayer.gradientTableWidth` per row), or nil.
  private(set) var tables: [UnsafeMutablePointer<Float>?] = []
  private(set) var inputGradient = UnsafeMutablePointer<Float>.allocate(capacity: 1)
  private(set) var valueAdjoint = UnsafeMutablePointer<Float>.allocate(capacity: 1)
  private(set) var inputGradientAdjoint = UnsafeMutablePointer<Float>.allocate(capacity: 1)
  private(set) var sweepA = UnsafeMutablePointer<Float>.allocate(capacity: 1)
  private(set) var sweepB = UnsafeMutablePointer<Float>.allocate(capacity: 1)

  /// Makes room for `need` rows of `model`.
  func reserve(rows need: Int, for model: Model) {
    guard need > rows || layerCount != model.layers.count else { return }
    release()
    rows = max(need, 1)
    layerCount = model.layers.count
    outputGradients = model.layers.map { .allocate(capacity: rows * max($0.outputDim, 1)) }
    inputAdjoints = model.layers.map { .allocate(capacity: rows * max($0.inputDim, 1)) }
    tables = (model.gradientLayers ?? []).map { layer in
      layer.gradientTableWidth > 0 ? .allocate(capacity: rows * layer.gradientTableWidth) : nil
    }
    inputGradient = .allocate(capacity: rows * max(model.inputDim, 1))
    valueAdjoint = .allocate(capacity: rows * max(model.outputDim, 1))
    inputGradientAdjoint = .allocate(capacity: rows * max(model.inputDim, 1))
    sweepA = .allocate(capacity: rows * model.widest)
    sweepB = .allocate(capacity: rows * model.widest)
  }

  private func release() {
    for p in outputGradients + inputAdjoints { p.deallocate() }
    for case let p? in tables { p.deallocate() }
    for p in [inputGradient, valueAdjoint, inputGradientAdjoint, sweepA, sweepB] {
      p.deallocate()
    }
  }

  deinit { release() }
}
