/// A fully connected layer, y = x W^T + b, as PyTorch's `nn.Linear`: `weight` is
/// [output, input] and `bias` is [output]. Forward and backward are single sgemm calls over
/// the whole batch.
public final class Dense: Layer {
  public let inputDim: Int
  public let outputDim: Int
  /// [outputDim, inputDim].
  public let weight: Parameter
  /// [outputDim], or nil for a layer without bias.
  public let bias: Parameter?
  /// How the weights were initialised (kept so the spec recreates the same model).
  public let initializer: Initializer
  /// How the bias was initialised.
  public let biasInitializer: Initializer

  /// A layer with zero weights; the model builder draws the initial values.
  public init(
    input: Int, output: Int, bias: Bool = true, initializer: Initializer = .auto,
    biasInitializer: Initializer = .torchDefault
  ) {
    inputDim = input
    outputDim = output
    weight = Parameter(
      name: "weight", shape: [output, input], value: [Float](repeating: 0, count: output * input))
    self.bias =
      bias ? Parameter(name: "bias", shape: [output], value: [Float](repeating: 0, count: output)) : nil
    self.initializer = initializer
    self.biasInitializer = biasInitializer
  }

  public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }

  public var spec: JSONValue {
    .object([
      ("type", .string("dense")), ("output", .number(Double(outputDim))),
      ("bias", .bool(bias != nil)), ("init", .string(initializer.rawValue)),
      ("bias_init", .string(biasInitializer.rawValue)),
    ])
  }

  public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    guard n > 0 else { return }
    let out = outputDim
    if let bias {
      bias.value.withUnsafeBufferPointer { b in
        for r in 0..<n { (y + r * out).update(from: b.baseAddress!, count: out) }
      }
    }
    weight.value.withUnsafeBufferPointer { w in
      BLAS.gemm(
        transA: false, transB: true, m: n, n: out, k: inputDim, alpha: 1, x, lda: inputDim,
        w.baseAddress!, ldb: inputDim, beta: bias == nil ? 0 : 1, y, ldc: out)
    }
  }

  public func backward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool
  ) {
    guard n > 0 else { return }
    let out = outputDim
    let inp = inputDim
    if parameterGradients {
      // dW += dy^T x ; db += column sums of dy.
      weight.gradient.withUnsafeMutableBufferPointer { g in
        BLAS.gemm(
          transA: true, transB: false, m: out, n: inp, k: n, alpha: 1, dy, lda: out, x, ldb: inp,
          beta: 1, g.baseAddress!, ldc: inp)
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
          transA: false, transB: false, m: n, n: inp, k: out, alpha: 1, dy, lda: out,
          w.baseAddress!, ldb: inp, beta: 0, dx, ldc: inp)
      }
    }
  }

  public func copy() -> Layer {
    let d = Dense(
      input: inputDim, output: outputDim, bias: bias != nil, initializer: initializer,
      biasInitializer: biasInitializer)
    d.weight.value = weight.value
    if let b = bias { d.bias?.value = b.value }
    return d
  }
}
