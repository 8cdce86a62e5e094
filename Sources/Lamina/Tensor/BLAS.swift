import CBLAS
import CLaminaKernels

/// Typed wrappers over the OpenBLAS calls the engine uses. All matrices are row-major.
///
/// Threads: Lamina runs OpenBLAS single-threaded and parallelises products itself.
/// OpenBLAS's own pool spin-waits (`sched_yield`) between calls, which on a shared or busy
/// machine costs more than the products it splits, and it splits even small products
/// (256 x 64 x 64) over every core. So before its first BLAS call Lamina sets OpenBLAS to
/// one thread (`openblas_set_num_threads(1)`, process-wide: a host that also calls the same
/// OpenBLAS gets one thread too), and `gemm` splits large products into fixed row (or
/// column) blocks run on Lamina's `WorkerPool`, one thread per core (`Parallel.run`), each
/// element of C computed by one single-threaded call over the whole of k. Only when C is too
/// small to split (a weight gradient over a large batch) is k split, and the partial
/// products are added in a fixed order. The blocks depend on the shape only: results are
/// bit-identical on any number of cores.
enum BLAS {
  /// Sets OpenBLAS to one thread. A static's initialiser runs exactly once, on first use,
  /// thread-safely; every entry point that calls OpenBLAS reads it first.
  static let singleThreaded: Void = openblas_set_num_threads(1)

  /// Products of fewer multiply-adds (m n k) than this run on the calling thread: below it,
  /// handing blocks to another thread (a worker pool hand-off, a few microseconds, plus
  /// repacking the shared operand per block) costs about what the second core saves. The
  /// pool allocates nothing, so the 256 x 64 x 64 products of a small MLP's training step
  /// (about 20 us each on one core) split in two. (It was 4 << 20 with Dispatch, whose
  /// hand-off cost more and which allocated per call.)
  static let splitWork = 1 << 20
  /// Fewest multiply-adds per block, so each single-threaded call amortises its packing.
  static let blockWork = 1 << 18
  /// Rows per chunk of a chunk-parallel prediction are sized so that a chunk's products stay
  /// below this many multiply-adds (`Model.parallelPredictRows`): a chunk runs whole on one
  /// thread, and chunks, not products, are what run in parallel.
  static let chunkWork = 4 << 20
  /// Fewest rows (or columns) of C per block, a multiple of the sgemm micro-kernel's tile.
  /// Each block's call packs the whole shared operand (all of op(B) for a row block) again,
  /// about `1 / blockRows` of the block's multiply-adds in copies that are several times
  /// slower each: with 16-row blocks, the weight gradient dY^T X (256 x 256 x 4096) spent
  /// more time repacking X than multiplying.
  static let blockRows = 128
  /// Fewest columns of C per block when C is small and k short (a 64 x 64 weight gradient
  /// over a 256-row batch), so that such a product still splits in two.
  static let blockColumns = 32
  /// At most this many blocks per product: enough for the worker pool to balance two to four
  /// cores (and a core that another process holds), few enough that repacking the shared
  /// operand per block stays small.
  static let maxBlocks = 8

  /// C = alpha * op(A) op(B) + beta * C, where op transposes when asked.
  /// op(A) is m x k, op(B) is k x n, C is m x n. Large products are split over rows of C
  /// (columns when C has few rows) and run in parallel; see the type's notes.
  @inline(__always)
  static func gemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
    beta: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    _ = singleThreaded
    guard let plan = split(m: m, n: n, k: k) else {
      call(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
      return
    }
    if plan.axis == .inner {
      gemmSplitInner(
        plan, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a, lda: lda, b,
        ldb: ldb, beta: beta, c, ldc: ldc)
      return
    }
    var job = GemmBlocks(
      transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b,
      ldb: ldb, beta: beta, c: c, ldc: ldc, axis: plan.axis, size: plan.size, scratch: nil)
    Parallel.run(plan.blocks, &job)
  }

  /// The blocks of one split product, as a pool job (no closure, so no allocation).
  struct GemmBlocks: PoolJob {
    let transA: Bool
    let transB: Bool
    let m: Int
    let n: Int
    let k: Int
    let alpha: Float
    let a: UnsafePointer<Float>
    let lda: Int
    let b: UnsafePointer<Float>
    let ldb: Int
    let beta: Float
    let c: UnsafeMutablePointer<Float>
    let ldc: Int
    let axis: Axis
    let size: Int
    /// Inner splits: where blocks after the first put their m x n partial products.
    let scratch: UnsafeMutablePointer<Float>?

    static let task: PoolTask = { context, block in
      context.assumingMemoryBound(to: GemmBlocks.self).pointee.run(block)
    }

    /// Block `block` of the product.
    func run(_ block: Int) {
      let start = block * size
      switch axis {
      case .rows:
        // Rows start..<start+size of C: the same rows of op(A), all of B.
        let rows = min(size, m - start)
        let aBlock = transA ? a + start : a + start * lda
        call(transA, transB, rows, n, k, alpha, aBlock, lda, b, ldb, beta, c + start * ldc, ldc)
      case .columns:
        // Columns start..<start+size of C: all of op(A), the same columns of op(B).
        let columns = min(size, n - start)
        let bBlock = transB ? b + start * ldb : b + start
        call(transA, transB, m, columns, k, alpha, a, lda, bBlock, ldb, beta, c + start, ldc)
      case .inner:
        // Columns start..<start+size of op(A), the same rows of op(B).
        let depth = min(size, k - start)
        let aBlock = transA ? a + start * lda : a + start
        let bBlock = transB ? b + start : b + start * ldb
        if block == 0 {
          call(transA, transB, m, n, depth, alpha, aBlock, lda, bBlock, ldb, beta, c, ldc)
        } else if let scratch {
          call(
            transA, transB, m, n, depth, alpha, aBlock, lda, bBlock, ldb, 0,
            scratch + (block - 1) * m * n, n)
        }
      }
    }
  }

  /// A product with a long inner dimension and a small C (a weight gradient dY^T X over a
  /// large batch, m and n below two blocks): block 0 of k accumulates into C with the
  /// caller's beta, the other blocks into scratch, which is then added to C block by block
  /// in order, so the sums are the same on any core count.
  private static func gemmSplitInner(
    _ plan: (axis: Axis, blocks: Int, size: Int), transA: Bool, transB: Bool, m: Int, n: Int,
    k: Int, alpha: Float, _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>,
    ldb: Int, beta: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    let area = m * n
    // The partial products' room is borrowed, so a training step allocates nothing here
    // after its first call; C is small (m, n < 256), at most 3 x 256 KB.
    innerScratch.withBuffer(count: (plan.blocks - 1) * area) { scratch in
      var job = GemmBlocks(
        transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b,
        ldb: ldb, beta: beta, c: c, ldc: ldc, axis: .inner, size: plan.size, scratch: scratch)
      Parallel.run(plan.blocks, &job)
      for part in 0..<(plan.blocks - 1) {
        let p = scratch + part * area
        for i in 0..<m {
          let (ci, pi) = (c + i * ldc, p + i * n)
          for j in 0..<n { ci[j] += pi[j] }
        }
      }
    }
  }

  /// Room for `gemmSplitInner`'s partial products, one buffer per concurrent caller. Its
  /// callers may run on pool threads (the row pipeline's decoder copies), so the buffers
  /// are kept in step, one per pool thread (see `ScratchPool.init(perThread:)`).
  private static let innerScratch = ScratchPool(perThread: 1)

  /// Runs `body(start, count)` over blocks of rows `start ..< start + count` covering
  /// `0 ..< m`, where each row costs about `rowWork` multiply-adds: in parallel, in the
  /// blocks `gemm` would use for a product of that much work (one block, `body(0, m)`, when
  /// it would stay whole). For per-row work around a product (bias, activation) done while
  /// each block is in cache: `body` calls `BLAS.call` on its rows.
  ///
  /// Hot paths (the Dense layer's fused passes) use `rowBlocks` with a `PoolJob` instead, as
  /// handing this closure to the pool allocates.
  static func forEachRowBlock(m: Int, rowWork: Int, _ body: (Int, Int) -> Void) {
    guard m > 0 else { return }
    guard let plan = rowBlocks(m: m, rowWork: rowWork) else {
      body(0, m)
      return
    }
    Parallel.run(plan.blocks, work: 1, threshold: 0) { block in
      let start = block * plan.size
      body(start, min(plan.size, m - start))
    }
  }

  /// The row blocks `forEachRowBlock` uses for `m` rows of `rowWork` multiply-adds each:
  /// block i is rows `i * size ..< min((i + 1) * size, m)`; nil to run them as one block.
  static func rowBlocks(m: Int, rowWork: Int) -> (blocks: Int, size: Int)? {
    _ = singleThreaded
    guard m > 0, let plan = split(m: m, n: 1, k: max(rowWork, 1), preferInner: false),
      plan.axis == .rows
    else {
      return nil
    }
    return (plan.blocks, plan.size)
  }

  /// Multiply-adds one elementwise operation (bias, activation, its derivative) is counted
  /// as when sizing row blocks: a memory-bound pass costs about as much per element as a
  /// few multiply-adds of a product, which runs at several per cycle.
  static let elementWork = 8

  /// Which dimension `gemm` splits: rows of C, columns of C, or the inner dimension k.
  enum Axis { case rows, columns, inner }

  /// Fewest inner-dimension elements per block of an inner split.
  static let innerBlock = 1024
  /// At most this many inner blocks: each but the first costs an m x n scratch and a pass
  /// adding it to C on the calling thread.
  static let maxInnerBlocks = 4

  /// An inner split is preferred to a row (or column) split when k is at least this many
  /// times m and n and C has at most `maxInnerArea` elements. A row block's call repacks all
  /// of B (k x n) again, about 1/m copies per multiply-add for each extra block, while an
  /// inner split adds an m x n partial to C per extra block, about 1/k: for the weight
  /// gradient dY^T X of a 256-wide layer over 4096 rows (256 x 256 x 4096), the inner split
  /// used 9% less CPU than two row blocks (a C program timing both, thread CPU time, six
  /// rounds: 6.8-7.9 ms against 7.6-9.0 ms per product).
  static let innerOverOuter = 8
  /// See `innerOverOuter`: the largest C (256 x 256) an inner split takes from a row split.
  static let maxInnerArea = 1 << 16

  /// How `gemm` splits an m x n x k product: over the inner dimension when k is long
  /// compared with m and n (`innerOverOuter`), else over rows of C when it has at least two
  /// blocks of them, else columns, else (C small, k long) the inner dimension, else (C
  /// small, k short) narrow column blocks, into `blocks` blocks of `size` (the last may be
  /// shorter); nil to run it as one call. Depends on the shape only, never on the core
  /// count, so results do not either.
  ///
  /// `preferInner` false skips the inner preference: `rowBlocks` sizes row blocks of
  /// per-row work as an m x 1 x rowWork "product", which has no inner dimension to split.
  static func split(m: Int, n: Int, k: Int, preferInner: Bool = true) -> (
    axis: Axis, blocks: Int, size: Int
  )? {
    // Compared in Double: m n k of valid shapes can exceed Int for no real product, but a
    // caller's mistake must not trap here.
    let work = Double(m) * Double(n) * Double(k)
    guard work >= Double(splitWork) else { return nil }
    let byWork = Int(min(work / Double(blockWork), Double(Int.max / 2)))
    let axis: Axis
    let dim: Int
    let blocks: Int
    let unit: Int
    let longInner =
      preferInner && k >= 2 * innerBlock && Double(m) * Double(n) <= Double(maxInnerArea)
      && k >= innerOverOuter * max(m, n)
    if !longInner && (m >= 2 * blockRows || n >= 2 * blockRows) {
      axis = m >= 2 * blockRows ? .rows : .columns
      dim = axis == .rows ? m : n
      blocks = min(maxBlocks, dim / blockRows, byWork)
      unit = blockRows
    } else if k >= 2 * innerBlock {
      axis = .inner
      dim = k
      blocks = min(maxInnerBlocks, k / innerBlock, byWork)
      unit = 64
    } else if n >= 2 * blockColumns {
      axis = .columns
      dim = n
      blocks = min(maxBlocks, n / blockColumns, byWork)
      unit = blockColumns
    } else {
      return nil
    }
    guard blocks > 1 else { return nil }
    // Equal blocks rounded up to the unit, so the shorter last block is the only odd one.
    var size = (dim + blocks - 1) / blocks
    size = (size + unit - 1) / unit * unit
    return (axis, (dim + size - 1) / size, size)
  }

  /// One product on the calling thread, unsplit (`gemm`'s blocks; tests compare with it):
  /// Lamina's own kernel (`CLaminaKernels/gemm.h`) for products of at most
  /// `LAMINA_SMALL_GEMM_WORK` multiply-adds, one cblas_sgemm for larger ones.
  ///
  /// OpenBLAS hands products that small to small-matrix kernels of its own choosing, per CPU
  /// (on AVX-512 machines its SkylakeX and Cooperlake kernels, which allocate on every call
  /// for some shapes), so they never reach it: a training step allocates nothing, and small
  /// products give the same bits whichever kernels OpenBLAS picked for this CPU.
  @inline(__always)
  static func call(
    _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
    _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) {
    if Double(m) * Double(n) * Double(k) <= LAMINA_SMALL_GEMM_WORK {
      smallProduct(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
      return
    }
    cblas_sgemm(
      CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
      blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c,
      blasint(ldc))
  }

  /// Whether small products run the AVX2/FMA kernel: true on CPUs that have it. Tests turn
  /// it off to check the portable kernel.
  static var smallProductsUseFMA = CPUFeatures.hasAVX2FMA

  /// One small product (`call`) on Lamina's own kernel, unsplit.
  @inline(__always)
  static func smallProduct(
    _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
    _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) {
    let (ta, tb): (Int32, Int32) = (transA ? 1 : 0, transB ? 1 : 0)
    if smallProductsUseFMA {
      lamina_kernel_sgemm_fma(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    } else {
      lamina_kernel_sgemm_portable(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
  }

  /// y = alpha * op(A) x + beta * y for one vector, where A is m x n (row-major, leading
  /// dimension lda) and op transposes when asked; x and y are contiguous.
  @inline(__always)
  static func gemv(
    trans: Bool, m: Int, n: Int, alpha: Float, _ a: UnsafePointer<Float>, lda: Int,
    _ x: UnsafePointer<Float>, beta: Float, _ y: UnsafeMutablePointer<Float>
  ) {
    cblas_sgemv(
      CblasRowMajor, trans ? CblasTrans : CblasNoTrans, blasint(m), blasint(n), alpha, a,
      blasint(lda), x, 1, beta, y, 1)
  }
}
