/// Vector-Jacobian products: back-propagating an upstream gradient dL/dy that the caller
/// computed (a loss Lamina does not have, or the gradient a PyTorch graph hands a Lamina
/// model inside it) to the inputs and to the parameters.
///
/// `vjp` (dL/dx) only reads the model, as `inputGradient` does, and may run on many threads.
/// `parameterVJP` writes into the parameters' `gradient` storage, which every backward pass
/// accumulates into (the layers have no other place to put it), so it needs the model to
/// itself; it never changes a weight.
extension Model {
  /// Checks what every vector-Jacobian call reads: the batch size, finite `x` and `dy`, and
  /// a tri-plane model's field indices.
  func checkVJP(_ x: UnsafePointer<Float>, dy: UnsafePointer<Float>, count n: Int) throws {
    try checkBatch(n)
    try Model.checkFinite(x, count: n * inputDim, what: "input x")
    try Model.checkFinite(dy, count: n * outputDim, what: "upstream gradient dy")
    try checkTriplaneInput(x, count: n)
  }

  /// dL/dx for an upstream gradient: `dx[s][i] = sum_k dy[s][k] * d y[s][k] / d x[s][i]`,
  /// one backward pass per chunk of rows (where `inputGradient` needs one per output).
  /// `x` and `dx` are n x inputDim, `dy` n x outputDim. Only reads the model; a warm call
  /// allocates nothing (its workspace comes from the same pool as `inputGradient`'s).
  public func vjp(
    _ x: UnsafePointer<Float>, count n: Int, dy: UnsafePointer<Float>,
    into dx: UnsafeMutablePointer<Float>
  ) throws {
    try checkVJP(x, dy: dy, count: n)
    guard n > 0 else { return }
    let rows = min(n, chunkRows)
    gradientWorkspaces.with(make: Workspace.init) { scratch in
      scratch.reserve(rows: rows, for: self)
      if n > rows, let encoding = head {
        // The encoding's channel-last plane copy is made once for every chunk's passes.
        encoding.withSources(rows: n) { sources in
          scratch.headSources = sources
          vjpChunks(x, count: n, rows: rows, dy: dy, into: dx, scratch: scratch)
          scratch.headSources = nil
        }
      } else {
        vjpChunks(x, count: n, rows: rows, dy: dy, into: dx, scratch: scratch)
      }
    }
  }

  /// `vjp`'s work over chunks of `rows` rows: rows are independent, so chunking changes
  /// nothing but the scratch size.
  private func vjpChunks(
    _ x: UnsafePointer<Float>, count n: Int, rows: Int, dy: UnsafePointer<Float>,
    into dx: UnsafeMutablePointer<Float>, scratch: Workspace
  ) {
    var start = 0
    while start < n {
      let m = min(rows, n - start)
      let xs = x + start * inputDim
      forward(xs, count: m, workspace: scratch)
      scratch.gradientOut.update(from: dy + start * outputDim, count: m * outputDim)
      let g = backward(xs, count: m, workspace: scratch, parameterGradients: false)
      (dx + start * inputDim).update(from: g, count: m * inputDim)
      start += m
    }
  }

  /// The gradient of `sum(dy * model(x))` with respect to every trainable tensor, written
  /// into `parameterGradients` (`parameterCount` floats, the tensors of `parameters` one
  /// after another, each row-major: tensor order without the buffers), and dL/dx into `dx`
  /// when given; n = 0 gives zeros. The whole batch is one pass, as in a trainer's step, so
  /// the gradient has the bits `Trainer.stepVJP` steps from (without the trainer's
  /// regularisers).
  ///
  /// Uses each parameter's `gradient` array as scratch (it is left holding the result) and
  /// never changes a weight; the caller must have the model to itself.
  public func parameterVJP(
    _ x: UnsafePointer<Float>, count n: Int, dy: UnsafePointer<Float>,
    parameterGradients: UnsafeMutableBufferPointer<Float>, dx: UnsafeMutablePointer<Float>?
  ) throws {
    guard parameterGradients.count == parameterCount else {
      throw LaminaError.shape(
        "parameter_gradients holds \(parameterGradients.count) floats; the model has"
          + " \(parameterCount) trainable scalars")
    }
    try checkVJP(x, dy: dy, count: n)
    for p in parameters {
      p.gradient.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }
    guard n > 0 else {
      // A sum over no rows: every gradient is 0.
      parameterGradients.update(repeating: 0)
      return
    }
    gradientWorkspaces.with(make: Workspace.init) { scratch in
      scratch.wantInputGradient = dx != nil
      defer { scratch.wantInputGradient = true }
      forward(x, count: n, workspace: scratch, keep: true)
      scratch.gradientOut.update(from: dy, count: n * outputDim)
      let g = backward(x, count: n, workspace: scratch, parameterGradients: true)
      dx?.update(from: g, count: n * inputDim)
    }
    var offset = 0
    for p in parameters {
      p.gradient.withUnsafeBufferPointer { g in
        guard let base = g.baseAddress else { return }
        (parameterGradients.baseAddress! + offset).update(from: base, count: g.count)
      }
      offset += p.count
    }
  }
}
