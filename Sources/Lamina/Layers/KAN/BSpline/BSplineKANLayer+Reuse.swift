import CBLAS

/// Training passes that share the basis evaluation between forward and backward.
///
/// Building the basis rows (knot interval, the k + 1 bases and their derivatives, SiLU, and
/// on the dense path the scattered rows [silu, B_0 ... B_{G+k-1}]) is about half of a
/// training step, and the stateless `backward` has to redo it from x. In a training step
/// the model hands the layer a `ForwardCache`: `forward(_:_:count:keeping:)` evaluates the
/// bases with their derivatives once, per block of rows and input exactly as `forward` and
/// `backward` lay them out, and leaves the blocks (and the dense rows) in the cache;
/// `backward(...reusing:)` reads them instead of evaluating again. The arithmetic on every
/// value is the same as the recomputing path's, so outputs and gradients are the same bits.
///
/// The cache is read only when it was filled by this layer for the same input pointer, row
/// count and block layout, and when the input values and the knots still equal the copies
/// taken at forward time (a `memcmp` of n x in floats: a few microseconds); otherwise
/// backward recomputes. The weights may change in between: nothing cached depends on them.
extension BSplineKANLayer: ForwardReusingLayer {
  /// A view of the cache's memory: the copies of x and the knots, then per block of rows
  /// its dense rows (dense path only) and one `KANBlock` per input.
  struct BasisCache {
    /// The copy of the n x in input values and of the "grid" buffer.
    let xCopy: UnsafeMutablePointer<Float>
    let knots: UnsafeMutablePointer<Float>
    /// Start of block 0 and bytes per block.
    let first: UnsafeMutableRawPointer
    let blockStride: Int
    /// Rows per block (a multiple of 8; every `KANBlock` has this capacity).
    let rows: Int
    /// Floats of dense rows per block (0 on the sparse path).
    let denseFloats: Int
    let inputs: Int
    let order: Int
    /// Knot intervals the blocks can group by (`KANBlock.groupByInterval`; 0: none).
    let intervals: Int
    /// Bytes of one `KANBlock`.
    let blockBytes: Int

    /// Block b's dense rows (dense path).
    func dense(_ b: Int) -> UnsafeMutablePointer<Float> {
      (first + b * blockStride).assumingMemoryBound(to: Float.self)
    }

    /// Input i's basis block in block b.
    func block(_ b: Int, _ i: Int) -> KANBlock {
      let offset = ScratchPool.bytes(Float.self, denseFloats) * (denseFloats > 0 ? 1 : 0)
      return KANBlock(
        capacity: rows, order: order, intervals: intervals,
        memory: first + b * blockStride + offset + i * blockBytes)
    }
  }

  /// The cache layout for `n` rows: rows per block, blocks, dense floats per block, total
  /// bytes and the layout tag compared in `backward`.
  func cacheLayout(_ n: Int) -> (
    rows: Int, blocks: Int, denseFloats: Int, intervals: Int, blockBytes: Int, stride: Int,
    bytes: Int, tag: Int
  ) {
    let (nIn, k) = (inputDim, options.order)
    let dense = usesDenseBases
    let rows: Int
    let blocks: Int
    let denseFloats: Int
    let intervals: Int
    if dense {
      (blocks, rows) = denseSplit(n, inputs: nIn)
      denseFloats = rows * nIn * denseColumnsPerInput
      intervals = 0
    } else {
      rows = Self.rowsPerTask
      blocks = (n + rows - 1) / rows
      denseFloats = 0
      intervals = options.knotCount - 1  // as `accumulateParameterGradients`' blocks
    }
    let blockBytes = KANBlock.byteCount(capacity: rows, order: k, intervals: intervals)
    let stride =
      (denseFloats > 0 ? ScratchPool.bytes(Float.self, denseFloats) : 0)
      + nIn * blockBytes
    let bytes =
      ScratchPool.bytes(Float.self, n * nIn)
      + ScratchPool.bytes(Float.self, grid.value.count) + blocks * stride
    // The tag describes everything the layout and the cached values depend on besides the
    // compared x and knots (whose copies must have the current sizes): a forward pass
    // reuses blocks on a tag match, without the generation check `backward` has. (Hasher
    // is seeded per process; tags are only compared within one.)
    var hasher = Hasher()
    hasher.combine(rows)
    hasher.combine(blocks)
    hasher.combine(denseFloats)
    hasher.combine(intervals)
    hasher.combine(blockBytes)
    hasher.combine(bytes)
    hasher.combine(k)
    hasher.combine(nIn)
    hasher.combine(grid.value.count)
    hasher.combine(dense)
    let tag = hasher.finalize()
    return (rows, blocks, denseFloats, intervals, blockBytes, stride, bytes, tag)
  }

  /// The view of `memory` for `n` rows (`cacheLayout`).
  func basisCache(_ memory: UnsafeMutableRawPointer, _ n: Int) -> BasisCache {
    let l = cacheLayout(n)
    var cursor = ScratchCursor(memory)
    let xCopy = cursor.take(Float.self, n * inputDim)
    let knots = cursor.take(Float.self, grid.value.count)
    let first = cursor.take(UInt8.self, 1)  // the cursor is cache-line aligned here
    return BasisCache(
      xCopy: xCopy, knots: knots, first: UnsafeMutableRawPointer(first), blockStride: l.stride,
      rows: l.rows, denseFloats: l.denseFloats, inputs: inputDim, order: options.order,
      intervals: l.intervals, blockBytes: l.blockBytes)
  }

  /// Whether the cached passes apply: no symbolic branch (its own passes recompute), and on
  /// the dense path OpenBLAS single-threaded (what Lamina sets; see `BLAS.singleThreaded`).
  private var cachedPassesApply: Bool {
    guard symbolicTensors == nil else { return false }
    guard usesDenseBases else { return true }
    _ = BLAS.singleThreaded  // set before it is read below
    return openblas_get_num_threads() <= 1
  }

  /// `forward`, leaving the basis blocks (and dense rows) in `cache`; the same outputs.
  ///
  /// When the cache already holds this layer's blocks for the same input values and knots
  /// (the previous training pass saw the same x: full-batch LBFGS evaluating new weights on
  /// the same data, whose first layer's input never changes), they are kept and only the
  /// products with the current weights are computed: nothing cached depends on the weights.
  func forward(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int,
    keeping cache: ForwardCache
  ) {
    guard n > 0, outputDim > 0, cachedPassesApply else {
      cache.clear()
      forward(x, y, count: n)
      return
    }
    let layout = cacheLayout(n)
    if let memory = cache.contents(for: self, input: x, rows: n, layout: layout.tag) {
      let view = basisCache(memory, n)
      let reusable = grid.value.withUnsafeBufferPointer { gb in
        ForwardCache.sameBits(view.knots, gb.baseAddress!, count: gb.count)
          && ForwardCache.sameBits(view.xCopy, x, count: n * inputDim)
      }
      if reusable {
        grid.value.withUnsafeBufferPointer { gb in
          withTables(knots: gb.baseAddress!) { tables in
            if tables.dense {
              denseForward(x, y, n, tables, inputs: inputDim, cache: view, prepared: true)
            } else {
              sparseForward(x, y, n, tables, cache: view, prepared: true)
            }
          }
        }
        return
      }
    }
    cache.clear()
    guard
      let memory = cache.begin(self, input: x, rows: n, layout: layout.tag, bytes: layout.bytes)
    else {
      forward(x, y, count: n)
      return
    }
    let view = basisCache(memory, n)
    view.xCopy.update(from: x, count: n * inputDim)
    grid.value.withUnsafeBufferPointer { gb in
      view.knots.update(from: gb.baseAddress!, count: gb.count)
      withTables(knots: gb.baseAddress!) { tables in
        if tables.dense {
          denseForward(x, y, n, tables, inputs: inputDim, cache: view)
        } else {
          sparseForward(x, y, n, tables, cache: view)
        }
      }
    }
    cache.seal()
  }

  /// `backward`, reading the basis blocks from `cache` when they are this input's (checked
  /// against the copies of x and the knots); the same results to the bit.
  func backward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool,
    reusing cache: ForwardCache
  ) {
    guard n > 0, outputDim > 0, cachedPassesApply,
      let memory = cache.contents(for: self, input: x, rows: n, layout: cacheLayout(n).tag)
    else {
      backward(x, y, dy, dx, count: n, parameterGradients: parameterGradients)
      return
    }
    let view = basisCache(memory, n)
    let fresh = grid.value.withUnsafeBufferPointer { gb in
      ForwardCache.sameBits(view.knots, gb.baseAddress!, count: gb.count)
    }
    guard fresh, ForwardCache.sameBits(view.xCopy, x, count: n * inputDim) else {
      backward(x, y, dy, dx, count: n, parameterGradients: parameterGradients)
      return
    }
    grid.value.withUnsafeBufferPointer { gb in
      withTables(knots: gb.baseAddress!) { tables in
        if tables.dense {
          denseBackward(x, dy, dx, n, tables, parameterGradients: parameterGradients, cache: view)
          return
        }
        if let dx { inputGradient(x, dy, dx, n, tables, cache: view) }
        if parameterGradients { accumulateParameterGradients(x, dy, n, tables, cache: view) }
      }
    }
  }
}
