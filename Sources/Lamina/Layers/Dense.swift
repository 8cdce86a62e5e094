/// A fully connected layer, y = x W^T + b, as PyTorch's `nn.Linear`: `weight` is
/// [output, input] and `bias` is [output]. Forward and backward are sgemm calls over the
/// whole batch (split in row blocks over the worker pool), except for layers of small
/// widths on CPUs with AVX2/FMA, which take the packing-free kernels of `Dense+FMA.swift`,
/// and batches below `smallBatch` rows (`Dense+FewRows.swift`); `forwardPath(rows:)`
/// (`Dense+ForwardPath.swift`) is the one place that chooses.
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
  /// Whether layers of small widths run the AVX2/FMA kernels (`Dense+FMA.swift`) instead of
  /// sgemm: true on CPUs that have them. Tests turn it off to compare the two paths and to
  /// exercise the fallback.
  var usesFMAKernels = CPUFeatures.hasAVX2FMA

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
      bias
      ? Parameter(name: "bias", shape: [output], value: [Float](repeating: 0, count: output)) : nil
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
    forward(x, y, count: n, then: nil, nil)
  }

  /// z = x W^T + b; with `activation`, also a = activation(z) into `a`, applied to each
  /// block of rows right after its product, while the block is in cache (the model's
  /// forward pass fuses a Dense layer with the activation layer after it this way). The
  /// kernel is `forwardPath(rows:)`'s choice; each block's bias, product and activation are
  /// the same operations as unfused, so the values are too.
  func forward(
    _ x: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>, count n: Int,
    then activation: (any FusableActivation)?, _ a: UnsafeMutablePointer<Float>?
  ) {
    guard n > 0 else { return }
    switch forwardPath(rows: n) {
    case .narrow: forwardNarrow(x, z, count: n)
    case .matvecFMA: forwardMatvecFMA(x, z, count: n)
    case .gemv: forwardGEMV(x, z, count: n)
    case .dotProducts: forwardSmall(x, z, count: n)
    case .kernelDot:
      forwardFMA(x, z, count: n, dot: true, then: activation, a)
      return
    case .kernelTiles:
      forwardFMA(x, z, count: n, dot: false, then: activation, a)
      return
    case .sgemm:
      forwardSGEMM(x, z, count: n, then: activation, a)
      return
    }
    // The few-row kernels write z only.
    if let activation, let a { activation.forward(z, a, count: n) }
  }

  /// z = x W^T + b by sgemm over parallel row blocks (`RowPlan.rowBlocks`), each block's
  /// bias, product and activation run while it is in cache.
  private func forwardSGEMM(
    _ x: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>, count n: Int,
    then activation: (any FusableActivation)?, _ a: UnsafeMutablePointer<Float>?
  ) {
    _ = BLAS.singleThreaded  // before `BLAS.call` reaches OpenBLAS
    let (inp, out) = (inputDim, outputDim)
    weight.value.withUnsafeBufferPointer { wb in
      withBiasPointer { b in
        // The product, plus the bias and activation passes over each output.
        var job = ForwardBlocks(
          x: x, z: z, w: wb.baseAddress!, b: b, activation: activation, a: a, inp: inp, out: out,
          m: n, size: n)
        if let plan = RowPlan.rowBlocks(m: n, rowWork: out * (inp + 2 * RowPlan.elementWork)) {
          job.size = plan.size
          Parallel.run(plan.blocks, &job)
        } else {
          job.run(0)
        }
      }
    }
  }

  /// The fused forward pass over blocks of `size` rows, as a pool job.
  private struct ForwardBlocks: PoolJob {
    let x: UnsafePointer<Float>
    let z: UnsafeMutablePointer<Float>
    let w: UnsafePointer<Float>
    let b: UnsafePointer<Float>?
    let activation: (any FusableActivation)?
    let a: UnsafeMutablePointer<Float>?
    let inp: Int
    let out: Int
    let m: Int
    var size: Int

    /// Block `block`: its rows' bias, product and activation.
    func run(_ block: Int) {
      let start = block * size
      let rows = min(size, m - start)
      let zb = z + start * out
      if let b {
        for r in 0..<rows { (zb + r * out).update(from: b, count: out) }
      }
      BLAS.call(
        false, true, rows, out, inp, 1, x + start * inp, inp, w, inp, b == nil ? 0 : 1, zb, out)
      if let activation, let a { activation.forward(zb, a + start * out, count: rows) }
    }
  }

  /// Runs `body` with a pointer to the bias values, or nil for a layer without bias (every
  /// forward path reads the bias through this).
  @inline(__always)
  func withBiasPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let bias else { return body(nil) }
    return bias.value.withUnsafeBufferPointer { body($0.baseAddress!) }
  }

  /// y = x W^T + b row by row: four outputs at a time share each load of x and keep four
  /// independent accumulators (a single chain would wait on the adder's latency), eight
  /// lanes of each dot product at once.
  func forwardSmall(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    let (inp, out) = (inputDim, outputDim)
    let whole = inp & ~7
    weight.value.withUnsafeBufferPointer { wb in
      let w = wb.baseAddress!
      for r in 0..<n {
        let xr = x + r * inp
        let yr = y + r * out
        var j = 0
        while j + 4 <= out {
          let (w0, w1, w2, w3) = (
            w + j * inp, w + (j + 1) * inp, w + (j + 2) * inp, w + (j + 3) * inp
          )
          var (a0, a1, a2, a3) = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
          var k = 0
          while k < whole {
            let xv = load8(xr + k)
            a0 += xv * load8(w0 + k)
            a1 += xv * load8(w1 + k)
            a2 += xv * load8(w2 + k)
            a3 += xv * load8(w3 + k)
            k += 8
          }
          var (s0, s1, s2, s3) = (a0.sum(), a1.sum(), a2.sum(), a3.sum())
          while k < inp {
            s0 += xr[k] * w0[k]
            s1 += xr[k] * w1[k]
            s2 += xr[k] * w2[k]
            s3 += xr[k] * w3[k]
            k += 1
          }
          (yr[j], yr[j + 1], yr[j + 2], yr[j + 3]) = (s0, s1, s2, s3)
          j += 4
        }
        while j < out {
          let wr = w + j * inp
          var acc = SIMD8<Float>()
          var k = 0
          while k < whole {
            acc += load8(xr + k) * load8(wr + k)
            k += 8
          }
          var sum = acc.sum()
          while k < inp {
            sum += xr[k] * wr[k]
            k += 1
          }
          yr[j] = sum
          j += 1
        }
      }
    }
    if let bias {
      bias.value.withUnsafeBufferPointer { b in
        for r in 0..<n {
          for j in 0..<out { y[r * out + j] += b[j] }
        }
      }
    }
  }

  public func backward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool
  ) {
    guard n > 0 else { return }
    backwardProducts(x, dy, dx, count: n, parameterGradients: parameterGradients)
  }

  /// Back-propagates through this layer and the parameter-free `activation` after it, as
  /// the two layers' `backward` in turn would: dz = activation'(z) * da into `dz` (n x
  /// outputDim scratch), then dx = dz W and the parameter gradients. The activation runs in
  /// parallel row blocks for large batches; dx is written only after every block has read
  /// `da`, since the model passes the same buffer for both. `z` is this layer's output, `a`
  /// the activation's.
  func backward(
    then activation: any FusableActivation, _ x: UnsafePointer<Float>, _ z: UnsafePointer<Float>,
    _ a: UnsafePointer<Float>, _ da: UnsafePointer<Float>, dz: UnsafeMutablePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool
  ) {
    guard n > 0 else { return }
    var job = ActivationBackwardBlocks(
      activation: activation, z: z, a: a, da: da, dz: dz, out: outputDim, m: n, size: n)
    _ = BLAS.singleThreaded  // as the sgemm products below
    if let plan = RowPlan.rowBlocks(m: n, rowWork: outputDim * RowPlan.elementWork) {
      job.size = plan.size
      Parallel.run(plan.blocks, &job)
    } else {
      job.run(0)
    }
    backwardProducts(x, dz, dx, count: n, parameterGradients: parameterGradients)
  }

  /// Given dz (n x outputDim, not overlapping `dx`): dx = dz W when `dx` is non-nil, and
  /// with `parameterGradients`, dW += dz^T x and db += column sums of dz; by the AVX2/FMA
  /// kernels when `takesFMAPath`, else by sgemm. Both backward passes end here.
  private func backwardProducts(
    _ x: UnsafePointer<Float>, _ dz: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>?,
    count n: Int, parameterGradients: Bool
  ) {
    if takesFMAPath {
      backwardFMA(x, dz, dx, count: n, parameterGradients: parameterGradients)
      return
    }
    if parameterGradients { addParameterGradients(x, dz, count: n) }
    if let dx {
      weight.value.withUnsafeBufferPointer { w in
        BLAS.gemm(
          transA: false, transB: false, m: n, n: inputDim, k: outputDim, alpha: 1, dz,
          lda: outputDim, w.baseAddress!, ldb: inputDim, beta: 0, dx, ldc: inputDim)
      }
    }
  }

  /// The activation's backward pass over blocks of `size` rows, as a pool job.
  private struct ActivationBackwardBlocks: PoolJob {
    let activation: any FusableActivation
    let z: UnsafePointer<Float>
    let a: UnsafePointer<Float>
    let da: UnsafePointer<Float>
    let dz: UnsafeMutablePointer<Float>
    let out: Int
    let m: Int
    var size: Int

    /// Block `block`: the activation's backward pass over its rows.
    func run(_ block: Int) {
      let offset = block * size * out
      let rows = min(size, m - block * size)
      activation.backward(
        z + offset, a + offset, da + offset, dz + offset, count: rows, parameterGradients: false)
    }
  }

  /// dW += dy^T x ; db += column sums of dy.
  private func addParameterGradients(
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, count n: Int
  ) {
    let (inp, out) = (inputDim, outputDim)
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

  public func copy() -> Layer {
    let d = Dense(
      input: inputDim, output: outputDim, bias: bias != nil, initializer: initializer,
      biasInitializer: biasInitializer)
    d.weight.value = weight.value
    d.usesFMAKernels = usesFMAKernels
    if let b = bias { d.bias?.value = b.value }
    return d
  }
}
