/// A static k-d tree over 3-D points for exact nearest-neighbour queries.
///
/// Built once (O(n log n)) by splitting at the median along the axis of largest extent; the
/// tree is implicit in the order of its points (the node of a range is its middle element),
/// so it is one array of points and one of split axes. Queries only read it, so many threads
/// may query one tree at once.
public struct PointKDTree: Sendable {
  /// Points in tree order.
  private var points: [SIMD3<Float>]
  /// For each point, its index in the input.
  private var original: [Int]
  /// Split axis of the node at each position (meaningful for interior nodes only).
  private var axes: [UInt8]
  /// Ranges this short are scanned instead of split.
  private static let leafSize = 8

  /// A tree over `count` points given as x, y, z rows of `xyz` (3 * count floats).
  public init(xyz: [Float]) {
    let n = xyz.count / 3
    points = (0..<n).map { SIMD3(xyz[3 * $0], xyz[3 * $0 + 1], xyz[3 * $0 + 2]) }
    original = Array(0..<n)
    axes = [UInt8](repeating: 0, count: n)
    build(0, n)
  }

  /// Number of points.
  public var count: Int { points.count }

  private mutating func build(_ lo: Int, _ hi: Int) {
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
    select(mid, lo, hi, axis)
    axes[mid] = UInt8(axis)
    build(lo, mid)
    build(mid + 1, hi)
  }

  /// Reorders `lo..<hi` so that position `k` holds the element that sorting by `axis` would
  /// put there, with no larger element before it and no smaller after (Hoare quickselect).
  private mutating func select(_ k: Int, _ lo: Int, _ hi: Int, _ axis: Int) {
    var left = lo
    var right = hi - 1
    while left < right {
      // Median of three as pivot keeps sorted or clustered input from going quadratic.
      let m = (left + right) / 2
      let a = points[left][axis]
      let b = points[m][axis]
      let c = points[right][axis]
      let pivot = max(min(a, b), min(max(a, b), c))
      var i = left
      var j = right
      while i <= j {
        while points[i][axis] < pivot { i += 1 }
        while points[j][axis] > pivot { j -= 1 }
        if i <= j {
          points.swapAt(i, j)
          original.swapAt(i, j)
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
  /// first found; (-1, +inf) for an empty tree).
  public func nearest(_ q: SIMD3<Float>) -> (index: Int, distanceSquared: Float) {
    var best = Float.infinity
    var bestIndex = -1
    points.withUnsafeBufferPointer { p in
      axes.withUnsafeBufferPointer { a in
        PointKDTree.search(p.baseAddress, a.baseAddress, 0, p.count, q, .zero, 0, &best, &bestIndex)
      }
    }
    return (bestIndex >= 0 ? original[bestIndex] : -1, best)
  }

  /// Searches the node of `lo..<hi`, whose cell is at squared distance `cell` from `q`, made
  /// of the per-axis gaps `gaps` (incremental distance, Arya and Mount: pruning by the whole
  /// cell rather than the last split plane keeps far queries cheap).
  private static func search(
    _ p: UnsafePointer<SIMD3<Float>>?, _ axes: UnsafePointer<UInt8>?, _ lo: Int, _ hi: Int,
    _ q: SIMD3<Float>, _ gaps: SIMD3<Float>, _ cell: Float, _ best: inout Float,
    _ bestIndex: inout Int
  ) {
    guard let p, let axes else { return }
    if hi - lo <= leafSize {
      for i in lo..<hi {
        let d = p[i] - q
        let d2 = (d * d).sum()
        if d2 < best {
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
    if d2 < best {
      best = d2
      bestIndex = mid
    }
    let offset = q[axis] - p[mid][axis]
    // The far child's cell lies beyond the split plane: its gap on `axis` is |offset|.
    var farGaps = gaps
    farGaps[axis] = offset
    let farCell = cell - gaps[axis] * gaps[axis] + offset * offset
    if offset < 0 {
      search(p, axes, lo, mid, q, gaps, cell, &best, &bestIndex)
      if farCell < best { search(p, axes, mid + 1, hi, q, farGaps, farCell, &best, &bestIndex) }
    } else {
      search(p, axes, mid + 1, hi, q, gaps, cell, &best, &bestIndex)
      if farCell < best { search(p, axes, lo, mid, q, farGaps, farCell, &best, &bestIndex) }
    }
  }
}
