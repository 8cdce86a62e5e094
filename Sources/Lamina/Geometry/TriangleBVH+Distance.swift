/// Closest-point queries: exact unsigned distance from a point to the mesh.
extension TriangleBVH {
  /// Lane-wise minimum and maximum as compare-and-select (minps/maxps): the standard
  /// library's pointwiseMin/Max honour NaN lane by lane with branches, several times slower
  /// in the innermost loops.
  @inline(__always)
  static func lanewiseMin(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD4<Float> {
    a.replacing(with: b, where: b .< a)
  }
  @inline(__always)
  static func lanewiseMax(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD4<Float> {
    a.replacing(with: b, where: b .> a)
  }

  /// The point of the mesh nearest to `q`, the mesh's index of its triangle, and the squared
  /// distance; `(q, -1, .infinity)` for a mesh with no triangles. Ties between triangles go
  /// to the one visited first, which is fixed by the tree, so results are reproducible.
  public func nearest(to q: SIMD3<Float>) -> (
    point: SIMD3<Float>, triangle: Int, distanceSquared: Float
  ) {
    withUnsafeTemporaryAllocation(of: StackEntry.self, capacity: Self.wideStackSize) { stack in
      nearest(to: q, stack: stack.baseAddress!)
    }
  }

  /// A pending wide node (`node >= 0`) or leaf (`-1 - packet`) and the squared distance to
  /// its box.
  struct StackEntry {
    var node: Int32
    var distanceSquared: Float
  }

  /// Fills each leaf's packet: its triangles across the four lanes (a leaf of fewer than
  /// four repeats its last triangle, which cannot change a minimum).
  func fillPackets() {
    for index in 0..<nodeCount where nodes[index].count > 0 {
      let node = nodes[index]
      let packet = packets + Self.packetStride * Int(node.packet)
      for lane in 0..<4 {
        let i = Int(node.first) + min(lane, Int(node.count) - 1)
        let (a, b, c) = (corners[3 * i], corners[3 * i + 1], corners[3 * i + 2])
        let n = cross(b - a, c - a)
        let length = (n * n).sum().squareRoot()
        // A triangle with no area gets a NaN normal: every inside test on it is then false
        // and its distance is that of its nearest edge, which is exact for it.
        let unit = length > 0 && length.isFinite ? n / length : SIMD3<Float>(repeating: .nan)
        let values = [a, b, c, unit]
        for (v, vector) in values.enumerated() {
          for k in 0..<3 { packet[3 * v + k][lane] = vector[k] }
        }
        for (e, edge) in [b - a, c - b, a - c].enumerated() {
          let length2 = (edge * edge).sum()
          // A zero-length edge clamps to its first point (t = 0).
          packet[12 + e][lane] = length2 > 0 ? 1 / length2 : 0
          let inward = cross(unit, edge)
          for k in 0..<3 {
            packet[15 + 3 * e + k][lane] = edge[k]
            packet[24 + 3 * e + k][lane] = inward[k]
          }
        }
      }
    }
  }

  /// Squared distances from `q` (as x, y, z broadcast) to the four triangles of a packet:
  /// the distance to the plane when the projection falls inside the triangle (inward edge
  /// normals `n x edge`, counter-clockwise order), else to the nearest of the three edges.
  /// Branch-free, so leaves cost the same whatever region the query falls in.
  @inline(__always)
  static func packetDistances(
    _ p: UnsafePointer<SIMD4<Float>>, _ qx: SIMD4<Float>, _ qy: SIMD4<Float>, _ qz: SIMD4<Float>
  ) -> SIMD4<Float> {
    let (ax, ay, az) = (p[0], p[1], p[2])
    let (bx, by, bz) = (p[3], p[4], p[5])
    let (cx, cy, cz) = (p[6], p[7], p[8])
    let (nx, ny, nz) = (p[9], p[10], p[11])
    // Query relative to each corner; edges.
    let (pax, pay, paz) = (qx - ax, qy - ay, qz - az)
    let (pbx, pby, pbz) = (qx - bx, qy - by, qz - bz)
    let (pcx, pcy, pcz) = (qx - cx, qy - cy, qz - cz)
    let (abx, aby, abz) = (p[15], p[16], p[17])
    let (bcx, bcy, bcz) = (p[18], p[19], p[20])
    let (cax, cay, caz) = (p[21], p[22], p[23])
    // Inside tests: (q - a) . (n x ab) >= 0, and so on.
    let sab = pax * p[24] + pay * p[25] + paz * p[26]
    let sbc = pbx * p[27] + pby * p[28] + pbz * p[29]
    let sca = pcx * p[30] + pcy * p[31] + pcz * p[32]
    let inside = (sab .>= 0) .& (sbc .>= 0) .& (sca .>= 0)
    let plane = pax * nx + pay * ny + paz * nz
    // Nearest point on each edge: t clamped to [0, 1].
    let zero = SIMD4<Float>(repeating: 0)
    let one = SIMD4<Float>(repeating: 1)
    let tab = lanewiseMin(lanewiseMax((pax * abx + pay * aby + paz * abz) * p[12], zero), one)
    let tbc = lanewiseMin(lanewiseMax((pbx * bcx + pby * bcy + pbz * bcz) * p[13], zero), one)
    let tca = lanewiseMin(lanewiseMax((pcx * cax + pcy * cay + pcz * caz) * p[14], zero), one)
    let (dabx, daby, dabz) = (pax - tab * abx, pay - tab * aby, paz - tab * abz)
    let (dbcx, dbcy, dbcz) = (pbx - tbc * bcx, pby - tbc * bcy, pbz - tbc * bcz)
    let (dcax, dcay, dcaz) = (pcx - tca * cax, pcy - tca * cay, pcz - tca * caz)
    let edge = lanewiseMin(
      lanewiseMin(dabx * dabx + daby * daby + dabz * dabz, dbcx * dbcx + dbcy * dbcy + dbcz * dbcz),
      dcax * dcax + dcay * dcay + dcaz * dcaz)
    return edge.replacing(with: plane * plane, where: inside)
  }

  /// `nearest(to:)` with a caller's stack of at least `wideStackSize` entries.
  @inline(__always)
  func nearest(to q: SIMD3<Float>, stack: UnsafeMutablePointer<StackEntry>) -> (
    point: SIMD3<Float>, triangle: Int, distanceSquared: Float
  ) {
    let hit = nearestTriangle(to: q, stack: stack)
    guard hit >= 0 else { return (q, -1, .infinity) }
    // The winner's exact closest point (Ericson), and the distance to it.
    let p = ClosestPoint.onTriangle(q, corners[3 * hit], corners[3 * hit + 1], corners[3 * hit + 2])
    return (p, Int(triangleIndex[hit]), ClosestPoint.distanceSquared(q, p))
  }

  /// Exact unsigned distance from `q` to the mesh (`.infinity` when it has no triangles).
  public func distance(to q: SIMD3<Float>) -> Float {
    nearest(to: q).distanceSquared.squareRoot()
  }
}
