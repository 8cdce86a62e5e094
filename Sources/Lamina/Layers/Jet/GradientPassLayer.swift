/// A layer whose input-gradient pass can itself be run backwards: what first-order
/// derivative losses on a one-output model train through when every layer has it
/// (`Model+GradientPass.swift`), as reverse mode over reverse mode. A dense layer then costs
/// six products of n rows per step where a first-order jet costs 3 (1 + D).
///
/// The input-gradient pass is `backward` without parameter gradients: gx = g dy/dx for the
/// gradient g of the model's output with respect to this layer's output. This protocol adds
/// its adjoint: given the adjoint `gxBar` of gx, the adjoint of g, the part of the adjoint
/// of x that comes through dy/dx depending on x, and the parameter gradients.
protocol GradientPassLayer: Layer {
  /// The input-gradient pass's step: gx = g dy/dx into `gx` (n x inputDim), as `backward`
  /// without parameter gradients gives it.
  func gradientStep(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
    _ gx: UnsafeMutablePointer<Float>, count n: Int)

  /// For `n` rows of this layer's input `x`, output `y`, and the output gradient `g` the
  /// input-gradient pass took, given `gxBar` (n x inputDim): writes the adjoint of `g`
  /// into `gBar` (n x outputDim, overwriting), ADDS the adjoint of `x` through the
  /// dependence of dy/dx on x into `xBar` (n x inputDim) when the layer has one (nothing
  /// for a linear layer), and with `parameterGradients` adds the parameter gradients.
  func gradientAdjoint(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
    _ gxBar: UnsafePointer<Float>, gBar: UnsafeMutablePointer<Float>,
    xBar: UnsafeMutablePointer<Float>, count n: Int, parameterGradients: Bool)

  /// Whether `gradientAdjoint` adds anything to `xBar` (false for linear layers, so the
  /// model need not clear and add that buffer).
  var gradientDependsOnInput: Bool { get }
}

extension Dense: GradientPassLayer {
  var gradientDependsOnInput: Bool { false }

  func gradientStep(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
    _ gx: UnsafeMutablePointer<Float>, count n: Int
  ) {
    backward(x, y, g, gx, count: n, parameterGradients: false)
  }

  /// gx = g W, so gBar = gxBar W^T (the forward product without bias) and
  /// dW += g^T gxBar; the bias does not reach gx.
  func gradientAdjoint(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
    _ gxBar: UnsafePointer<Float>, gBar: UnsafeMutablePointer<Float>,
    xBar: UnsafeMutablePointer<Float>, count n: Int, parameterGradients: Bool
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
  var gradientDependsOnInput: Bool { activation != .identity }

  func gradientStep(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
    _ gx: UnsafeMutablePointer<Float>, count n: Int
  ) {
    backwardInBlocks(x, y, g, gx, count: n)
  }

  func gradientAdjoint(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
    _ gxBar: UnsafePointer<Float>, gBar: UnsafeMutablePointer<Float>,
    xBar: UnsafeMutablePointer<Float>, count n: Int, parameterGradients: Bool
  ) {
    gradientAdjointInBlocks(
      x, y, g, gxBar, gBar: gBar, xBar: xBar, count: n, parameterGradients: parameterGradients)
  }

  /// `gradientAdjoint` on one block of rows, on this thread: gx = f'(x) g, so
  /// gBar = f'(x) gxBar and xBar += f''(x) g gxBar; PReLU's slope a (f' = a where x <= 0)
  /// gets sum(g gxBar) over those elements.
  func gradientAdjointBlock(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
    _ gxBar: UnsafePointer<Float>, gBar: UnsafeMutablePointer<Float>,
    xBar: UnsafeMutablePointer<Float>, count n: Int, parameterGradients: Bool
  ) {
    let total = n * width
    guard total > 0 else { return }
    let block = 256
    var slopeGradient = 0.0
    let prelu = parameterGradients && !parameters.isEmpty
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * block) { scratch in
      let (d1, d2) = (scratch.baseAddress!, scratch.baseAddress! + block)
      var start = 0
      while start < total {
        let m = min(block, total - start)
        activation.derivatives(x + start, count: m, slope: slope, d1: d1, d2: d2, d3: nil)
        for e in 0..<m {
          let i = start + e
          let product = g[i] * gxBar[i]
          gBar[i] = d1[e] * gxBar[i]
          xBar[i] += d2[e] * product
          if prelu && !(x[i] > 0) { slopeGradient += Double(product) }
        }
        start += m
      }
    }
    if prelu, let weight = parameters.first { weight.gradient[0] += Float(slopeGradient) }
  }
}
