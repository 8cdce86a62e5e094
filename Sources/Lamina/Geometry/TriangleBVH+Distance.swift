/// Closest-point queries: exact unsigned distance from a point to the mesh.
extension TriangleBVH {
  /// Squared distance from `q` to the box `[lo, hi]` (0 inside).
  @inline(__always)
  static func boxDistanceSquared(_ q: SIMD3<Float>, _ lo: SIMD3<Float>, _ hi: SIMD3<Float>)
    -> Float
  {
    let d = pointwiseMax(pointwiseMax(lo - q, q - hi), .zero)
    return (d * d).sum()
  }

  /// The point of the mesh nearest to `q`, the mesh's index of its triangle, and the squared
  /// distance; `(q, -1, .infinity)` for a mesh with no triangles. Ties between triangles go
  /// to the one visited first, which is fixed by the tree, so results are reproducible.
  public func nearest(to q: SIMD3<Float>) -> (point: SIMD3<Float>, triangle: Int, distanceSquared: Float) {
    withUnsafeTemporaryAllocation(of: StackEntry.self, capacity: Self.maxDepth + 2) { stack in
      nearest(to: q, stack: stack.baseAddress!)
    }
  }

  /// A pending node and the squared distance to its box.
  struct StackEntry {
    var node: Int32
    var distanceSquared: Float
  }

  /// `nearest(to:)` with a caller's stack of at least `maxDepth + 2` entries.
  @inline(__always)
  func nearest(to q: SIMD3<Float>, stack: UnsafeMutablePointer<StackEntry>) -> (
    point: SIMD3<Float>, triangle: Int, distanceSquared: Float
  ) {
    var best = Float.infinity
    var bestPoint = q
    var bestTriangle = -1
    guard nodeCount > 0 else { return (bestPoint, bestTriangle, best) }
    var top = 0
    stack[0] = StackEntry(node: 0, distanceSquared: Self.boxDistanceSquared(q, nodes[0].lo, nodes[0].hi))
    top = 1
    while top > 0 {
      top -= 1
      let entry = stack[top]
      // `<` rather than `<=` would keep boxes that merely touch the best sphere; they
      // cannot hold a strictly nearer point.
      guard entry.distanceSquared < best else { continue }
      let node = nodes[Int(entry.node)]
      if node.count > 0 {
        let first = Int(node.first)
        for i in first..<(first + Int(node.count)) {
          let p = ClosestPoint.onTriangle(q, corners[3 * i], corners[3 * i + 1], corners[3 * i + 2])
          let d = ClosestPoint.distanceSquared(q, p)
          if d < best {
            best = d
            bestPoint = p
            bestTriangle = i
          }
        }
        continue
      }
      let left = Int(node.first)
      let dl = Self.boxDistanceSquared(q, nodes[left].lo, nodes[left].hi)
      let dr = Self.boxDistanceSquared(q, nodes[left + 1].lo, nodes[left + 1].hi)
      // Nearer child on top, so it is searched first and shrinks `best` for the other.
      let (nearNode, nearD, farNode, farD) =
        dl <= dr ? (left, dl, left + 1, dr) : (left + 1, dr, left, dl)
      if farD < best {
        stack[top] = StackEntry(node: Int32(farNode), distanceSquared: farD)
        top += 1
      }
      if nearD < best {
        stack[top] = StackEntry(node: Int32(nearNode), distanceSquared: nearD)
        top += 1
      }
    }
    return (bestPoint, bestTriangle >= 0 ? Int(triangleIndex[bestTriangle]) : -1, best)
  }

  /// Exact unsigned distance from `q` to the mesh (`.infinity` when it has no triangles).
  public func distance(to q: SIMD3<Float>) -> Float {
    nearest(to: q).distanceSquared.squareRoot()
  }
}
