import CBLAS

/// Typed wrappers over the OpenBLAS calls the engine uses. All matrices are row-major.
///
/// Threads: Lamina runs OpenBLAS single-threaded and parallelises products itself.
/// OpenBLAS's own pool spin-waits (`sched_yield`) between calls, which on a shared or busy
/// machine costs more than the products it splits, and it splits even small products
/// (256 x 64 x 64) over every core. So before its first BLAS call Lamina sets OpenBLAS to
/// one thread (`openblas_set_num_threads(1)`, process-wide: a host that also calls the same
/// OpenBLAS gets one thread too), and `gemm` splits large products into fixed row (or
/// column) blocks run on Dispatch's pool, one thread per core (`Parallel.run`). Every
/// element of C is computed by one single-threaded call over the whole of k, so no partial
/// sums are reduced, and the blocks depend on the shape only: results are bit-identical on
/// any number of cores.
enum BLAS {
  /// Sets OpenBLAS to one thread. A static's initialiser runs exactly once, on first use,
  /// thread-safely; every entry point that calls OpenBLAS reads it first.
  static let singleThreaded: Void = openblas_set_num_threads(1)

  /// Products of fewer multiply-adds (m n k) than this run on the calling thread: below it,
  /// handing blocks to other threads (waking them, and Dispatch's per-call heap block)
  /// costs about what the second core saves. Measured on the 2-core project machine; it
  /// also keeps the steady-state allocation test's 512 x 64 x 64 products on one thread.
  static let splitWork = 4 << 20
  /// Fewest multiply-adds per block, so each single-threaded call amortises its packing.
  static let blockWork = 1 << 20
  /// Fewest rows (or columns) of C per block, a multiple of the sgemm micro-kernel's tile.
  /// Each block's call packs the whole shared operand (all of op(B) for a row block) again,
  /// about `1 / blockRows` of the block's multiply-adds in copies that are several times
  /// slower each: with 16-row blocks, the weight gradient dY^T X (256 x 256 x 4096) spent
  /// more time repacking X than multiplying.
  static let blockRows = 128
  /// At most this many blocks per product: enough for Dispatch to balance two to four
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
    let dim = plan.rows ? m : n
    Parallel.run(plan.blocks, work: 1, threshold: 0) { block in
      let start = block * plan.size
      let size = min(plan.size, dim - start)
      if plan.rows {
        // Rows start..<start+size of C: the same rows of op(A), all of B.
        let aBlock = transA ? a + start : a + start * lda
        call(
          transA, transB, size, n, k, alpha, aBlock, lda, b, ldb, beta, c + start * ldc, ldc)
      } else {
        // Columns start..<start+size of C: all of op(A), the same columns of op(B).
        let bBlock = transB ? b + start * ldb : b + start
        call(transA, transB, m, size, k, alpha, a, lda, bBlock, ldb, beta, c + start, ldc)
      }
    }
  }

  /// Runs `body(start, count)` over blocks of rows `start ..< start + count` covering
  /// `0 ..< m`, in parallel as `gemm` would split an m x n x k product over rows (one block,
  /// `body(0, m)`, when it would not). For callers that do per-row work around the product
  /// (bias, activation) while each block is in cache: `body` calls `BLAS.call` on its rows.
  static func forEachRowBlock(m: Int, n: Int, k: Int, _ body: (Int, Int) -> Void) {
    _ = singleThreaded
    guard m > 0 else { return }
    guard let plan = split(m: m, n: n, k: k), plan.rows else {
      body(0, m)
      return
    }
    Parallel.run(plan.blocks, work: 1, threshold: 0) { block in
      let start = block * plan.size
      body(start, min(plan.size, m - start))
    }
  }

  /// How `gemm` splits an m x n x k product: over rows of C (`rows`) or columns, into
  /// `blocks` blocks of `size` (the last may be shorter); nil to run it as one call. Depends
  /// on the shape only, never on the core count, so results do not either.
  static func split(m: Int, n: Int, k: Int) -> (rows: Bool, blocks: Int, size: Int)? {
    // Compared in Double: m n k of valid shapes can exceed Int for no real product, but a
    // caller's mistake must not trap here.
    let work = Double(m) * Double(n) * Double(k)
    guard work >= Double(splitWork) else { return nil }
    let rows = m >= 2 * blockRows
    let dim = rows ? m : n
    guard dim >= 2 * blockRows else { return nil }
    let blocks = min(maxBlocks, dim / blockRows, Int(work / Double(blockWork)))
    guard blocks > 1 else { return nil }
    // Equal blocks rounded up to the tile, so the shorter last block is the only odd one.
    var size = (dim + blocks - 1) / blocks
    size = (size + blockRows - 1) / blockRows * blockRows
    return (rows, (dim + size - 1) / size, size)
  }

  /// One cblas_sgemm on the calling thread, unsplit (`gemm`'s blocks; tests compare with it).
  @inline(__always)
  static func call(
    _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
    _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) {
    cblas_sgemm(
      CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
      blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c,
      blasint(ldc))
  }
}
