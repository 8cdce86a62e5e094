/// Dense layers in jet passes: the layer is linear, so every derivative stream goes
/// through the same weights without the bias, and the whole jet is one product of
/// `streams * rows` rows (the value stream takes the layer's own forward kernels, so it
/// is what `forward` gives).
extension Dense: JetLayer {
  public func jetForward(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, shape: JetShape
  ) {
    let n = shape.rows
    guard n > 0 else { return }
    forward(x, y, count: n)
    let tangentRows = (shape.streams - 1) * n
    weight.value.withUnsafeBufferPointer { w in
      BLAS.gemm(
        transA: false, transB: true, m: tangentRows, n: outputDim, k: inputDim, alpha: 1,
        x + n * inputDim, lda: inputDim, w.baseAddress!, ldb: inputDim, beta: 0,
        y + n * outputDim, ldc: outputDim)
    }
  }

  public func jetBackward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, shape: JetShape, parameterGradients: Bool
  ) {
    let n = shape.rows
    guard n > 0 else { return }
    let rows = shape.streams * n
    let (inp, out) = (inputDim, outputDim)
    if parameterGradients {
      // dW sums over every stream's rows; the bias reaches the value stream only.
      weight.gradient.withUnsafeMutableBufferPointer { g in
        BLAS.gemm(
          transA: true, transB: false, m: out, n: inp, k: rows, alpha: 1, dy, lda: out, x,
          ldb: inp, beta: 1, g.baseAddress!, ldc: inp)
      }
      if let bias {
        bias.gradient.withUnsafeMutableBufferPointer { g in
          let gb = g.baseAddress!
          for r in 0..<n {
            let row = dy + r * out
            for j in 0..<out { gb[j] += row[j] }
          }
        }
      }
    }
    if let dx {
      weight.value.withUnsafeBufferPointer { w in
        BLAS.gemm(
          transA: false, transB: false, m: rows, n: inp, k: out, alpha: 1, dy, lda: out,
          w.baseAddress!, ldb: inp, beta: 0, dx, ldc: inp)
      }
    }
  }
}
