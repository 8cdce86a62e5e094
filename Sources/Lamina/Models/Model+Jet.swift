/// Jet passes over the whole model: the output's value with its first (and second)
/// derivatives with respect to the input, and the reverse pass from losses on them to the
/// parameters. See `JetLayer` for the layout.
extension Model {
  /// Throws `.unsupported` naming the first layer that cannot run jet passes (or a
  /// tri-plane encoding that is not the first layer), so a derivative loss on such a model
  /// fails before any work.
  func checkJetSupport(for what: String) throws {
    if let i = jets.firstIndex(where: { $0 == nil }) {
      var type = "?"
      if case .string(let name)? = layers[i].spec["type"] { type = name }
      throw LaminaError(
        .unsupported,
        "\(what) needs derivatives of the output with respect to the input, which layer \(i) "
          + "(\"\(type)\") does not provide yet")
    }
    for (i, jet) in jets.enumerated() {
      if let why = jet?.jetRefusal {
        throw LaminaError(
          .unsupported,
          "\(what) needs derivatives of the output with respect to the input; layer \(i) \(why)")
      }
    }
    // An encoding's jet assumes the identity input jet of a first layer
    // (TriplaneEncoding+Jet.swift).
    if let e = triplaneEncodings.first(where: { $0.index > 0 }) {
      throw LaminaError(
        .unsupported,
        "\(what) needs a tri-plane encoding to be the first layer; layer \(e.index) is one")
    }
  }

  /// The jet of the model's output for `shape.rows` rows of `x` (n x inputDim): the input
  /// jet is x with the identity as its first derivatives and zero second derivatives.
  /// Returns the output jet (in `workspace`, valid until its next pass). Call
  /// `checkJetSupport` first.
  @discardableResult
  func jetForward(_ x: UnsafePointer<Float>, shape: JetShape, workspace ws: JetWorkspace)
    -> UnsafeMutablePointer<Float>
  {
    ws.reserve(shape: shape, for: self)
    let (n, d) = (shape.rows, inputDim)
    let input = ws.input
    input.update(from: x, count: n * d)
    (input + n * d).update(repeating: 0, count: (shape.streams - 1) * n * d)
    for k in 0..<d {
      let stream = input + (1 + k) * n * d
      for r in 0..<n { stream[r * d + k] = 1 }
    }
    var current = UnsafePointer(input)
    for i in layers.indices {
      jets[i]!.jetForward(current, ws.outputs[i], shape: shape)
      current = UnsafePointer(ws.outputs[i])
    }
    return ws.outputs[layers.count - 1]
  }

  /// The reverse pass from `workspace.gradientOut` (the adjoint of the output jet, filled
  /// by the caller after `jetForward`): adds every parameter's gradient when
  /// `parameterGradients`; returns the adjoint of the input jet's value stream (dL/dx,
  /// n x inputDim) when `inputGradient`.
  @discardableResult
  func jetBackward(
    shape: JetShape, workspace ws: JetWorkspace, parameterGradients: Bool,
    inputGradient: Bool = false
  ) -> UnsafeMutablePointer<Float>? {
    var dy = UnsafePointer(ws.gradientOut)
    var (cur, other) = (ws.gradientA, ws.gradientB)
    for i in layers.indices.reversed() {
      let input = i == 0 ? UnsafePointer(ws.input) : UnsafePointer(ws.outputs[i - 1])
      let dx = i > 0 || inputGradient ? cur : nil
      jets[i]!.jetBackward(
        input, ws.outputs[i], dy, dx, shape: shape, parameterGradients: parameterGradients)
      dy = UnsafePointer(cur)
      swap(&cur, &other)
    }
    return inputGradient ? UnsafeMutablePointer(mutating: dy) : nil
  }

  /// The output's value, input Jacobian and (order 2) pure second derivatives for `n` rows:
  /// `y` n x outputDim, `dydx` n x outputDim x inputDim (as `inputGradient`), `d2ydx2`
  /// n x outputDim x inputDim with entry (r, k, d) = d^2 y_k / dx_d^2 (nil skips it and
  /// takes the cheaper first-order pass). Reads the model only.
  public func inputDerivatives(
    _ x: UnsafePointer<Float>, count n: Int, values y: UnsafeMutablePointer<Float>?,
    jacobian dydx: UnsafeMutablePointer<Float>?,
    secondDerivatives d2ydx2: UnsafeMutablePointer<Float>?
  ) throws {
    try checkBatch(n)
    try Model.checkFinite(x, count: n * inputDim, what: "input x")
    try checkTriplaneInput(x, count: n)
    try checkJetSupport(for: "input derivatives")
    guard n > 0 else { return }
    let order = d2ydx2 == nil ? 1 : 2
    let (din, dout) = (inputDim, outputDim)
    let streams = 1 + order * din
    let rows = max(1, min(n, chunkRows / streams))
    jetWorkspaces.with(make: JetWorkspace.init) { ws in
      var start = 0
      while start < n {
        let m = min(rows, n - start)
        let shape = JetShape(rows: m, directions: din, order: order)
        let out = jetForward(x + start * din, shape: shape, workspace: ws)
        for r in 0..<m {
          let row = start + r
          if let y { (y + row * dout).update(from: out + r * dout, count: dout) }
          for k in 0..<dout {
            for d in 0..<din {
              dydx?[(row * dout + k) * din + d] = out[((1 + d) * m + r) * dout + k]
              d2ydx2?[(row * dout + k) * din + d] = out[((1 + din + d) * m + r) * dout + k]
            }
          }
        }
        start += m
      }
    }
  }
}

/// Scratch for jet passes: the input jet, each layer's output jet and the adjoint buffers,
/// grown on demand and reused, so steady-state steps allocate nothing.
final class JetWorkspace {
  /// Floats each buffer holds per jet row (a jet row is one row of one stream).
  private var capacityRows = 0
  private var layerCount = -1
  private(set) var input = UnsafeMutablePointer<Float>.allocate(capacity: 1)
  private(set) var outputs: [UnsafeMutablePointer<Float>] = []
  private(set) var gradientOut = UnsafeMutablePointer<Float>.allocate(capacity: 1)
  private(set) var gradientA = UnsafeMutablePointer<Float>.allocate(capacity: 1)
  private(set) var gradientB = UnsafeMutablePointer<Float>.allocate(capacity: 1)

  /// Makes room for a jet of `shape` through `model`.
  func reserve(shape: JetShape, for model: Model) {
    let need = shape.streams * shape.rows
    guard need > capacityRows || layerCount != model.layers.count else { return }
    release()
    capacityRows = max(need, 1)
    layerCount = model.layers.count
    input = .allocate(capacity: capacityRows * max(model.inputDim, 1))
    outputs = model.layers.map { .allocate(capacity: capacityRows * max($0.outputDim, 1)) }
    gradientOut = .allocate(capacity: capacityRows * max(model.outputDim, 1))
    gradientA = .allocate(capacity: capacityRows * model.widest)
    gradientB = .allocate(capacity: capacityRows * model.widest)
  }

  private func release() {
    input.deallocate()
    for output in outputs { output.deallocate() }
    gradientOut.deallocate()
    gradientA.deallocate()
    gradientB.deallocate()
  }

  deinit { release() }
}
