import CBLAS
import CLaminaKernels

/// The dense path of `BSplineKANLayer`, taken on small grids (few bases per input).
///
/// Per block of rows, the layer writes the dense rows
///
///     a_r = [b(x_r0), B_0(x_r0) ... B_{G+k-1}(x_r0), b(x_r1), B_0(x_r1), ...]
///
/// (b the base branch: SiLU unless "base_fun" names another; in * (G + k + 1) columns, at
/// most k + 2 non-zero per input) and hands the products to sgemm: forward y = A W,
/// parameter-gradient sums A^T dy, input gradient through dA = dy W^T, with W the
/// [in * (G + k + 1)] x [out] table of `Tables` in its dense layout (per input: scale_base *
/// mask, then coef_m * scale_sp * mask). On small grids this does
/// (G + k + 1) / (k + 2) times the multiply-adds of the sparse path, but sgemm runs them with
/// the machine's widest vectors and fused multiply-adds (OpenBLAS picks its kernel at run
/// time), which the portable Swift build cannot, so small grids take this path (bench/NOTES.md,
/// "B-spline KAN training step"). On large grids the sparse path's G-independent cost wins,
/// so the path is chosen from the widths (`usesDenseBases`).
///
/// On CPUs with AVX2/FMA, the cubic basis blocks, the scatter of the dense rows and dx run in
/// the kernels of CLaminaKernels/kan.h (the same bits as the Swift code), and layers with at
/// most `smallOutputLimit` outputs do their products there too instead of in sgemm, whose
/// packing of the dense rows dominated with so few outputs (forward: fused sums over the
/// columns in order; parameter sums: eight lanes added pairwise, whose last bits differ from
/// sgemm's but are still fixed by the block's shape).
///
/// Rows are split into fixed blocks that depend only on the batch size and the layer's
/// widths; each block's parameter-gradient sums go to a slot of their own and slots are
/// added in block order, so results are bit-identical whatever the thread count.
extension BSplineKANLayer {
  /// Columns of the dense rows per input: the base branch, then the G + k bases.
  var denseColumnsPerInput: Int { options.basisCount + 1 }

  /// The dense path is taken while the dense rows are at most this many times wider than
  /// the k + 2 non-zero terms per input (4: G <= 3k + 4, e.g. G <= 13 for cubics).
  static let denseWidthFactor = 4

  /// Whether forward and backward take the dense path (see the extension's comment).
  var usesDenseBases: Bool {
    return denseColumnsPerInput <= Self.denseWidthFactor * (options.order + 2)
  }

  /// Floats of dense rows one block aims at (512 KB: big enough that sgemm's packing of
  /// the weight table is paid over many rows, small enough to stay near the core).
  static let denseBlockFloats = 131_072

  /// Most parameter-gradient slots (one per task, each summing its blocks in order).
  static let denseGradientSlots = 8

  /// Most outputs of the small-output kernels of CLaminaKernels/kan.h: with this few
  /// outputs sgemm spends most of its time packing the dense rows (each value is used for
  /// only `outputDim` multiply-adds), which these kernels read in place.
  static let smallOutputLimit = 12

  /// Whether layers with at most `smallOutputLimit` outputs use the small-output kernels on
  /// an AVX2/FMA CPU (tests switch it off to compare with the sgemm path).
  static var useSmallOutputKernels = true

  /// Whether this layer's dense products run in the small-output kernels (one thread per
  /// block, fused multiply-adds in an order fixed by the block's shape) instead of sgemm.
  var smallOutputs: Bool {
    KANBlock.useAVX2 && Self.useSmallOutputKernels && outputDim <= Self.smallOutputLimit
  }

  /// Floats of scratch the small-output kernels need per block of `rows` rows (dy
  /// transposed), 0 when they are not used.
  func smallOutputScratch(rows: Int) -> Int { smallOutputs ? outputDim * ((rows + 7) & ~7) : 0 }

  /// The fixed split of `n` rows of `inputs` inputs into blocks: `tasks` blocks of `rows`
  /// rows (a multiple of 8; the last block may be shorter), from the widths and `n` only.
  func denseSplit(_ n: Int, inputs: Int) -> (tasks: Int, rows: Int) {
    let width = inputs * denseColumnsPerInput
    let maxRows = max(8, min(1024, Self.denseBlockFloats / max(width, 1)))
    var tasks = (n + maxRows - 1) / maxRows
    // An even count, so that two threads get equal shares.
    if tasks > 1 { tasks += tasks & 1 }
    let rows = ((n + tasks - 1) / tasks + 7) & ~7
    return ((n + rows - 1) / rows, rows)
  }

  /// Runs `body` with a basis block of `rows` rows and room for `rows` SiLU derivatives.
  @inline(__always)
  func withBasisBlock<R>(rows: Int, _ body: (KANBlock, UnsafeMutablePointer<Float>) -> R) -> R {
    let blockBytes = KANBlock.byteCount(capacity: rows, order: options.order)
    return blockScratch.withBytes(blockBytes + ScratchPool.bytes(Float.self, rows)) { raw in
      // blockBytes is a whole number of cache lines, so the derivatives start aligned.
      let sd = (raw + blockBytes).bindMemory(to: Float.self, capacity: rows)
      return body(KANBlock(capacity: rows, order: options.order, memory: raw), sd)
    }
  }

  /// Blocks per group when the passes run phase by phase (OpenBLAS threaded): the groups'
  /// dense rows (`floats` per block, `buffers` buffers) stay within 16 MB.
  static func denseGroup(blocks: Int, floats: Int, buffers: Int) -> Int {
    max(1, min(blocks, (1 << 22) / max(1, floats * buffers)))
  }

  /// Writes the dense rows of the `count` rows from `start`, transposed, into `a` when it is
  /// non-nil (width x `block.capacity`, column q of row c holding A[q, c]) and, when `dA` is
  /// given (same layout), dx_ri = b'(x_ri) dA[r, iP] + sum_m B'_m(x_ri) dA[r, iP + 1 + m]
  /// (P = G + k + 1) into `dx`.
  ///
  /// `block(i)` is input i's basis block: prepared here (with derivatives when `dA` and
  /// `dx` are given or `derivatives` asks for them) unless `prepared`, when it holds what a
  /// forward pass left in a `ForwardCache` (the same bits).
  ///
  /// Transposed, each input's P rows are one contiguous region of a few KB, so the scatter
  /// of the k + 2 non-zero values per row stays in L1 instead of touching one cache line of
  /// a large buffer per sample and input.
  @inline(__always)
  func fillDenseColumns(
    _ x: UnsafePointer<Float>, start: Int, count: Int, into a: UnsafeMutablePointer<Float>?,
    block blockOf: (Int) -> KANBlock, prepared: Bool, derivatives: Bool, tables: Tables,
    inputs nIn: Int, dA: UnsafePointer<Float>?, siluDerivative sd: UnsafeMutablePointer<Float>,
    dx: UnsafeMutablePointer<Float>?
  ) {
    let (k, nb) = (options.order, options.basisCount)
    let p = nb + 1
    let gradient = dA != nil && dx != nil
    for i in 0..<nIn {
      let block = blockOf(i)
      let c = block.capacity
      if !prepared {
        block.prepare(
          tables.bases[i], column: x + start * nIn + i, stride: nIn, count: count,
          base: options.baseFunction, siluDerivative: false,
          withDerivatives: gradient || derivatives,
          keepSiluPrime: derivatives)
      }
      let (b, d) = (block.values, block.derivatives)
      if let a {
        let region = a + i * p * c
        region.update(from: block.silu, count: count)
        // Basis m of row q is region[(1 + m) * c + q]: B_{first+t} = b_t where
        // m - first = t for some t in 0...k, else 0. Eight rows at a time, each value
        // stored once (vector compares against the float index of the first basis), instead
        // of zeroing the region and scattering k + 1 values per row.
        let basis0 = region + c
        let padded = (count + 7) & ~7
        if k == 3 && KANBlock.useAVX2 {
          // The same selection in AVX2 (CLaminaKernels/kan.h).
          lamina_kan_cubic_scatter(padded, nb, block.firstBasis, b, c, region)
        }
        var q = k == 3 && KANBlock.useAVX2 ? padded : 0
        while q < padded {
          let first = load8(block.firstBasis + q)
          if k == 3 {
            // Column m = (b0 & [first = m]) | (b1 & [first = m - 1]) | ... : one compare
            // per column, the three previous columns' masks carried along.
            let (b0, b1, b2, b3) = (
              Self.bits(load8(b + q)), Self.bits(load8(b + c + q)),
              Self.bits(load8(b + 2 * c + q)), Self.bits(load8(b + 3 * c + q))
            )
            var (e1, e2, e3) = (
              Self.mask(first, -1), Self.mask(first, -2), Self.mask(first, -3)
            )
            for m in 0..<nb {
              let e0 = Self.mask(first, Float(m))
              let v = (b0 & e0) | (b1 & e1) | (b2 & e2) | (b3 & e3)
              store8(unsafeBitCast(v, to: SIMD8<Float>.self), basis0 + m * c + q)
              (e3, e2, e1) = (e2, e1, e0)
            }
          } else {
            for m in 0..<nb {
              let rel = Float(m) - first
              var v = SIMD8<Float>(repeating: 0)
              for t in 0...k {
                v.replace(with: load8(b + t * c + q), where: rel .== Float(t))
              }
              store8(v, basis0 + m * c + q)
            }
          }
          q += 8
        }
      }
      guard gradient, let dA, let dx else { continue }
      // b'(x) of the base branch (SiLU: s (1 + x (1 - s)), s = sigmoid(x)), eight rows at a
      // time (the block's x is zero-padded to whole vectors); a cached block has it already.
      let sd = prepared ? UnsafeMutablePointer(block.siluPrime) : sd
      if !prepared {
        options.baseFunction.write(
          block.x, count: (count + 7) & ~7, derivative: true, into: sd, prime: nil)
      }
      let g = dA + i * p * c
      let g0 = g + c
      if k == 3 && KANBlock.useAVX2 {
        // The same sums in AVX2 (CLaminaKernels/kan.h).
        lamina_kan_cubic_dx(count, nb, block.firstBasis, d, sd, g, c, dx + start * nIn + i, nIn)
        continue
      }
      for q in 0..<count {
        var total = sd[q] * g[q]
        let mu = block.interval[q]
        if k == 3 && mu >= 3 && mu < nb {
          // Interior cubic row: the four terms in the loop's order, without its tests.
          let src = g0 + (mu - 3) * c + q
          total += d[q] * src[0]
          total += d[c + q] * src[c]
          total += d[2 * c + q] * src[2 * c]
          total += d[3 * c + q] * src[3 * c]
        } else if mu >= 0 {
          let first = mu - k
          for t in 0...k where first + t >= 0 && first + t < nb {
            total += d[t * c + q] * g0[(first + t) * c + q]
          }
        }
        dx[(start + q) * nIn + i] = total
      }
    }
  }

  /// The bits of eight floats.
  @inline(__always)
  static func bits(_ v: SIMD8<Float>) -> SIMD8<UInt32> { unsafeBitCast(v, to: SIMD8<UInt32>.self) }

  /// All ones in the lanes where `v` equals `value`, zeros elsewhere.
  @inline(__always)
  static func mask(_ v: SIMD8<Float>, _ value: Float) -> SIMD8<UInt32> {
    var m = SIMD8<UInt32>(repeating: 0)
    m.replace(with: SIMD8<UInt32>(repeating: ~0), where: v .== SIMD8<Float>(repeating: value))
    return m
  }

  /// Forward on the dense path: y = A W block by block. With OpenBLAS single-threaded each
  /// block is filled and multiplied by one task; otherwise the blocks of a group are filled
  /// in parallel and then multiplied one after another on OpenBLAS's threads. Each block's
  /// sgemm is the same call either way.
  ///
  /// `inputs` is the inputs per row of `x` and in `tables` (`inputDim`, or 1 for one edge's
  /// input, see `denseEdgeValues`).
  ///
  /// With `cache` (training, `BSplineKANLayer+Reuse.swift`), each block's basis blocks are
  /// prepared with derivatives and, like its dense rows, left in the cache for `backward`;
  /// with `prepared` too, the cache already holds them for this x and knots and only the
  /// products are computed.
  func denseForward(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, _ tables: Tables,
    inputs: Int, cache: BasisCache? = nil, prepared: Bool = false
  ) {
    let (blocks, rows) = denseSplit(n, inputs: inputs)
    var job = DenseForwardBlocks(
      layer: self, x: x, y: y, n: n, tables: tables, inputs: inputs, rows: rows, cache: cache,
      prepared: prepared)
    let floats = job.floats
    let work = n * job.width * outputDim
    _ = BLAS.singleThreaded  // set before it is read below
    if openblas_get_num_threads() <= 1 || smallOutputs {
      // Each block filled (or read from the cache) and multiplied by one task.
      Self.parallel(blocks, work: work, &job)
      return
    }
    if let cache {
      // Dense rows and basis blocks straight into the cache.
      if !prepared { Self.parallel(blocks, work: work) { b in job.fillCached(b) } }
      for b in 0..<blocks { job.multiply(b, cache.dense(b)) }
      return
    }
    let group = Self.denseGroup(blocks: blocks, floats: floats, buffers: 1)
    tableScratch.withBuffer(count: group * floats) { all in
      var first = 0
      while first < blocks {
        let m = min(group, blocks - first)
        Self.parallel(m, work: work) { t in job.fill(first + t, all + t * floats) }
        for t in 0..<m { job.multiply(first + t, all + t * floats) }
        first += m
      }
    }
  }

  /// `denseForward`'s blocks as a pool job (handed to the worker pool without allocating),
  /// and the pieces its OpenBLAS-threaded schedule calls one phase at a time.
  struct DenseForwardBlocks: PoolJob {
    unowned(unsafe) let layer: BSplineKANLayer
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let n: Int
    let tables: Tables
    let inputs: Int
    /// Rows per block (`denseSplit`).
    let rows: Int
    let cache: BasisCache?
    let prepared: Bool

    /// Dense columns of a row, and floats of one block's dense rows.
    var width: Int { inputs * layer.denseColumnsPerInput }
    var floats: Int { rows * width }

    /// Block b: its dense rows (in the cache, or in scratch) and its product.
    func run(_ b: Int) {
      if let cache {
        fillCached(b)
        multiply(b, cache.dense(b))
        return
      }
      layer.blockScratch.withBuffer(count: floats) { a in
        fill(b, a)
        multiply(b, a)
      }
    }

    /// Block b's dense rows into `a`, its bases prepared in scratch.
    func fill(_ b: Int, _ a: UnsafeMutablePointer<Float>) {
      layer.withBasisBlock(rows: rows) { block, sd in
        let start = b * rows
        layer.fillDenseColumns(
          x, start: start, count: min(n, start + rows) - start, into: a, block: { _ in block },
          prepared: false, derivatives: false, tables: tables, inputs: inputs, dA: nil,
          siluDerivative: sd, dx: nil)
      }
    }

    /// Block b's dense rows and basis blocks (with derivatives) into the cache, unless it
    /// holds them already (`prepared`).
    func fillCached(_ b: Int) {
      guard let cache, !prepared else { return }
      let start = b * rows
      let a = cache.dense(b)
      layer.fillDenseColumns(
        x, start: start, count: min(n, start + rows) - start, into: a,
        block: { cache.block(b, $0) }, prepared: false, derivatives: true, tables: tables,
        inputs: inputs, dA: nil, siluDerivative: a, dx: nil)
    }

    /// y of block b = its dense rows `a` times the weights.
    func multiply(_ b: Int, _ a: UnsafePointer<Float>) {
      let start = b * rows
      let nOut = layer.outputDim
      if layer.smallOutputs {
        lamina_kan_dense_forward_small(
          min(n, start + rows) - start, width, nOut, a, rows, tables.spline, y + start * nOut)
        return
      }
      BLAS.gemm(
        transA: true, transB: false, m: min(n, start + rows) - start, n: nOut, k: width,
        alpha: 1, a, lda: rows, tables.spline, ldb: nOut, beta: 0, y + start * nOut, ldc: nOut)
    }
  }

  /// Backward on the dense path: per block, dA = dy W^T and dx from it (when asked), and
  /// the block's sums A^T dy added to a slot (block b to slot b mod S, in block order, the
  /// first block of a slot overwriting it); slots are added in slot order and turned into
  /// parameter gradients (when asked). Executed as `denseForward` is, with the same calls.
  ///
  /// With `cache` (filled by `denseForward` for this x), the dense rows and basis blocks
  /// are read from it instead of being rebuilt; the products and sums are the same calls.
  func denseBackward(
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>?,
    _ n: Int, _ tables: Tables, parameterGradients: Bool, cache: BasisCache? = nil
  ) {
    let nOut = outputDim
    let width = inputDim * denseColumnsPerInput
    let (blocks, rows) = denseSplit(n, inputs: inputDim)
    let slots = min(blocks, Self.denseGradientSlots)
    let slot = width * nOut
    let floats = rows * width
    let work = n * width * nOut * ((dx != nil ? 1 : 0) + (parameterGradients ? 1 : 0))
    let buffers = dx != nil ? 2 : 1
    tableScratch.withBuffer(count: parameterGradients ? slots * slot : 1) { sums in
      var job = DenseBackwardSlots(
        layer: self, x: x, dy: dy, dx: dx, n: n, tables: tables,
        parameterGradients: parameterGradients, cache: cache, sums: sums, rows: rows,
        blocks: blocks, slots: slots)
      _ = BLAS.singleThreaded  // set before it is read below
      if openblas_get_num_threads() <= 1 || smallOutputs {
        // Slot s's blocks s, s + S, ... by one task.
        Self.parallel(slots, work: work, &job)
      } else if let cache {
        // OpenBLAS threads the products; blocks one after another.
        blockScratch.withBuffer(count: dx != nil ? floats + rows : 1) { buffer in
          for b in 0..<blocks { job.cachedBlock(b, cache, buffer) }
        }
      } else {
        let group = Self.denseGroup(blocks: blocks, floats: floats, buffers: buffers)
        tableScratch.withBuffer(count: group * buffers * floats) { all in
          let dAll = all + group * floats
          var first = 0
          while first < blocks {
            let m = min(group, blocks - first)
            if dx != nil {
              for t in 0..<m { job.inputProducts(first + t, dAll + t * floats) }
            }
            Self.parallel(m, work: work) { t in
              job.fill(first + t, all + t * floats, buffers > 1 ? dAll + t * floats : all)
            }
            if parameterGradients {
              for t in 0..<m { job.sum(first + t, all + t * floats) }
            }
            first += m
          }
        }
      }
      guard parameterGradients else { return }
      if slots > 1 {
        // Slots added in order; the columns are split in fixed pieces.
        let pieces = max(1, min(8, slot / 4096))
        var sum = SlotSums(sums: sums, slots: slots, slot: slot, per: (slot + pieces - 1) / pieces)
        Self.parallel(pieces, work: slots * slot, &sum)
      }
      addParameterGradients(
        sums: sums, inputStride: denseColumnsPerInput * nOut, basisRow: 1, baseRow: 0)
    }
  }

  /// `denseBackward`'s slots as a pool job (handed to the worker pool without allocating),
  /// and the pieces its OpenBLAS-threaded schedule calls one phase at a time.
  struct DenseBackwardSlots: PoolJob {
    unowned(unsafe) let layer: BSplineKANLayer
    let x: UnsafePointer<Float>
    let dy: UnsafePointer<Float>
    let dx: UnsafeMutablePointer<Float>?
    let n: Int
    let tables: Tables
    let parameterGradients: Bool
    let cache: BasisCache?
    /// `slots` partial sums of `slot` floats each (when `parameterGradients`).
    let sums: UnsafeMutablePointer<Float>
    let rows: Int
    let blocks: Int
    let slots: Int

    var nOut: Int { layer.outputDim }
    var width: Int { layer.inputDim * layer.denseColumnsPerInput }
    var floats: Int { rows * width }
    var slot: Int { width * nOut }

    /// Slot `task`: blocks task, task + slots, ... in order, with scratch of its own.
    func run(_ task: Int) {
      let extra = layer.smallOutputScratch(rows: rows)
      if let cache {
        layer.blockScratch.withBuffer(count: (dx != nil ? floats + rows : 1) + extra) { buffer in
          let scratch = buffer + (dx != nil ? floats + rows : 1)
          for b in stride(from: task, to: blocks, by: slots) {
            cachedBlock(b, cache, buffer, scratch: scratch)
          }
        }
        return
      }
      let buffers = dx != nil ? 2 : 1
      layer.blockScratch.withBuffer(count: buffers * floats + extra) { a in
        let dA = buffers > 1 ? a + floats : a
        let scratch = a + buffers * floats
        for b in stride(from: task, to: blocks, by: slots) {
          if dx != nil { inputProducts(b, dA, scratch: scratch) }
          fill(b, a, dA)
          if parameterGradients { sum(b, a, scratch: scratch) }
        }
      }
    }

    /// dA^T = W dy^T for block b (width x count, leading dimension rows).
    /// `scratch` holds `smallOutputScratch(rows:)` floats.
    func inputProducts(
      _ b: Int, _ dA: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>? = nil
    ) {
      let start = b * rows
      if layer.smallOutputs, let scratch {
        lamina_kan_dense_input_small(
          min(n, start + rows) - start, width, nOut, tables.spline, dy + start * nOut, dA, rows,
          scratch)
        return
      }
      BLAS.gemm(
        transA: false, transB: true, m: width, n: min(n, start + rows) - start, k: nOut,
        alpha: 1, tables.spline, lda: nOut, dy + start * nOut, ldb: nOut, beta: 0, dA,
        ldc: rows)
    }

    /// Block b's dense rows into `a` and its dx from dA (when asked).
    func fill(_ b: Int, _ a: UnsafeMutablePointer<Float>, _ dA: UnsafePointer<Float>) {
      layer.withBasisBlock(rows: rows) { block, sd in
        let start = b * rows
        layer.fillDenseColumns(
          x, start: start, count: min(n, start + rows) - start, into: a, block: { _ in block },
          prepared: false, derivatives: false, tables: tables, inputs: layer.inputDim,
          dA: dx != nil ? dA : nil, siluDerivative: sd, dx: dx)
      }
    }

    /// Block b's sums A^T dy into its slot (the slot's first block overwrites it).
    /// `scratch` holds `smallOutputScratch(rows:)` floats.
    func sum(_ b: Int, _ a: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>? = nil) {
      let start = b * rows
      if layer.smallOutputs, let scratch {
        lamina_kan_dense_sums_small(
          min(n, start + rows) - start, width, nOut, a, rows, dy + start * nOut,
          sums + (b % slots) * slot, b < slots ? 0 : 1, scratch)
        return
      }
      BLAS.gemm(
        transA: false, transB: false, m: width, n: nOut, k: min(n, start + rows) - start,
        alpha: 1, a, lda: rows, dy + start * nOut, ldb: nOut, beta: b < slots ? 0 : 1,
        sums + (b % slots) * slot, ldc: nOut)
    }

    /// dx of block b from its cached basis blocks and dA (in `buffer`: floats, then rows),
    /// and its sums from its cached dense rows.
    func cachedBlock(
      _ b: Int, _ cache: BasisCache, _ buffer: UnsafeMutablePointer<Float>,
      scratch: UnsafeMutablePointer<Float>? = nil
    ) {
      if let dx {
        let start = b * rows
        inputProducts(b, buffer, scratch: scratch)
        layer.fillDenseColumns(
          x, start: start, count: min(n, start + rows) - start, into: nil,
          block: { cache.block(b, $0) }, prepared: true, derivatives: true, tables: tables,
          inputs: layer.inputDim, dA: buffer, siluDerivative: buffer + floats, dx: dx)
      }
      if parameterGradients { sum(b, cache.dense(b), scratch: scratch) }
    }
  }

  /// The slot reduction of `denseBackward` as a pool job: piece p adds slots 1 ... S - 1,
  /// in order, into slot 0 over its fixed range of columns.
  struct SlotSums: PoolJob {
    let sums: UnsafeMutablePointer<Float>
    let slots: Int
    let slot: Int
    /// Columns per piece.
    let per: Int

    func run(_ piece: Int) {
      let (from, to) = (piece * per, min(slot, (piece + 1) * per))
      guard from < to else { return }
      for t in 1..<slots {
        let other = sums + t * slot
        for e in from..<to { sums[e] += other[e] }
      }
    }
  }

  /// Rows per chunk of `denseEdgeValues`, which bounds its scratch to this many rows.
  static let edgeValueChunk = 16384

  /// phi_ij at `n` points on the dense path: the dense forward of input i alone against all
  /// outputs (the same block split and sgemm calls as `forward` of a one-input layer, so
  /// for up to `edgeValueChunk` points such a layer's edge curve is its output to the bit),
  /// column j kept.
  func denseEdgeValues(
    input i: Int, output j: Int, at x: UnsafePointer<Float>, count n: Int,
    into y: UnsafeMutablePointer<Float>
  ) {
    let nOut = outputDim
    grid.value.withUnsafeBufferPointer { gb in
      withTables(knots: gb.baseAddress!) { tables in
        var one = tables
        one.spline = tables.spline + i * denseColumnsPerInput * nOut
        one.base = tables.base + i * nOut
        one.bases = tables.bases + i
        // In bounded chunks: the scratch holds every output of a row, and `n` is only
        // limited by the batch limit (n x 64 outputs could be hundreds of GB at once).
        let chunk = min(n, Self.edgeValueChunk)
        tableScratch.withBuffer(count: chunk * nOut) { out in
          var start = 0
          while start < n {
            let m = min(chunk, n - start)
            denseForward(x + start, out, m, one, inputs: 1)
            for s in 0..<m { y[start + s] = out[s * nOut + j] }
            start += m
          }
        }
      }
    }
  }
}
