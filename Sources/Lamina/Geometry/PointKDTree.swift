/// A static k-d tree over 3-D points for exact nearest-neighbour queries.
///
/// Built once (O(n log n)) by splitting at the median along the axis of largest extent; the
/// tree is implicit in the order of its points (the node of a range is its middle element),
/// so it is one array of points and one of split axes. Queries only read it, so many threads
/// may query one tree at once.
///
/// A query's answer is exactly brute force's in float arithmetic: the point with the least
/// squared distance `((p - q) * (p - q)).sum()`, the lowest input index among equal ones.
/// Cells are pruned by a bound computed the same way from per-axis gaps that rounding can
/// only make smaller, so no point that could tie is ever skipped.
public struct PointKDTree: Sendable {
  /// Points in tree order.
  private var points: [SIMD3<Float>]
  /// For each point, its index in the input.
  private var original: [Int]
  /// Split axis of the node at each position (meaningful for interior nodes only).
  private var axes: [UInt8]
  /// The points' bounding box (zero for no points), over which large batches order their
  /// queries.
  private var box = (SIMD3<Float>.zero, SIMD3<Float>.zero)
  /// Ranges this short are scanned instead of split.
  private static let leafSize = 8

  /// A tree over `count` points given as x, y, z rows of `xyz` (3 * count floats).
  public init(xyz: [Float]) {
    self.init(count: xyz.count / 3) { xyz[$0] }
  }

  /// A tree over `count` points at `xyz` (x, y, z each; copied). Coordinates should be
  /// finite: a NaN makes the answers meaningless (the C interface refuses them).
  public init(_ xyz: UnsafePointer<Float>, count: Int) {
    self.init(count: Swift.max(count, 0)) { xyz[$0] }
  }

  /// A tree over `n` points whose coordinate `i` (x, y, z of point i / 3) is `coordinate(i)`.
  private init(count n: Int, _ coordinate: (Int) -> Float) {
    points = (0..<n).map {
      SIMD3(coordinate(3 * $0), coordinate(3 * $0 + 1), coordinate(3 * $0 + 2))
    }
    original = Array(0..<n)
    axes = [UInt8](repeating: 0, count: n)
    if let first = points.first {
      box = points.reduce((first, first)) { (pointwiseMin($0.0, $1), pointwiseMax($0.1, $1)) }
    }
    buildTree()
  }

  /// Number of points.
  public var count: Int { points.count }

  /// Orders the points into the tree, over raw buffers (no bounds or uniqueness checks in
  /// the recursion).
  private mutating func buildTree() {
    let n = points.count
    points.withUnsafeMutableBufferPointer { p in
      original.withUnsafeMutableBufferPointer { o in
        axes.withUnsafeMutableBufferPointer { a in
          guard let p = p.baseAddress, let o = o.baseAddress, let a = a.baseAddress else { return }
          PointKDTree.build(p, o, a, 0, n)
        }
      }
    }
  }

  /// Splits `lo..<hi` at its median along its widest axis, then each half.
  private static func build(
    _ points: UnsafeMutablePointer<SIMD3<Float>>, _ original: UnsafeMutablePointer<Int>,
    _ axes: UnsafeMutablePointer<UInt8>, _ lo: Int, _ hi: Int
  ) {
    guard hi - lo > PointKDTree.leafSize else { return }
    var low = points[lo]
    var high = points[lo]
    for i in (lo + 1)..<hi {
      low = pointwiseMin(low, points[i])
      high = pointwiseMax(high, points[i])
    }
    let extent = high - low
    let axis = extent.x >= extent.y && extent.x >= extent.z ? 0 : (extent.y >= extent.z ? 1 : 2)
    let mid = (lo + hi) / 2
    select(points, original, mid, lo, hi, axis)
    axes[mid] = UInt8(axis)
    build(points, original, axes, lo, mid)
    build(points, original, axes, mid + 1, hi)
  }

  /// Reorders `lo..<hi` so that position `k` holds the element that sorting by `axis` would
  /// put there, with no larger element before it and no smaller after (Hoare quickselect).
  private static func select(
    _ points: UnsafeMutablePointer<SIMD3<Float>>, _ original: UnsafeMutablePointer<Int>,
    _ k: Int, _ lo: Int, _ hi: Int, _ axis: Int
  ) {
    // Coordinate `axis` of point i as a raw load: `points[i][axis]` with a run-time lane
    // goes through the stack, which made the partition loop several times slower.
    let raw = UnsafeRawPointer(points)
    let stride = MemoryLayout<SIMD3<Float>>.stride
    let size = MemoryLayout<Float>.stride
    @inline(__always) func value(_ i: Int) -> Float {
      raw.load(fromByteOffset: i * stride + axis * size, as: Float.self)
    }
    var left = lo
    var right = hi - 1
    while left < right {
      // Median of three as pivot keeps sorted or clustered input from going quadratic.
      let m = (left + right) / 2
      let a = value(left)
      let b = value(m)
      let c = value(right)
      let pivot = max(min(a, b), min(max(a, b), c))
      var i = left
      var j = right
      while i <= j {
        while value(i) < pivot { i += 1 }
        while value(j) > pivot { j -= 1 }
        if i <= j {
          (points[i], points[j]) = (points[j], points[i])
          (original[i], original[j]) = (original[j], original[i])
          i += 1
          j -= 1
        }
      }
      if k <= j {
        right = j
      } else if k >= i {
        left = i
      } else {
        return
      }
    }
  }

  /// The input index of the point nearest to `q` and its squared distance (ties go to the
  /// lowest input index; (-1, +inf) for an empty tree). A squared distance that overflows
  /// float is +inf; the point is then the lowest-index one at infinite distance.
  public func nearest(_ q: SIMD3<Float>) -> (index: Int, distanceSquared: Float) {
    var best = Float.infinity
    var bestIndex = -1
    points.withUnsafeBufferPointer { p in
      axes.withUnsafeBufferPointer { a in
        original.withUnsafeBufferPointer { o in
          PointKDTree.search(
            p.baseAddress, a.baseAddress, o.baseAddress, 0, p.count, q, .zero, &best, &bestIndex)
        }
      }
    }
    return (bestIndex >= 0 ? original[bestIndex] : -1, best)
  }

  /// Searches the node of `lo..<hi`, whose cell is `gaps` away from `q` along each axis (0
  /// where the cell spans `q`'s coordinate; incremental distance, Arya and Mount: pruning by
  /// the whole cell rather than the last split plane keeps far queries cheap). `bestIndex`
  /// is a tree position (-1 before the first point).
  fileprivate static func search(
    _ p: UnsafePointer<SIMD3<Float>>?, _ axes: UnsafePointer<UInt8>?,
    _ original: UnsafePointer<Int>?,
    _ lo: Int, _ hi: Int, _ q: SIMD3<Float>, _ gaps: SIMD3<Float>, _ best: inout Float,
    _ bestIndex: inout Int
  ) {
    guard let p, let axes, let original else { return }
    /// Whether tree position `i`, at squared distance `d2`, beats the best so far.
    @inline(__always)
    func better(_ d2: Float, _ i: Int, _ best: Float, _ bestIndex: Int) -> Bool {
      d2 < best || (d2 == best && (bestIndex < 0 || original[i] < original[bestIndex]))
    }
    if hi - lo <= leafSize {
      for i in lo..<hi {
        let d = p[i] - q
        let d2 = (d * d).sum()
        if better(d2, i, best, bestIndex) {
          best = d2
          bestIndex = i
        }
      }
      return
    }
    let mid = (lo + hi) / 2
    let axis = Int(axes[mid])
    let d = p[mid] - q
    let d2 = (d * d).sum()
    if better(d2, mid, best, bestIndex) {
      best = d2
      bestIndex = mid
    }
    // p - q, as the distances: for a point beyond the split plane, rounding keeps its
    // |p[axis] - q[axis]| at least |offset| (in any rounding mode), so `farCell`, summed as
    // the distances are, never exceeds the squared distance of a point in the far cell.
    let offset = d[axis]
    var farGaps = gaps
    farGaps[axis] = offset
    let farCell = (farGaps * farGaps).sum()
    // `<=`: a far point at exactly the best distance may still have a lower index.
    if offset > 0 {
      search(p, axes, original, lo, mid, q, gaps, &best, &bestIndex)
      if farCell <= best {
        search(p, axes, original, mid + 1, hi, q, farGaps, &best, &bestIndex)
      }
    } else {
      search(p, axes, original, mid + 1, hi, q, gaps, &best, &bestIndex)
      if farCell <= best {
        search(p, axes, original, lo, mid, q, farGaps, &best, &bestIndex)
      }
    }
  }
}

/// Batched queries: many points at once, in parallel. Each query's answer depends on that
/// query alone and queries are cut into fixed tasks of `RowPlan.pointQueriesPerTask`, so the
/// results are bit-identical on any thread count (and equal `nearest` query by query).
/// Large batches visit their queries in Morton order over the cloud's box (`withMortonOrder`,
/// as the mesh queries do): 1M random queries on a 1M-point cloud, build included, took
/// 1.36 s instead of 2.2 s (bench/NOTES.md, "Point-cloud distance").
extension PointKDTree {
  /// The distance (not squared) from each of `count` queries at `queries` (x, y, z each) to
  /// its nearest point into `distances` (`count` floats), and that point's input index into
  /// `nearest` when given (truncated to 32 bits: the tree must have fewer than 2^32
  /// points). The tree must not be empty (the distances would be +inf, the indices
  /// 0xFFFFFFFF).
  public func distances(
    _ queries: UnsafePointer<Float>, count: Int, into distances: UnsafeMutablePointer<Float>,
    nearest: UnsafeMutablePointer<UInt32>? = nil
  ) {
    self.distances(queries, count: count, into: distances, nearest: nearest, pool: .shared)
  }

  /// `distances(_:count:into:nearest:)` with its tasks on `pool` (tests run other sizes).
  func distances(
    _ queries: UnsafePointer<Float>, count: Int, into distances: UnsafeMutablePointer<Float>,
    nearest: UnsafeMutablePointer<UInt32>?, pool: WorkerPool
  ) {
    guard count > 0 else { return }
    points.withUnsafeBufferPointer { p in
      axes.withUnsafeBufferPointer { a in
        original.withUnsafeBufferPointer { o in
          withMortonOrder(queries, count: count, box: box) { order in
            var job = Queries(
              points: p.baseAddress, axes: a.baseAddress, original: o.baseAddress, size: p.count,
              queries: queries, order: order, count: count, distances: distances,
              nearest: nearest)
            let tasks = (count + RowPlan.pointQueriesPerTask - 1) / RowPlan.pointQueriesPerTask
            if tasks > 1 {
              pool.run(tasks, &job)
            } else {
              job.run(0)
            }
          }
        }
      }
    }
  }

  /// Distances (not squared) from queries given as x, y, z triples to their nearest points.
  public func distances(_ queries: [Float]) -> [Float] {
    onePerPoint(queries) { distances($0, count: $1, into: $2) }
  }

  /// One task of a batch: queries `task * pointQueriesPerTask` onward, up to a task's worth.
  private struct Queries: PoolJob {
    let points: UnsafePointer<SIMD3<Float>>?
    let axes: UnsafePointer<UInt8>?
    let original: UnsafePointer<Int>?
    let size: Int
    let queries: UnsafePointer<Float>
    /// The order to visit the queries in (nil: input order), for cache locality.
    let order: UnsafeMutablePointer<UInt32>?
    let count: Int
    let distances: UnsafeMutablePointer<Float>
    let nearest: UnsafeMutablePointer<UInt32>?

    func run(_ task: Int) {
      let start = task * RowPlan.pointQueriesPerTask
      let end = Swift.min(count, start + RowPlan.pointQueriesPerTask)
      for k in start..<end {
        let i = order.map { Int($0[k]) } ?? k
        let q = SIMD3(queries[3 * i], queries[3 * i + 1], queries[3 * i + 2])
        var best = Float.infinity
        var bestIndex = -1
        PointKDTree.search(points, axes, original, 0, size, q, .zero, &best, &bestIndex)
        distances[i] = best.squareRoot()
        if let nearest {
          let index = bestIndex >= 0 ? original.map { $0[bestIndex] } ?? -1 : -1
          nearest[i] = UInt32(truncatingIfNeeded: index)
        }
      }
    }
  }
}
