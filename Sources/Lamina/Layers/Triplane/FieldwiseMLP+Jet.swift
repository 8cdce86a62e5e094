/// Per-field decoders in jet passes (`JetLayer`): each field's rows, all their streams,
/// run through that field's dense stages (one product per stage over every stream; the
/// bias reaches the value stream only) and its activations' jet rules (`ActivationLayer`'s).
///
/// The field index column selects the decoder and is piecewise constant, so it is read from
/// the value stream only, its derivative streams are ignored, and its adjoint is 0 in every
/// stream (as `backward` gives 0 for it). Rows naming no field give all-zero output jets and
/// pass no gradient. Fields run one after another on the calling thread, in a fixed order,
/// so results are bit-identical run to run; the value stream is what `forward` gives.
/// Unlike the ordinary passes a call allocates a little: its per-stage pointer lists and
/// one `ActivationLayer` per stage (the scratch for the jets themselves is pooled).
extension FieldwiseMLP: JetLayer {
  /// The output jet: each field's rows through its own decoder (see the extension's
  /// documentation).
  public func jetForward(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, shape: JetShape
  ) {
    let n = shape.rows
    guard n > 0 else { return }
    let out = outputDim
    withJetRuns(x, shape: shape, backward: false) { run in
      if run.valid < n {
        y.update(repeating: 0, count: shape.count(width: out))
      }
      run.forEachField { k, lo, m in
        let block = run.forward(field: k, rows: lo, count: m)
        run.scatter(block, rows: lo, count: m, width: out, into: y, skip: 0)
      }
    }
  }

  /// Back-propagates the output jet's adjoint `dy`: each field's rows add into that field's
  /// slices of the weight and bias gradients, and `dx` (when non-nil) gets the input jet's
  /// adjoint.
  public func jetBackward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, shape: JetShape, parameterGradients: Bool
  ) {
    let n = shape.rows
    guard n > 0, dx != nil || parameterGradients else { return }
    withJetRuns(x, shape: shape, backward: true) { run in
      if let dx, run.valid < n { dx.update(repeating: 0, count: shape.count(width: inputDim)) }
      run.forEachField { k, lo, m in
        _ = run.forward(field: k, rows: lo, count: m)
        run.backward(
          field: k, rows: lo, count: m, dy: dy, dx: dx, parameterGradients: parameterGradients)
      }
    }
  }

  /// Sorts the rows by field (from the value stream's index column), takes scratch for one
  /// field's jets through every stage, and runs `body`.
  private func withJetRuns(
    _ x: UnsafePointer<Float>, shape: JetShape, backward: Bool, _ body: (JetRuns) -> Void
  ) {
    let n = shape.rows
    let streams = shape.streams
    let maxWidth = widths.max() ?? 1
    let inp = inputDim
    scratch.withBytes(ScratchPool.bytes(Int.self, n + fields + 1)) { raw in
      let order = raw.bindMemory(to: Int.self, capacity: n + fields + 1)
      let start = order + n
      start.update(repeating: 0, count: fields + 1)
      for r in 0..<n {
        let k = fieldIndex(x[r * inp], fields: fields)
        if k >= 0 { start[k + 1] += 1 }
      }
      var most = 0
      for k in 0..<fields { most = max(most, start[k + 1]) }
      for k in 0..<fields { start[k + 1] += start[k] }
      for r in 0..<n {
        let k = fieldIndex(x[r * inp], fields: fields)
        guard k >= 0 else { continue }
        order[start[k]] = r
        start[k] += 1
      }
      for k in stride(from: fields, to: 0, by: -1) { start[k] = start[k - 1] }
      start[0] = 0
      // One field's jets: every stage's input (and the output), every stage's
      // pre-activation, and backward's three work areas.
      let rows = streams * most
      var floats =
        widths.reduce(0) { $0 + rows * $1 } + widths.dropFirst().reduce(0) { $0 + rows * $1 }
      if backward { floats += 3 * rows * maxWidth }
      scratch.withBuffer(count: floats) { buffer in
        var next = buffer
        var inputs: [UnsafeMutablePointer<Float>] = []
        var z: [UnsafeMutablePointer<Float>] = []
        for w in widths {
          inputs.append(next)
          next += rows * w
        }
        for w in widths.dropFirst() {
          z.append(next)
          next += rows * w
        }
        let work = backward ? (next, next + rows * maxWidth, next + 2 * rows * maxWidth) : nil
        body(
          JetRuns(
            layer: self, x: x, shape: shape, order: UnsafePointer(order),
            start: UnsafePointer(start), valid: start[fields], inputs: inputs, z: z,
            activations: (0..<stages).map {
              ActivationLayer(width: widths[$0 + 1], activation: activation(after: $0))
            }, work: work))
      }
    }
  }

  /// One call's sorted rows and one field's jets at a time (see `withJetRuns`). A field's
  /// block of m rows is laid out as a jet of m rows: stream-major, m rows per stream.
  private struct JetRuns {
    unowned(unsafe) let layer: FieldwiseMLP
    let x: UnsafePointer<Float>
    let shape: JetShape
    let order: UnsafePointer<Int>
    let start: UnsafePointer<Int>
    /// Rows with a valid field index.
    let valid: Int
    /// Stage s's input jet (s = 0: the gathered features); the last is the output.
    let inputs: [UnsafeMutablePointer<Float>]
    /// Stage s's pre-activation jet.
    let z: [UnsafeMutablePointer<Float>]
    /// The activation after each stage, as layers (their jet rules).
    let activations: [ActivationLayer]
    /// Backward's work areas.
    let work:
      (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)?

    /// `body(k, lo, m)` for each field k with m > 0 rows at sorted positions lo ..< lo + m.
    func forEachField(_ body: (Int, Int, Int) -> Void) {
      for k in 0..<layer.fields where start[k + 1] > start[k] {
        body(k, start[k], start[k + 1] - start[k])
      }
    }

    /// Field k's jets through its stages (rows at sorted positions lo ..< lo + m); returns
    /// the output block.
    func forward(field k: Int, rows lo: Int, count m: Int) -> UnsafeMutablePointer<Float> {
      let (n, streams, widths) = (shape.rows, shape.streams, layer.widths)
      let (inp, f) = (layer.inputDim, widths[0])
      for s in 0..<streams {
        for i in 0..<m {
          (inputs[0] + (s * m + i) * f).update(
            from: x + (s * n + order[lo + i]) * inp + 1, count: f)
        }
      }
      let block = JetShape(rows: m, directions: shape.directions, order: shape.order)
      for s in 0..<layer.stages {
        let (win, wout) = (widths[s], widths[s + 1])
        let (a, zs) = (inputs[s], z[s])
        layer.weights[s].value.withUnsafeBufferPointer { wb in
          layer.biases[s].value.withUnsafeBufferPointer { bb in
            let w = wb.baseAddress! + k * wout * win
            // The value rows as `forward` computes them (bias first, then the product).
            let bk = bb.baseAddress! + k * wout
            for i in 0..<m { (zs + i * wout).update(from: bk, count: wout) }
            BLAS.gemm(
              transA: false, transB: true, m: m, n: wout, k: win, alpha: 1, a, lda: win, w,
              ldb: win, beta: 1, zs, ldc: wout)
            BLAS.gemm(
              transA: false, transB: true, m: (streams - 1) * m, n: wout, k: win, alpha: 1,
              a + m * win, lda: win, w, ldb: win, beta: 0, zs + m * wout, ldc: wout)
          }
        }
        activations[s].jetForward(zs, inputs[s + 1], shape: block)
      }
      return inputs[layer.stages]
    }

    /// Writes a field's block (m rows per stream, `width` columns) to the rows it came
    /// from in the jet at `dest` (rows of `skip + width` columns, the first `skip` zeroed).
    func scatter(
      _ block: UnsafePointer<Float>, rows lo: Int, count m: Int, width: Int,
      into dest: UnsafeMutablePointer<Float>, skip: Int
    ) {
      let n = shape.rows
      for s in 0..<shape.streams {
        for i in 0..<m {
          let row = dest + (s * n + order[lo + i]) * (skip + width)
          if skip > 0 { row.update(repeating: 0, count: skip) }
          (row + skip).update(from: block + (s * m + i) * width, count: width)
        }
      }
    }

    /// Back-propagates field k's block (after `forward` of the same rows) from `dy`.
    func backward(
      field k: Int, rows lo: Int, count m: Int, dy: UnsafePointer<Float>,
      dx: UnsafeMutablePointer<Float>?, parameterGradients: Bool
    ) {
      guard let (bufA, bufB, dz) = work else { return }
      let (n, streams, widths) = (shape.rows, shape.streams, layer.widths)
      let out = layer.outputDim
      let block = JetShape(rows: m, directions: shape.directions, order: shape.order)
      let rows = streams * m
      var (da, daPrev) = (bufA, bufB)
      for s in 0..<streams {
        for i in 0..<m {
          (da + (s * m + i) * out).update(from: dy + (s * n + order[lo + i]) * out, count: out)
        }
      }
      for s in stride(from: layer.stages - 1, through: 0, by: -1) {
        let (win, wout) = (widths[s], widths[s + 1])
        activations[s].jetBackward(
          z[s], inputs[s + 1], da, dz, shape: block, parameterGradients: false)
        if parameterGradients {
          layer.weights[s].gradient.withUnsafeMutableBufferPointer { g in
            BLAS.gemm(
              transA: true, transB: false, m: wout, n: win, k: rows, alpha: 1, dz, lda: wout,
              inputs[s], ldb: win, beta: 1, g.baseAddress! + k * wout * win, ldc: win)
          }
          layer.biases[s].gradient.withUnsafeMutableBufferPointer { g in
            let gb = g.baseAddress! + k * wout
            for i in 0..<m {
              let row = dz + i * wout
              for j in 0..<wout { gb[j] += row[j] }
            }
          }
        }
        if s > 0 || dx != nil {
          layer.weights[s].value.withUnsafeBufferPointer { wb in
            BLAS.gemm(
              transA: false, transB: false, m: rows, n: win, k: wout, alpha: 1, dz, lda: wout,
              wb.baseAddress! + k * wout * win, ldb: win, beta: 0, daPrev, ldc: win)
          }
        }
        swap(&da, &daPrev)
      }
      if let dx { scatter(da, rows: lo, count: m, width: widths[0], into: dx, skip: 1) }
    }
  }
}
