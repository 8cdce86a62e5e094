/// A bounding volume hierarchy over a mesh's triangles, with the per-node moments that the
/// fast winding number needs: built once, then queried from many threads at once (it is
/// immutable after `init`).
///
/// Layout: a flat array of nodes in depth-first order whose two children sit side by side;
/// the triangles' corners copied in leaf order, so that a leaf's triangles are contiguous in
/// memory. Splits are binned SAH on centroids (16 bins per axis) and fall back to an object
/// median when SAH finds nothing or the tree is already deep, which keeps the depth bounded
/// (at most `maxDepth`) whatever the input.
///
/// Queries: `nearest(to:)` (ClosestPoint kernel, see `TriangleBVH+Distance.swift`) and
/// `windingNumber(at:)` (see `TriangleBVH+Winding.swift`).
public final class TriangleBVH: @unchecked Sendable {
  /// One node: an axis-aligned box and either a range of triangles (`count > 0`, a leaf) or
  /// the index of its first child (`count == 0`; the second child is `first + 1`).
  struct Node {
    var lo: SIMD3<Float>
    var hi: SIMD3<Float>
    var first: Int32
    var count: Int32
    /// For a leaf, the index of its packet in `packets` (fits in the node's padding).
    var packet: Int32 = 0
  }

  /// Triangles per leaf at most: one SIMD4 packet, so a leaf's distances are computed in
  /// one pass over four lanes (see `TriangleBVH+Distance.swift`).
  static let leafSize = 4
  /// SIMD4 values per leaf packet, each across the four triangles: corners a, b, c (9),
  /// unit normal n (3), inverse squared lengths of edges ab, bc, ca (3), the edges (9), and
  /// the inward edge normals n x ab, n x bc, n x ca (9). Precomputed (132 bytes a triangle)
  /// because leaves are the innermost loop of every distance query.
  static let packetStride = 33
  /// SAH bins per axis.
  static let bins = 16
  /// Depth from which splits are object medians (so the depth stays below `maxDepth`).
  static let sahDepth = 48
  /// Bound on the depth of any leaf: `sahDepth` plus the median levels for the most
  /// triangles `Limits` allows (2^27), with room to spare; traversal stacks are this deep.
  static let maxDepth = 96

  /// Number of triangles.
  public let triangleCount: Int
  /// Number of nodes.
  public let nodeCount: Int
  /// The accuracy parameter of the fast winding number: a node whose expansion centre is
  /// farther than `beta` times its radius from the query is replaced by its expansion.
  public let beta: Float

  let nodes: UnsafeMutablePointer<Node>
  /// Three corners per triangle, in leaf order.
  let corners: UnsafeMutablePointer<SIMD3<Float>>
  /// The mesh's index of each triangle in leaf order.
  let triangleIndex: UnsafeMutablePointer<UInt32>
  /// Winding-number expansion of each node: centre (area-weighted centroid) with the squared
  /// approach radius `(beta * radius)^2` in `w`, the dipole `sum a_t n_t`, and the 3x3
  /// first-order moment `sum a_t n_t (c_t - centre)^T` row-major (see the winding file).
  let centers: UnsafeMutablePointer<SIMD4<Float>>
  /// Leaf packets (`packetStride` values each); see `packetStride`.
  let packets: UnsafeMutablePointer<SIMD4<Float>>
  /// Number of leaves.
  let leafCount: Int
  /// The same tree with every second level collapsed (up to four children a node), for
  /// distance queries; see `TriangleBVH+Wide.swift`.
  let wide: UnsafeMutablePointer<WideNode>
  /// Number of wide nodes.
  let wideCount: Int
  /// First leaf-order triangle and triangle count of each leaf, by packet index.
  let leafRanges: UnsafeMutablePointer<SIMD2<Int32>>
  let dipoles: UnsafeMutablePointer<SIMD3<Float>>
  let moments: UnsafeMutablePointer<Float>

  /// Builds the hierarchy over `mesh`'s triangles; `beta` (> 0, default 2, as Barill et al.
  /// 2018 recommend) trades the winding number's accuracy for speed, and `.infinity` makes
  /// every winding number exact.
  public init(_ mesh: TriangleMesh, beta: Float = 2) {
    let n = mesh.faceCount
    triangleCount = n
    self.beta = beta.isNaN || beta <= 0 ? 2 : beta
    // Per-triangle boxes and centroids.
    var boxLo = [SIMD3<Float>](repeating: .zero, count: n)
    var boxHi = [SIMD3<Float>](repeating: .zero, count: n)
    var centroid = [SIMD3<Float>](repeating: .zero, count: n)
    for t in 0..<n {
      let a = mesh.vertex(Int(mesh.faces[3 * t]))
      let b = mesh.vertex(Int(mesh.faces[3 * t + 1]))
      let c = mesh.vertex(Int(mesh.faces[3 * t + 2]))
      boxLo[t] = pointwiseMin(pointwiseMin(a, b), c)
      boxHi[t] = pointwiseMax(pointwiseMax(a, b), c)
      // Divided first so that coordinates near Float.greatestFiniteMagnitude cannot overflow.
      centroid[t] = a / 3 + b / 3 + c / 3
    }
    var order = [Int32](0..<Int32(n))
    var built: [Node] = []
    built.reserveCapacity(n > 0 ? 2 * ((n + Self.leafSize - 1) / Self.leafSize) : 0)
    if n > 0 {
      built.append(Node(lo: .zero, hi: .zero, first: 0, count: 0))
      // (node, start, end, depth); children are built after their parent, so every child's
      // index is larger than its parent's (the moments pass relies on it).
      var work: [(Int, Int, Int, Int)] = [(0, 0, n, 0)]
      while let (index, start, end, depth) = work.popLast() {
        var lo = SIMD3<Float>(repeating: .infinity)
        var hi = SIMD3<Float>(repeating: -.infinity)
        var cLo = SIMD3<Float>(repeating: .infinity)
        var cHi = SIMD3<Float>(repeating: -.infinity)
        for i in start..<end {
          let t = Int(order[i])
          lo = pointwiseMin(lo, boxLo[t])
          hi = pointwiseMax(hi, boxHi[t])
          cLo = pointwiseMin(cLo, centroid[t])
          cHi = pointwiseMax(cHi, centroid[t])
        }
        built[index].lo = lo
        built[index].hi = hi
        let count = end - start
        if count <= Self.leafSize {
          built[index].first = Int32(start)
          built[index].count = Int32(count)
          continue
        }
        let mid =
          (depth < Self.sahDepth
            ? Self.sahSplit(&order, start, end, cLo, cHi, boxLo, boxHi, centroid) : nil)
          ?? Self.medianSplit(&order, start, end, cLo, cHi, centroid)
        let left = built.count
        built.append(Node(lo: .zero, hi: .zero, first: 0, count: 0))
        built.append(Node(lo: .zero, hi: .zero, first: 0, count: 0))
        built[index].first = Int32(left)
        built[index].count = 0
        work.append((left + 1, mid, end, depth + 1))
        work.append((left, start, mid, depth + 1))
      }
    }
    nodeCount = built.count
    var leaves = 0
    for i in 0..<nodeCount where built[i].count > 0 {
      built[i].packet = Int32(leaves)
      leaves += 1
    }
    leafCount = leaves
    nodes = .allocate(capacity: max(nodeCount, 1))
    nodes.initialize(from: built, count: nodeCount)
    corners = .allocate(capacity: max(3 * n, 1))
    triangleIndex = .allocate(capacity: max(n, 1))
    for i in 0..<n {
      let t = Int(order[i])
      triangleIndex[i] = UInt32(t)
      for k in 0..<3 { corners[3 * i + k] = mesh.vertex(Int(mesh.faces[3 * t + k])) }
    }
    packets = .allocate(capacity: max(Self.packetStride * leaves, 1))
    centers = .allocate(capacity: max(nodeCount, 1))
    dipoles = .allocate(capacity: max(nodeCount, 1))
    moments = .allocate(capacity: max(9 * nodeCount, 1))
    leafRanges = .allocate(capacity: max(leaves, 1))
    for i in 0..<nodeCount where built[i].count > 0 {
      leafRanges[Int(built[i].packet)] = SIMD2(built[i].first, built[i].count)
    }
    let collapsed = Self.collapse(built)
    wideCount = collapsed.count
    wide = .allocate(capacity: max(wideCount, 1))
    wide.initialize(from: collapsed, count: wideCount)
    fillPackets()
    computeMoments()
  }

  deinit {
    nodes.deallocate()
    corners.deallocate()
    triangleIndex.deallocate()
    centers.deallocate()
    packets.deallocate()
    wide.deallocate()
    leafRanges.deallocate()
    dipoles.deallocate()
    moments.deallocate()
  }

  /// Surface area of a box (half of it: only comparisons of SAH costs use it).
  @inline(__always)
  static func halfArea(_ lo: SIMD3<Float>, _ hi: SIMD3<Float>) -> Float {
    let e = hi - lo
    return e.x * e.y + e.y * e.z + e.z * e.x
  }

  /// The bin of a scaled centroid offset, clamped (an extent that overflowed to infinity
  /// gives a scale of 0, and rounding can put the largest centroid at `bins`).
  @inline(__always)
  static func bin(_ f: Float) -> Int {
    f >= 1 ? Int(min(f, Float(bins - 1))) : 0
  }

  /// Binned SAH: the cheapest of `bins - 1` planes on each axis; partitions `order[start..<end]`
  /// and returns the split index, or nil when no plane separates the centroids.
  static func sahSplit(
    _ order: inout [Int32], _ start: Int, _ end: Int, _ cLo: SIMD3<Float>, _ cHi: SIMD3<Float>,
    _ boxLo: [SIMD3<Float>], _ boxHi: [SIMD3<Float>], _ centroid: [SIMD3<Float>]
  ) -> Int? {
    let extent = cHi - cLo
    var bestCost = Float.infinity
    var bestAxis = -1
    var bestPlane = 0
    var binCount = [Int](repeating: 0, count: bins)
    var binLo = [SIMD3<Float>](repeating: .zero, count: bins)
    var binHi = [SIMD3<Float>](repeating: .zero, count: bins)
    var rightArea = [Float](repeating: 0, count: bins)
    var rightCount = [Int](repeating: 0, count: bins)
    for axis in 0..<3 where extent[axis] > 0 {
      let scale = Float(bins) / extent[axis]
      for b in 0..<bins {
        binCount[b] = 0
        binLo[b] = SIMD3(repeating: .infinity)
        binHi[b] = SIMD3(repeating: -.infinity)
      }
      for i in start..<end {
        let t = Int(order[i])
        let b = bin((centroid[t][axis] - cLo[axis]) * scale)
        binCount[b] += 1
        binLo[b] = pointwiseMin(binLo[b], boxLo[t])
        binHi[b] = pointwiseMax(binHi[b], boxHi[t])
      }
      // Sweep from the right, then from the left; plane p separates bins < p from >= p.
      var lo = SIMD3<Float>(repeating: .infinity)
      var hi = SIMD3<Float>(repeating: -.infinity)
      var count = 0
      for p in stride(from: bins - 1, through: 1, by: -1) {
        lo = pointwiseMin(lo, binLo[p])
        hi = pointwiseMax(hi, binHi[p])
        count += binCount[p]
        rightArea[p] = count > 0 ? halfArea(lo, hi) : 0
        rightCount[p] = count
      }
      lo = SIMD3(repeating: .infinity)
      hi = SIMD3(repeating: -.infinity)
      count = 0
      for p in 1..<bins {
        lo = pointwiseMin(lo, binLo[p - 1])
        hi = pointwiseMax(hi, binHi[p - 1])
        count += binCount[p - 1]
        guard count > 0, rightCount[p] > 0 else { continue }
        let cost = halfArea(lo, hi) * Float(count) + rightArea[p] * Float(rightCount[p])
        if cost < bestCost {
          bestCost = cost
          bestAxis = axis
          bestPlane = p
        }
      }
    }
    guard bestAxis >= 0 else { return nil }
    let scale = Float(bins) / extent[bestAxis]
    var i = start
    var j = end - 1
    while i <= j {
      let t = Int(order[i])
      let b = bin((centroid[t][bestAxis] - cLo[bestAxis]) * scale)
      if b < bestPlane {
        i += 1
      } else {
        order.swapAt(i, j)
        j -= 1
      }
    }
    return i > start && i < end ? i : nil
  }

  /// Object median on the axis of widest centroid spread (ties by triangle index, so the
  /// split is fully determined); always splits, even when all centroids coincide.
  static func medianSplit(
    _ order: inout [Int32], _ start: Int, _ end: Int, _ cLo: SIMD3<Float>, _ cHi: SIMD3<Float>,
    _ centroid: [SIMD3<Float>]
  ) -> Int {
    let extent = cHi - cLo
    let axis = extent.x >= extent.y && extent.x >= extent.z ? 0 : (extent.y >= extent.z ? 1 : 2)
    order[start..<end].sort { a, b in
      let (ka, kb) = (centroid[Int(a)][axis], centroid[Int(b)][axis])
      return ka < kb || (ka == kb && a < b)
    }
    return (start + end) / 2
  }
}
