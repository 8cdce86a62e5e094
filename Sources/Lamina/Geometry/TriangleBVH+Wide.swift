/// The four-wide form of the hierarchy that distance queries walk: each node holds the
/// boxes of up to four children side by side (the grandchildren of a binary node), so one
/// SIMD pass measures all four and half of the binary levels are skipped. Internal nodes of
/// the binary tree cost more than leaves in a closest-point query (two box tests, two node
/// loads and stack traffic each), so this halves most of a query's work.
extension TriangleBVH {
  /// Up to four children: boxes as x, y, z lanes, and for each a reference: `>= 0` a wide
  /// node, `< 0` a leaf (`-1 - packet`). Unused slots have empty boxes (lo = +inf), whose
  /// distance is infinite, so they are never visited.
  struct WideNode {
    var loX: SIMD4<Float>
    var loY: SIMD4<Float>
    var loZ: SIMD4<Float>
    var hiX: SIMD4<Float>
    var hiY: SIMD4<Float>
    var hiZ: SIMD4<Float>
    var child: SIMD4<Int32>
  }

  /// Collapses the binary nodes (`built`, children after parents) into wide nodes, root
  /// first. Deterministic: children keep the binary tree's left-to-right order.
  static func collapse(_ built: [Node]) -> [WideNode] {
    guard !built.isEmpty else { return [] }
    let empty = WideNode(
      loX: SIMD4(repeating: .infinity), loY: SIMD4(repeating: .infinity),
      loZ: SIMD4(repeating: .infinity), hiX: SIMD4(repeating: -.infinity),
      hiY: SIMD4(repeating: -.infinity), hiZ: SIMD4(repeating: -.infinity),
      child: SIMD4(repeating: -1))
    var wide: [WideNode] = []
    // A root that is a leaf still gets one wide node holding it.
    var work: [(binary: Int, wide: Int)] = [(0, 0)]
    wide.append(empty)
    while let (b, w) = work.popLast() {
      let node = built[b]
      // The slots: the grandchildren through internal children, the children themselves
      // when they are leaves (or the node itself when the root is a leaf).
      var slots: [Int] = []
      if node.count > 0 {
        slots = [b]
      } else {
        for c in [Int(node.first), Int(node.first) + 1] {
          if built[c].count > 0 {
            slots.append(c)
          } else {
            slots += [Int(built[c].first), Int(built[c].first) + 1]
          }
        }
      }
      var out = empty
      for (lane, s) in slots.enumerated() {
        let child = built[s]
        out.loX[lane] = child.lo.x
        out.loY[lane] = child.lo.y
        out.loZ[lane] = child.lo.z
        out.hiX[lane] = child.hi.x
        out.hiY[lane] = child.hi.y
        out.hiZ[lane] = child.hi.z
        if child.count > 0 {
          out.child[lane] = -1 - child.packet
        } else {
          out.child[lane] = Int32(wide.count)
          wide.append(empty)
          work.append((s, wide.count - 1))
        }
      }
      wide[w] = out
    }
    return wide
  }

  /// Squared distances from `q` to the four boxes of a wide node (infinite for empty slots).
  @inline(__always)
  static func wideDistances(
    _ n: UnsafePointer<WideNode>, _ qx: SIMD4<Float>, _ qy: SIMD4<Float>, _ qz: SIMD4<Float>
  ) -> SIMD4<Float> {
    let zero = SIMD4<Float>(repeating: 0)
    let dx = lanewiseMax(lanewiseMax(n.pointee.loX - qx, qx - n.pointee.hiX), zero)
    let dy = lanewiseMax(lanewiseMax(n.pointee.loY - qy, qy - n.pointee.hiY), zero)
    let dz = lanewiseMax(lanewiseMax(n.pointee.loZ - qz, qz - n.pointee.hiZ), zero)
    return dx * dx + dy * dy + dz * dz
  }

  /// Leaf-order index of the triangle nearest to `q` (-1 for an empty mesh), walking the
  /// wide tree nearest box first. `stack` holds at least `wideStackSize` entries.
  @inline(__always)
  func nearestTriangle(to q: SIMD3<Float>, stack: UnsafeMutablePointer<StackEntry>) -> Int {
    var best = Float.infinity
    var bestTriangle = -1
    guard wideCount > 0 else { return -1 }
    let qx = SIMD4<Float>(repeating: q.x)
    let qy = SIMD4<Float>(repeating: q.y)
    let qz = SIMD4<Float>(repeating: q.z)
    stack[0] = StackEntry(node: 0, distanceSquared: 0)
    var top = 1
    while top > 0 {
      top -= 1
      let entry = stack[top]
      // `<` rather than `<=`: a box that merely touches the best sphere cannot hold a
      // strictly nearer point.
      guard entry.distanceSquared < best else { continue }
      if entry.node < 0 {
        let leaf = Int(-1 - entry.node)
        let d = Self.packetDistances(packets + Self.packetStride * leaf, qx, qy, qz)
        let m = Swift.min(Swift.min(d[0], d[1]), Swift.min(d[2], d[3]))
        if m < best {
          best = m
          // The first lane holding the minimum (fixed, so ties resolve reproducibly).
          var lane = 0
          while lane < 3 && d[lane] != m { lane += 1 }
          let range = leafRanges[leaf]
          bestTriangle = Int(range.x) + Swift.min(lane, Int(range.y) - 1)
        }
        continue
      }
      let node = wide + Int(entry.node)
      let d = Self.wideDistances(node, qx, qy, qz)
      // Push the children nearer than `best`, farthest first, so the nearest is searched
      // next and shrinks `best` for the others (insertion into the stack top, at most 4).
      let base = top
      for lane in 0..<4 where d[lane] < best {
        let e = StackEntry(node: node.pointee.child[lane], distanceSquared: d[lane])
        var j = top
        while j > base && stack[j - 1].distanceSquared < e.distanceSquared {
          stack[j] = stack[j - 1]
          j -= 1
        }
        stack[j] = e
        top += 1
      }
    }
    return bestTriangle
  }

  /// Entries a wide traversal stack needs: each level leaves at most three siblings.
  static var wideStackSize: Int { 3 * maxDepth + 8 }
}
