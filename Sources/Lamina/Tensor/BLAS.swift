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
    guard let plan = RowPlan.split(m: m, n: n, k: k) else {
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
    let axis: RowPlan.Axis
    let size: Int
    /// Inner splits: where blocks after the first put their m x n partial products.
    let scratch: UnsafeMutablePointer<Float>?

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
    _ plan: (axis: RowPlan.Axis, blocks: Int, size: Int), transA: Bool, transB: Bool, m: Int,
    n: Int,
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
  /// blocks `gemm` would use for a product of that much work (`RowPlan.rowBlocks`; one
  /// block, `body(0, m)`, when it would stay whole). For per-row work around a product (bias,
  /// activation) done while each block is in cache: `body` calls `BLAS.call` on its rows.
  ///
  /// Hot paths (the Dense layer's fused passes) use `RowPlan.rowBlocks` with a `PoolJob`
  /// instead, as handing this closure to the pool allocates.
  static func forEachRowBlock(m: Int, rowWork: Int, _ body: (Int, Int) -> Void) {
    guard m > 0 else { return }
    guard let plan = RowPlan.rowBlocks(m: m, rowWork: rowWork) else {
      body(0, m)
      return
    }
    Parallel.run(plan.blocks, work: 1, threshold: 0) { block in
      let start = block * plan.size
      body(start, min(plan.size, m - start))
    }
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
