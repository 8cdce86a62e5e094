import Dispatch

/// Batched queries over many points, in parallel: signed distance, winding number and
/// closest point. Each point's result depends on that point alone, and points are split in
/// fixed chunks, so results are bit-identical however many threads run them.
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
    DispatchQueue.concurrentPerform(iterations: tasks) { task in
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
    Self.forEachChunk(count) { range in
      withUnsafeTemporaryAllocation(of: StackEntry.self, capacity: Self.maxDepth + 2) { near in
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: Self.maxDepth + 2) { wind in
          for i in range {
            let q = SIMD3(points[3 * i], points[3 * i + 1], points[3 * i + 2])
            let d = nearest(to: q, stack: near.baseAddress!).distanceSquared.squareRoot()
            out[i] = windingNumber(at: q, stack: wind.baseAddress!) > 0.5 ? -d : d
          }
        }
      }
    }
  }

  /// Signed distances of points given as x, y, z triples.
  public func signedDistances(_ points: [Float]) -> [Float] {
    let n = points.count / 3
    return [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
      points.withUnsafeBufferPointer { p in
        if n > 0 { signedDistances(p.baseAddress!, count: n, into: buffer.baseAddress!) }
      }
      initialized = n
    }
  }

  /// Winding numbers of `count` points into `out`.
  public func windingNumbers(
    _ points: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>
  ) {
    Self.forEachChunk(count) { range in
      withUnsafeTemporaryAllocation(of: Int32.self, capacity: Self.maxDepth + 2) { wind in
        for i in range {
          let q = SIMD3(points[3 * i], points[3 * i + 1], points[3 * i + 2])
          out[i] = windingNumber(at: q, stack: wind.baseAddress!)
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
    Self.forEachChunk(count) { range in
      withUnsafeTemporaryAllocation(of: StackEntry.self, capacity: Self.maxDepth + 2) { near in
        for i in range {
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
