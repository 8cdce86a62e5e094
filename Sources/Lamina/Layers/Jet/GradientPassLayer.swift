/// A layer whose input-gradient pass can itself be run backwards: what first-order
/// derivative losses on a one-output model train through when every layer has it
/// (`Model+GradientPass.swift`), as reverse mode over reverse mode. A dense layer then costs
/// six products of n rows per step where a first-order jet costs 3 (1 + D).
///
/// The pass has three steps per layer: `gradientStep` (the input gradient gx = g dy/dx, for
/// the gradient g of the model's output with respect to this layer's output, as `backward`
/// without parameter gradients gives it), `gradientAdjoint` (that step run backwards), and,
/// for a layer without parameters, `gradientBackward` (the ordinary backward). A nonlinear
/// layer computes its derivatives once, in `gradientStep`, into a table the other two read.
protocol GradientPassLayer: Layer {
  /// Floats per row of the derivative table the steps share (0: none, a linear layer).
  var gradientTableWidth: Int { get }

  /// Whether `gradientAdjoint` adds anything to `xBar` (false for linear layers, so the
  /// model need not clear and add that buffer). A layer that takes the pass only as a
  /// model's first layer (`supportsGradientPass(at:)`) may say false and leave `xBar`
  /// alone even when dy/dx depends on x: the adjoint of the model's own input is never
  /// read.
  var gradientDependsOnInput: Bool { get }

  /// Whether the layer can take the gradient pass as layer `index` of a model; a model with
  /// one layer that cannot trains its first-order terms through jets (`Model.init`).
  func supportsGradientPass(at index: Int) -> Bool

  /// gx = g dy/dx into `gx` (n x inputDim) for `n` rows of input `x`, output `y` and output
  /// gradient `g`; fills `table` (n x gradientTableWidth) when the layer has one.
  func gradientStep(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
    _ gx: UnsafeMutablePointer<Float>, count n: Int, table: UnsafeMutablePointer<Float>?)

  /// Given `gxBar` (n x inputDim), the adjoint of gx: writes the adjoint of `g` into `gBar`
  /// (n x outputDim, overwriting), ADDS the adjoint of `x` through the dependence of dy/dx
  /// on x into `xBar` (n x inputDim) when `gradientDependsOnInput`, and with
  /// `parameterGradients` adds the parameter gradients. `table` is what `gradientStep` left.
  func gradientAdjoint(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
    _ gxBar: UnsafePointer<Float>, gBar: UnsafeMutablePointer<Float>,
    xBar: UnsafeMutablePointer<Float>, count n: Int, table: UnsafePointer<Float>?,
    parameterGradients: Bool)

  /// dx = dy dy/dx (n x inputDim), what `backward` gives without parameter gradients, from
  /// `table`.
  func gradientBackward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>, count n: Int, table: UnsafePointer<Float>?)
}

extension GradientPassLayer {
  /// Anywhere: the steps give every adjoint the protocol asks for.
  func supportsGradientPass(at index: Int) -> Bool { true }

  /// gx = g dy/dx: `backward` without parameter gradients, for layers with no derivative
  /// table (dense layers, the tri-plane encoding).
  func gradientStep(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
    _ gx: UnsafeMutablePointer<Float>, count n: Int, table: UnsafeMutablePointer<Float>?
  ) {
    backward(x, y, g, gx, count: n, parameterGradients: false)
  }

  /// dx = dy dy/dx: `backward` without parameter gradients, for layers with no derivative
  /// table.
  func gradientBackward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>, count n: Int, table: UnsafePointer<Float>?
  ) {
    backward(x, y, dy, dx, count: n, parameterGradients: false)
  }
}

extension Dense: GradientPassLayer {
  var gradientTableWidth: Int { 0 }
  var gradientDependsOnInput: Bool { false }

  /// gx = g W, so gBar = gxBar W^T (the forward product without bias) and
  /// dW += g^T gxBar; the bias does not reach gx.
  func gradientAdjoint(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
    _ gxBar: UnsafePointer<Float>, gBar: UnsafeMutablePointer<Float>,
    xBar: UnsafeMutablePointer<Float>, count n: Int, table: UnsafePointer<Float>?,
    parameterGradients: Bool
  ) {
    guard n > 0 else { return }
    let (inp, out) = (inputDim, outputDim)
    weight.value.withUnsafeBufferPointer { w in
      BLAS.gemm(
        transA: false, transB: true, m: n, n: out, k: inp, alpha: 1, gxBar, lda: inp,
        w.baseAddress!, ldb: inp, beta: 0, gBar, ldc: out)
    }
    guard parameterGradients else { return }
    weight.gradient.withUnsafeMutableBufferPointer { gw in
      BLAS.gemm(
        transA: true, transB: false, m: out, n: inp, k: n, alpha: 1, g, lda: out, gxBar,
        ldb: inp, beta: 1, gw.baseAddress!, ldc: inp)
    }
  }
}

extension ActivationLayer: GradientPassLayer {
  /// f'(x) and f''(x) for every element: one derivative evaluation serves all three steps.
  var gradientTableWidth: Int { 2 * width }
  var gradientDependsOnInput: Bool { activation != .identity }

  func gradientStep(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
    _ gx: UnsafeMutablePointer<Float>, count n: Int, table: UnsafeMutablePointer<Float>?
  ) {
    runGradientBlocks(
      .step, x: x, a: g, b: g, out: gx, extra: nil, table: table!, count: n)
  }

  func gradientAdjoint(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
    _ gxBar: UnsafePointer<Float>, gBar: UnsafeMutablePointer<Float>,
    xBar: UnsafeMutablePointer<Float>, count n: Int, table: UnsafePointer<Float>?,
    parameterGradients: Bool
  ) {
    runGradientBlocks(
      .adjoint, x: x, a: g, b: gxBar, out: gBar, extra: xBar,
      table: UnsafeMutablePointer(mutating: table!), count: n)
    guard parameterGradients, let weight = parameters.first else { return }
    // PReLU: f' = a where x <= 0, so d/da of gx = f'(x) g collects g gxBar there; summed
    // here on one thread in a fixed order.
    var slopeGradient = 0.0
    for i in 0..<(n * width) where !(x[i] > 0) { slopeGradient += Double(g[i] * gxBar[i]) }
    weight.gradient[0] += Float(slopeGradient)
  }

  func gradientBackward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>, count n: Int, table: UnsafePointer<Float>?
  ) {
    runGradientBlocks(
      .backward, x: x, a: dy, b: dy, out: dx, extra: nil,
      table: UnsafeMutablePointer(mutating: table!), count: n)
  }
}
