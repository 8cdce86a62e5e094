/// The one place that chooses a Dense forward pass's kernel, and the widths and batch sizes
/// it chooses by.
extension Dense {
  /// The kernels a forward pass can take.
  enum ForwardPath: Equatable {
    /// Few rows, fewer than `narrowInput` inputs: `forwardNarrow`.
    case narrow
    /// Few rows, AVX2/FMA, at least four outputs: `forwardMatvecFMA`.
    case matvecFMA
    /// Few rows of a moderate layer: `forwardGEMV`.
    case gemv
    /// Few rows otherwise: `forwardSmall`'s Swift dot products.
    case dotProducts
    /// Small widths, at most `dotMaxOutput` outputs: `forwardFMA`'s dot products.
    case kernelDot
    /// Small widths otherwise: `forwardFMA`'s register tiles.
    case kernelTiles
    /// Everything else: sgemm over row blocks.
    case sgemm
  }

  /// The kernel `forward` runs for `n` rows of this layer. It depends on the layer's shape,
  /// `usesFMAKernels` and `n` only, so a given call always takes the same path.
  func forwardPath(rows n: Int) -> ForwardPath {
    let (inp, out) = (inputDim, outputDim)
    if n < Dense.smallBatch {
      if inp < Dense.narrowInput { return .narrow }
      if usesFMAKernels, out >= 4 { return .matvecFMA }
      if out >= Dense.gemvMinOutput,
        (Dense.gemvMinElements..<Dense.gemvMaxElements).contains(inp * out),
        inp + out <= Dense.gemvMaxInputPlusOutput
      {
        return .gemv
      }
      return .dotProducts
    }
    guard takesFMAPath else { return .sgemm }
    return out <= Dense.dotMaxOutput ? .kernelDot : .kernelTiles
  }

  /// Whether this layer's passes of at least `smallBatch` rows, and its backward passes,
  /// take the AVX2/FMA kernels: the CPU has them, the layer allows them (`usesFMAKernels`;
  /// tests turn it off) and both widths are at most `fmaMaxWidth`.
  var takesFMAPath: Bool {
    usesFMAKernels && inputDim <= Dense.fmaMaxWidth && outputDim <= Dense.fmaMaxWidth
  }

  /// Below this many rows, `forward` uses its own dot products: sgemm's fixed cost (argument
  /// checks, packing, thread hand-off) is several times the arithmetic of one 64 x 64
  /// matrix-vector product, and single-sample latency is what small batches care about.
  static let smallBatch = 4

  /// Layers with more inputs or outputs than this keep sgemm: below it the kernels' lack of
  /// packing wins, above it sgemm's packing is amortised (bench/NOTES.md, "Small-width
  /// Dense kernels").
  static let fmaMaxWidth = 128

  /// Forward passes with at most this many outputs use dot products along the inputs
  /// (`lamina_dense_dot_fma`): with fewer outputs than a vector, the register tiles would
  /// be mostly padding.
  static let dotMaxOutput = 4

  /// Inputs narrower than this take `forwardNarrow`.
  static let narrowInput = 8

  /// Layers with fewer weights than this, or fewer than `gemvMinOutput` outputs, keep the
  /// Swift dot products: sgemv's fixed cost (argument checks, kernel dispatch) outweighs its
  /// faster arithmetic there (bench/NOTES.md, "One-sample latency").
  static let gemvMinElements = 1024

  /// See `gemvMinElements`.
  static let gemvMinOutput = 8

  /// Layers with `inputDim * outputDim` below this take `sgemv`. OpenBLAS runs `sgemv` on
  /// the calling thread below 2304 x GEMM_MULTITHREAD_THRESHOLD (4) elements, so a
  /// one-sample call never waits on its thread pool (nor mallocs its job buffer); larger
  /// layers keep the Swift loop, whose cost is then dominated by the arithmetic anyway.
  static let gemvMaxElements = 9216

  /// `sgemv` takes a scratch vector of about `inputDim + outputDim + 32` floats from the
  /// stack below 2048 bytes (MAX_STACK_ALLOC) and from its locked buffer pool above; stay
  /// below that.
  static let gemvMaxInputPlusOutput = 448
}
