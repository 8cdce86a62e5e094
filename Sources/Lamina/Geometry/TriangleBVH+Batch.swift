/// Batched queries over many points, in parallel: signed distance, winding number and
/// closest point. Each point's result depends on that point alone, and points are split in
/// fixed chunks (of a fixed, Morton-sorted order for large calls), so results are
/// bit-identical however many threads run them.
extension TriangleBVH {
  /// Points per parallel task.
  static let pointsPerTask = 1024

  /// Runs `body` over `0 ..< count` in chunks of `pointsPerTask`, on several threads when
  /// there is more than one chunk.
  static func forEachChunk(_ count: Int, _ body: (Range<Int>) -> Void) {
    let tasks = (count + pointsPerTask - 1) / pointsPerTask
    if tasks <= 1 {
      if count > 0 { body(0..<count) }
      return
    }
    Parallel.forEach(tasks) { task in
      let start = task * pointsPerTask
      body(start..<min(count, start + pointsPerTask))
    }
  }

  /// Signed distance at `q`: the exact distance to the nearest triangle, negative where the
  /// winding number exceeds 1/2 (inside). `.infinity` for a mesh with no triangles.
  public func signedDistance(at q: SIMD3<Float>) -> Float {
    let d = distance(to: q)
    return windingNumber(at: q) > 0.5 ? -d : d
  }

  /// Signed distances of `count` points (`points`: x, y, z each) into `out` (`count` floats).
  public func signedDistances(
    _ points: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>
  ) {
    withSpatialOrder(points, count: count) { order in
      Self.forEachChunk(count) { range in
        withUnsafeTemporaryAllocation(of: StackEntry.self, capacity: Self.wideStackSize) { near in
          withUnsafeTemporaryAllocation(of: Int32.self, capacity: Self.maxDepth + 2) { wind in
            for k in range {
              let i = order.map { Int($0[k]) } ?? k
              let q = SIMD3(points[3 * i], points[3 * i + 1], points[3 * i + 2])
              let d = nearest(to: q, stack: near.baseAddress!).distanceSquared.squareRoot()
              out[i] = windingNumber(at: q, stack: wind.baseAddress!) > 0.5 ? -d : d
            }
          }
        }
      }
    }
  }

  /// Calls with at least this many points visit them in Morton order.
  static let spatialOrderThreshold = 8192

  /// Runs `body` with a visiting order for the points: for large calls, the points sorted by
  /// the Morton code of their position in the mesh's (enlarged) box, so consecutive queries
  /// walk the same part of the tree and find it in cache (random-order queries otherwise
  /// spend most of their time waiting for memory); nil (input order) for small calls. Each
  /// point's result is the same either way: only the order of the work changes.
  func withSpatialOrder(
    _ points: UnsafePointer<Float>, count: Int, _ body: (UnsafeMutablePointer<UInt32>?) -> Void
  ) {
    guard nodeCount > 0 else {
      body(nil)
      return
    }
    withMortonOrder(points, count: count, box: (nodes[0].lo, nodes[0].hi), body)
  }

  /// The 10 low bits of `x` spread to every third bit (for 30-bit Morton codes).
  @inline(__always)
  static func spreadBits(_ x: UInt64) -> UInt64 {
    var v = x & 0x3FF
    v = (v | (v << 16)) & 0x0300_00FF
    v = (v | (v << 8)) & 0x0300_F00F
    v = (v | (v << 4)) & 0x030C_30C3
    v = (v | (v << 2)) & 0x0924_9249
    return v
  }

  /// Signed distances of points given as x, y, z triples.
  public func signedDistances(_ points: [Float]) -> [Float] {
    onePerPoint(points) { signedDistances($0, count: $1, into: $2) }
  }

  /// Winding numbers of `count` points into `out`.
  public func windingNumbers(
    _ points: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>
  ) {
    withSpatialOrder(points, count: count) { order in
      Self.forEachChunk(count) { range in
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: Self.maxDepth + 2) { wind in
          for k in range {
            let i = order.map { Int($0[k]) } ?? k
            let q = SIMD3(points[3 * i], points[3 * i + 1], points[3 * i + 2])
            out[i] = windingNumber(at: q, stack: wind.baseAddress!)
          }
        }
      }
    }
  }

  /// The nearest mesh point to each of `count` points into `closest` (3 floats each) and,
  /// when `triangles` is given, the mesh's index of its triangle.
  public func closestPoints(
    _ points: UnsafePointer<Float>, count: Int, into closest: UnsafeMutablePointer<Float>,
    triangles: UnsafeMutablePointer<UInt32>?
  ) {
    withSpatialOrder(points, count: count) { order in
      Self.forEachChunk(count) { range in
        withUnsafeTemporaryAllocation(of: StackEntry.self, capacity: Self.wideStackSize) { near in
          for k in range {
            let i = order.map { Int($0[k]) } ?? k
            let q = SIMD3(points[3 * i], points[3 * i + 1], points[3 * i + 2])
            let hit = nearest(to: q, stack: near.baseAddress!)
            closest[3 * i] = hit.point.x
            closest[3 * i + 1] = hit.point.y
            closest[3 * i + 2] = hit.point.z
            triangles?[i] = UInt32(truncatingIfNeeded: hit.triangle)
          }
        }
      }
    }
  }
}

/// One float per point of `points` (x, y, z triples), from `fill(points, count, out)`, which
/// is not called for no points.
func onePerPoint(
  _ points: [Float], _ fill: (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void
) -> [Float] {
  let n = points.count / 3
  return [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
    points.withUnsafeBufferPointer { p in
      if n > 0 { fill(p.baseAddress!, n, buffer.baseAddress!) }
    }
    initialized = n
  }
}

/// Runs `body` with a visiting order for `count` points (x, y, z each): for calls of at
/// least `TriangleBVH.spatialOrderThreshold` points, the points sorted by the Morton code
/// of their position in `box` doubled about its centre (points outside clamp to its faces),
/// so that consecutive queries walk the same part of a tree over that box and find it in
/// cache; nil (input order) for small calls. Only the order of the work changes.
func withMortonOrder(
  _ points: UnsafePointer<Float>, count: Int, box: (SIMD3<Float>, SIMD3<Float>),
  _ body: (UnsafeMutablePointer<UInt32>?) -> Void
) {
  guard count >= TriangleBVH.spatialOrderThreshold, count <= Int(UInt32.max) else {
    body(nil)
    return
  }
  let (lo, hi) = box
  let center = (lo + hi) / 2
  let half = Swift.max(Swift.max(hi.x - lo.x, hi.y - lo.y), Swift.max(hi.z - lo.z, 1e-30))
  let scale = 1023 / (2 * half)
  var keys = [UInt64](repeating: 0, count: count)
  for i in 0..<count {
    var code: UInt64 = 0
    for k in 0..<3 {
      let x = (points[3 * i + k] - (center[k] - half)) * scale
      // NaN and out-of-box values clamp (the comparison is false for NaN).
      let cell = x >= 0 ? UInt64(Swift.min(x, 1023)) : 0
      code |= TriangleBVH.spreadBits(cell) << UInt64(k)
    }
    keys[i] = code << 32 | UInt64(i)
  }
  keys.sort()
  withUnsafeTemporaryAllocation(of: UInt32.self, capacity: count) { order in
    for i in 0..<count { order[i] = UInt32(truncatingIfNeeded: keys[i]) }
    body(order.baseAddress!)
  }
}
