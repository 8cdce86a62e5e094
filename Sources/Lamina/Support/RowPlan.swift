/// Every rule that cuts work into tasks for the worker pool, and the thresholds they use.
///
/// The cuts depend on the shape of the work only, never on the core count: a product's
/// blocks, and the order in which partial sums are added, fix the bits of its result, so
/// results are the same on any number of cores. Changing a value here changes summation
/// orders, and so results; the values are chosen by measurement, whose records are the
/// bench/NOTES.md sections named below by their titles' first words ("Work splitting" is
/// "Work splitting: RowPlan's thresholds"; where it says no measurement is recorded, a
/// change needs one first).
///
/// | Threshold            | Value   | Decides                                | bench/NOTES.md     |
/// |----------------------|---------|----------------------------------------|--------------------|
/// | splitWork            | 1 << 20 | sgemm stays on one thread below it     | Worker pool        |
/// | blockWork            | 1 << 18 | fewest multiply-adds per sgemm block   | Work splitting     |
/// | blockRows            | 128     | fewest rows (columns) per sgemm block  | Work splitting     |
/// | blockColumns         | 32      | fewest columns per block of a small C  | Work splitting     |
/// | maxBlocks            | 8       | most blocks per product, kernel pass   | Work splitting     |
/// | elementWork          | 8       | weight of an elementwise pass          | Work splitting     |
/// | innerBlock           | 1024    | fewest k per block of an inner split   | BLAS: inner split  |
/// | maxInnerBlocks       | 4       | most blocks of an inner split          | BLAS: inner split  |
/// | innerOverOuter       | 8       | k / max(m, n) that splits k            | BLAS: inner split  |
/// | maxInnerArea         | 1 << 16 | largest C that splits k                | BLAS: inner split  |
/// | chunkWork            | 4 << 20 | work per chunk of a parallel predict   | Work splitting     |
/// | predictTasks         | 8       | tasks of a chunk-parallel predict      | Work splitting     |
/// | kernelSplitWork      | 1 << 20 | Dense kernels stay on one thread below | Small-width Dense  |
/// | kernelBlockWork      | 1 << 19 | fewest multiply-adds per kernel task   | Small-width Dense  |
/// | minGradientBlockRows | 4096    | fewest rows per gradient block         | Small-width Dense  |
/// | maxGradientBlocks    | 16      | most gradient blocks                   | Small-width Dense  |
/// | bsplineParallelWork  | 131072  | B-spline stays on one thread below     | Work splitting     |
/// | triplaneParallelWork | 65536   | tri-plane stays on one thread below    | Work splitting     |
/// | kanJetTaskRows       | 1024    | rows per task of a KAN layer's jet     | KAN jet row tasks  |
/// | kanJetParallelWork   | 65536   | a KAN layer's jet stays on one thread  | KAN jet row tasks  |
/// | pipelineBlockRows    | 192     | rows per block of the row pipeline     | row-block pipeline |
/// | pipelineTasks        | 16      | tasks of the row pipeline              | row-block pipeline |
/// | pointQueriesPerTask  | 1024    | queries per task of a point-cloud batch| Point-cloud        |
enum RowPlan {
  // MARK: - sgemm products (`BLAS.gemm`)

  /// Products of fewer multiply-adds (m n k) than this run on the calling thread: below it,
  /// a hand-off to the pool plus repacking the shared operand per block costs about what the
  /// second core saves.
  static let splitWork = 1 << 20
  /// Fewest multiply-adds per block, so each single-threaded call amortises its packing.
  static let blockWork = 1 << 18
  /// Fewest rows (or columns) of C per block, a multiple of the sgemm micro-kernel's tile:
  /// each block's call packs the whole shared operand again, about `1 / blockRows` of the
  /// block's multiply-adds in copies that are several times slower each.
  static let blockRows = 128
  /// Fewest columns of C per block when C is small and k short (a 64 x 64 weight gradient
  /// over a 256-row batch), so that such a product still splits in two.
  static let blockColumns = 32
  /// At most this many blocks per product: enough for the pool to balance two to four cores
  /// (and a core that another process holds), few enough that repacking the shared operand
  /// per block stays small.
  static let maxBlocks = 8
  /// Multiply-adds one elementwise operation (bias, activation, its derivative) is counted
  /// as when sizing row blocks: a memory-bound pass costs about as much per element as a
  /// few multiply-adds of a product, which runs at several per cycle.
  static let elementWork = 8
  /// Fewest inner-dimension elements per block of an inner split.
  static let innerBlock = 1024
  /// At most this many inner blocks: each but the first costs an m x n scratch and a pass
  /// adding it to C on the calling thread.
  static let maxInnerBlocks = 4
  /// An inner split is preferred to a row (or column) split when k is at least this many
  /// times m and n and C has at most `maxInnerArea` elements: a row block's call repacks all
  /// of B (k x n) again, about 1/m copies per multiply-add for each extra block, while an
  /// inner split adds an m x n partial to C per extra block, about 1/k.
  static let innerOverOuter = 8
  /// See `innerOverOuter`: the largest C (256 x 256) an inner split takes from a row split.
  static let maxInnerArea = 1 << 16

  /// Which dimension a product is split along: rows of C, columns of C, or the inner
  /// dimension k.
  enum Axis { case rows, columns, inner }

  /// How `BLAS.gemm` splits an m x n x k product: over the inner dimension when k is long
  /// compared with m and n (`innerOverOuter`), else over rows of C when it has at least two
  /// blocks of them, else columns, else (C small, k long) the inner dimension, else (C
  /// small, k short) narrow column blocks, into `blocks` blocks of `size` (the last may be
  /// shorter); nil to run it as one call.
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

  /// The row blocks for `m` rows of `rowWork` multiply-adds each that an sgemm of that much
  /// work would use: block i is rows `i * size ..< min((i + 1) * size, m)`; nil to run them
  /// as one block. For per-row work around a product (bias, activation) done while each
  /// block is in cache.
  static func rowBlocks(m: Int, rowWork: Int) -> (blocks: Int, size: Int)? {
    guard m > 0, let plan = split(m: m, n: 1, k: max(rowWork, 1), preferInner: false),
      plan.axis == .rows
    else {
      return nil
    }
    return (plan.blocks, plan.size)
  }

  // MARK: - Chunk-parallel prediction (`Model`)

  /// Rows per chunk of a chunk-parallel prediction are sized so that a chunk's products stay
  /// below this many multiply-adds (`Model.parallelPredictRows`): a chunk runs whole on one
  /// thread, and chunks, not products, are what run in parallel.
  static let chunkWork = 4 << 20
  /// Tasks a large prediction is split into: fixed, so the chunks, and with them the
  /// results, do not depend on the core count.
  static let predictTasks = 8

  // MARK: - Small-width Dense kernels (`Dense+FMA.swift`)

  /// Below this many multiply-adds (rows x inputs x outputs) a kernel pass runs on the
  /// calling thread: handing a task to a worker costs about what a 256 x 64 x 64 product
  /// takes in these kernels.
  static let kernelSplitWork = 1 << 20
  /// Fewest multiply-adds per task of a split kernel pass.
  static let kernelBlockWork = 1 << 19

  /// The number of tasks and rows per task for `n` rows of `rowWork` multiply-adds each in
  /// the Dense kernels: one task below `kernelSplitWork`, else up to `maxBlocks` of at
  /// least 64 rows and `kernelBlockWork` multiply-adds.
  static func kernelRowBlocks(rows n: Int, rowWork: Int) -> (blocks: Int, size: Int) {
    let work = n &* max(rowWork, 1)
    guard n > 0, work >= kernelSplitWork else { return (1, max(n, 1)) }
    let blocks = max(1, min(maxBlocks, n / 64, work / kernelBlockWork))
    let size = (n + blocks - 1) / blocks
    return ((n + size - 1) / size, size)
  }

  /// Fewest rows per block of the Dense kernels' weight-gradient sums.
  static let minGradientBlockRows = 4096
  /// Most blocks of the weight-gradient sums: each but a lone one costs a partial sum of
  /// the layer's size from a scratch pool that keeps its largest size, so a batch of a
  /// million rows must not make hundreds of them.
  static let maxGradientBlocks = 16

  /// Rows per block of the Dense kernels' weight-gradient sums for a batch of `n` rows:
  /// depends on the batch only, so the blocks, and the order in which their sums are added,
  /// do too.
  static func gradientBlockRows(_ n: Int) -> Int {
    max(minGradientBlockRows, (n + maxGradientBlocks - 1) / maxGradientBlocks)
  }

  // MARK: - Layers that split by rows themselves

  /// Work (multiply-adds or stores in the inner loops) under which a B-spline KAN layer's
  /// tasks run one after another on the calling thread: below it, handing tasks to other
  /// threads costs more than it saves, and its closure-form calls stay free of allocation.
  static let bsplineParallelWork = 131_072
  /// Work (texel reads) under which a tri-plane encoding's tasks run on the calling thread.
  static let triplaneParallelWork = 65_536

  // MARK: - KAN layers in jet passes (`KANEdgeJetTasks`)

  /// Rows per task of a KAN layer's derivative streams, a multiple of its 128-row blocks: a
  /// task of the smallest layers (two inputs, one output, a first-order jet) is still tens
  /// of microseconds, well over a hand-off, and the task's gradient sums (one per task,
  /// reduced on the calling thread) stay few.
  static let kanJetTaskRows = 1024
  /// Work (rows x inputs x (outputs + 4) x streams) under which a KAN layer's jet tasks run
  /// on the calling thread; two tasks of the smallest layer pass it.
  static let kanJetParallelWork = 65_536

  // MARK: - Tri-plane row pipeline (`RowPipeline`)

  /// Rows per block of the row pipeline. A block's tail working set (about 1.6 KB a row for
  /// a 16-64-64-1 decoder) must stay in a core's L2, and every product of a block must stay
  /// below `splitWork` (64 x 64 x rows), so that it runs as one call instead of splitting
  /// again inside the task.
  static let pipelineBlockRows = 192
  /// Fixed task count of the row pipeline: each task owns a contiguous run of blocks, one
  /// tail copy and its scratch. Enough tasks to balance two to eight cores and keep each
  /// one short, so that a thread losing its core in the middle of one holds the step up
  /// briefly; few enough that summing the copies' gradients stays cheap.
  static let pipelineTasks = 16

  // MARK: - Point-cloud nearest-neighbour queries (`PointKDTree.distances`)

  /// Queries per task of a batched nearest-point query; a batch of more than one task runs
  /// on the pool. A query costs about a microsecond (a 100k-point cloud), so even a task
  /// over a one-point cloud outweighs the hand-off; the tasks depend on the query count
  /// only, and each query's answer on that query only.
  static let pointQueriesPerTask = 1024
}
