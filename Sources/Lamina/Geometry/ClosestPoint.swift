/// Closest points on triangles and segments, the exact kernel of unsigned distance queries.
public enum ClosestPoint {
  /// The point of triangle `(a, b, c)` nearest to `p`, by Voronoi regions (Ericson, Real-Time
  /// Collision Detection, 5.1.5): three vertex regions, three edge regions, then the face.
  /// Degenerate triangles (a zero-length edge or zero area) fall back to the nearest of the
  /// three edges, so the result is always finite for finite input.
  @inline(__always)
  public static func onTriangle(
    _ p: SIMD3<Float>, _ a: SIMD3<Float>, _ b: SIMD3<Float>, _ c: SIMD3<Float>
  ) -> SIMD3<Float> {
    let ab = b - a
    let ac = c - a
    let ap = p - a
    let d1 = (ab * ap).sum()
    let d2 = (ac * ap).sum()
    if d1 <= 0 && d2 <= 0 { return a }
    let bp = p - b
    let d3 = (ab * bp).sum()
    let d4 = (ac * bp).sum()
    if d3 >= 0 && d4 <= d3 { return b }
    let vc = d1 * d4 - d3 * d2
    if vc <= 0 && d1 >= 0 && d3 <= 0 {
      let denominator = d1 - d3
      if denominator > 0 { return a + (d1 / denominator) * ab }
      return onDegenerate(p, a, b, c)
    }
    let cp = p - c
    let d5 = (ab * cp).sum()
    let d6 = (ac * cp).sum()
    if d6 >= 0 && d5 <= d6 { return c }
    let vb = d5 * d2 - d1 * d6
    if vb <= 0 && d2 >= 0 && d6 <= 0 {
      let denominator = d2 - d6
      if denominator > 0 { return a + (d2 / denominator) * ac }
      return onDegenerate(p, a, b, c)
    }
    let va = d3 * d6 - d5 * d4
    if va <= 0 && (d4 - d3) >= 0 && (d5 - d6) >= 0 {
      let denominator = (d4 - d3) + (d5 - d6)
      if denominator > 0 { return b + ((d4 - d3) / denominator) * (c - b) }
      return onDegenerate(p, a, b, c)
    }
    let sum = va + vb + vc
    guard sum > 0 else { return onDegenerate(p, a, b, c) }
    let v = vb / sum
    let w = vc / sum
    return a + v * ab + w * ac
  }

  /// The point of segment `[a, b]` nearest to `p` (`a` when the segment has length zero).
  @inline(__always)
  public static func onSegment(_ p: SIMD3<Float>, _ a: SIMD3<Float>, _ b: SIMD3<Float>)
    -> SIMD3<Float>
  {
    let ab = b - a
    let length2 = (ab * ab).sum()
    guard length2 > 0 else { return a }
    let t = min(max(((p - a) * ab).sum() / length2, 0), 1)
    return a + t * ab
  }

  /// Nearest of the three edges: exact for a triangle with no interior (all points on a line).
  static func onDegenerate(
    _ p: SIMD3<Float>, _ a: SIMD3<Float>, _ b: SIMD3<Float>, _ c: SIMD3<Float>
  ) -> SIMD3<Float> {
    var best = onSegment(p, a, b)
    var bestD = distanceSquared(p, best)
    let q1 = onSegment(p, b, c)
    let d1 = distanceSquared(p, q1)
    if d1 < bestD {
      best = q1
      bestD = d1
    }
    let q2 = onSegment(p, c, a)
    return distanceSquared(p, q2) < bestD ? q2 : best
  }

  /// Squared Euclidean distance between two points.
  @inline(__always)
  public static func distanceSquared(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> Float {
    let d = a - b
    return (d * d).sum()
  }
}
