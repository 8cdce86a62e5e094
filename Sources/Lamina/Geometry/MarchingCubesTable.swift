/// The triangle table of `MarchingCubes`, generated (not typed in) from one rule so that its
/// consistency can be argued rather than hoped for.
///
/// Cube layout: corner `c = dx | dy << 1 | dz << 2` sits at offset (dx, dy, dz). Edges 0-3 run
/// along x at (dy, dz) = (e & 1, e >> 1); edges 4-7 along y at (dx, dz) = ((e-4) & 1, (e-4) >> 1);
/// edges 8-11 along z at (dx, dy) = ((e-8) & 1, (e-8) >> 1). Face `f = 2 * axis + side` is the
/// face where coordinate `axis` equals `side`; its corners are listed in the order
/// (u, v) = (0,0), (1,0), (1,1), (0,1) with u = axis + 1 and v = axis + 2 (mod 3), an order
/// that depends only on the face's position in the grid, so the two cubes sharing a face
/// see its corners identically.
///
/// Rule: on each face, the iso-line is the marching-squares segment set of its four corner
/// signs. A face with its inside corners on one diagonal and outside on the other is
/// ambiguous; it is resolved by a bit (`connected`: the inside corners are joined through
/// the face, i.e. the outside corners are cut off). The caller decides that bit from the
/// face's four values alone (the asymptotic decider), so neighbouring cubes always agree,
/// which is what makes the output crack-free. The segments, oriented with the inside on
/// their right as seen from outside the cube, link into closed loops around the cube's
/// surface; each loop is fanned into triangles, which come out counter-clockwise seen from
/// the outside (positive) side.
enum MarchingCubesTable {
  /// The two corners of each edge.
  static let edgeCorners: [(Int, Int)] = (0..<12).map { e in
    let axis = e / 4
    let a = (e % 4) & 1
    let b = (e % 4) >> 1
    // The two fixed offsets are on axes axis+1 and axis+2 in increasing axis order.
    var offset = [0, 0, 0]
    let others = [0, 1, 2].filter { $0 != axis }
    offset[others[0]] = a
    offset[others[1]] = b
    let c0 = offset[0] | offset[1] << 1 | offset[2] << 2
    return (c0, c0 | 1 << axis)
  }

  /// The four corners of each face, in the face's fixed (u, v) order.
  static let faceCorners: [[Int]] = (0..<6).map { f in
    let axis = f / 2
    let side = f % 2
    let u = (axis + 1) % 3
    let v = (axis + 2) % 3
    return [(0, 0), (1, 0), (1, 1), (0, 1)].map { (du, dv) in
      side << axis | du << u | dv << v
    }
  }

  /// For each corner configuration, the faces that are ambiguous (bit f set).
  static let ambiguousFaces: [UInt8] = (0..<256).map { config in
    var mask: UInt8 = 0
    for f in 0..<6 {
      let q = faceCorners[f].map { config >> $0 & 1 }
      if q[0] == q[2] && q[1] == q[3] && q[0] != q[1] { mask |= 1 << f }
    }
    return mask
  }

  /// Bytes per table entry: a triangle count, then three edge numbers per triangle (at most
  /// twelve triangles: twelve vertices around a centre vertex).
  static let stride = 40

  /// Entry `(config << 6 | connectedBits) * stride`. Bits of `connectedBits` for faces that
  /// are not ambiguous must be zero.
  static let triangles: [UInt8] = {
    var table = [UInt8](repeating: 0, count: 256 * 64 * stride)
    for config in 0..<256 {
      let amb = Int(ambiguousFaces[config])
      for bits in 0..<64 where bits & ~amb == 0 {
        let tris = generate(config: config, connected: bits).triangles
        let base = (config << 6 | bits) * stride
        table[base] = UInt8(tris.count / 3)
        for (i, e) in tris.enumerated() { table[base + 1 + i] = UInt8(e) }
      }
    }
    return table
  }()

  /// The `centreEdges` mask of each entry (same index as `triangles` without the stride).
  static let centreLoops: [UInt16] = {
    var table = [UInt16](repeating: 0, count: 256 * 64)
    for config in 0..<256 {
      let amb = Int(ambiguousFaces[config])
      for bits in 0..<64 where bits & ~amb == 0 {
        table[config << 6 | bits] = UInt16(generate(config: config, connected: bits).centreEdges)
      }
    }
    return table
  }()

  /// The edge between two corners that differ in one coordinate.
  static func edge(_ c0: Int, _ c1: Int) -> Int {
    edgeCorners.firstIndex { ($0.0 == c0 && $0.1 == c1) || ($0.0 == c1 && $0.1 == c0) } ?? -1
  }

  static func position(_ c: Int) -> SIMD3<Float> {
    SIMD3(Float(c & 1), Float(c >> 1 & 1), Float(c >> 2 & 1))
  }

  /// Edge number standing for the cube's centre vertex: the mean of the crossing points of
  /// one loop's edges (`centreEdges`), used when that loop cannot be triangulated without a
  /// forbidden diagonal (as "marching cubes 33" adds an interior vertex in such cases).
  static let centre = 12

  /// Triangles (three edge numbers each, `centre` for the centre vertex) for one
  /// configuration and ambiguity resolution, and the edges of the loop around the centre
  /// vertex (a bit mask; 0 when there is none).
  static func generate(config: Int, connected: Int) -> (triangles: [Int], centreEdges: Int) {
    let inside = (0..<8).map { config >> $0 & 1 == 1 }
    var out: [Int] = []
    var centreEdges = 0
    for loop in loops(config: config, connected: connected) {
      // A diagonal between two vertices on an ambiguous face (four crossings) could also be
      // a diagonal of the neighbouring cube, making an edge of four triangles; avoid them.
      if let tris = triangulate(loop, forbidden: { forbidden($0, $1, inside) }) {
        out += tris
      } else {
        // Fan around a centre vertex; every new edge is then inside the cube. At most one
        // loop per cube needs it (a test checks the whole table).
        for (i, e) in loop.enumerated() {
          out += [centre, e, loop[(i + 1) % loop.count]]
          centreEdges |= 1 << e
        }
      }
    }
    return (out, centreEdges)
  }

  /// Whether edges `a` and `b` lie on a common face with four crossings.
  static func forbidden(_ a: Int, _ b: Int, _ inside: [Bool]) -> Bool {
    (0..<6).contains { f in
      crossingsOnFace(f, inside) == 4 && faceEdges[f].contains(a) && faceEdges[f].contains(b)
    }
  }

  /// The oriented iso-line loops (edge numbers in order) of one configuration and resolution.
  static func loops(config: Int, connected: Int) -> [[Int]] {
    let inside = (0..<8).map { config >> $0 & 1 == 1 }
    var next = [Int](repeating: -1, count: 12)
    for f in 0..<6 {
      let q = faceCorners[f]
      let normal =
        SIMD3<Float>(
          f / 2 == 0 ? 1 : 0, f / 2 == 1 ? 1 : 0, f / 2 == 2 ? 1 : 0) * (f % 2 == 0 ? -1 : 1)
      let crossing = (0..<4).filter { inside[q[$0]] != inside[q[($0 + 1) % 4]] }
      // Segments as pairs of face-edge slots m (slot m joins q[m] and q[m+1]), each with a
      // reference corner on the cut-off side.
      var segments: [(Int, Int, Int)] = []
      if crossing.count == 2 {
        segments.append((crossing[0], crossing[1], q[0]))
      } else if crossing.count == 4 {
        // Cut off the outside corners when the inside ones are connected, else the inside.
        let cutInside = connected >> f & 1 == 0
        for m in 0..<4 where inside[q[m]] == cutInside {
          segments.append(((m + 3) % 4, m, q[m]))
        }
      }
      for (s0, s1, reference) in segments {
        var p = edge(q[s0], q[(s0 + 1) % 4])
        var r = edge(q[s1], q[(s1 + 1) % 4])
        let pp = midpoint(p)
        let d = midpoint(r) - pp
        let side = (cross(d, position(reference) - pp) * normal).sum()
        // Inside must lie on the right of the walk seen from outside (side < 0).
        if (inside[reference] && side > 0) || (!inside[reference] && side < 0) { swap(&p, &r) }
        next[p] = r
      }
    }
    var out: [[Int]] = []
    var seen = [Bool](repeating: false, count: 12)
    for start in 0..<12 where next[start] >= 0 && !seen[start] {
      var loop: [Int] = []
      var e = start
      while !seen[e] {
        seen[e] = true
        loop.append(e)
        e = next[e]
      }
      out.append(loop)
    }
    return out
  }

  /// Triangles of the polygon `poly` (in order) using no diagonal for which `forbidden` holds,
  /// fan-like when possible (earliest apex first); nil when there is no such triangulation.
  static func triangulate(_ poly: [Int], forbidden: (Int, Int) -> Bool) -> [Int]? {
    let n = poly.count
    if n < 3 { return [] }
    if n == 3 { return poly }
    // The triangle on side (poly[0], poly[1]) has its third vertex at some poly[k].
    for k in 2..<n {
      if k > 2 && forbidden(poly[1], poly[k]) { continue }
      if k < n - 1 && forbidden(poly[0], poly[k]) { continue }
      guard let left = triangulate(Array(poly[1...k]), forbidden: forbidden),
        let right = triangulate(Array(poly[k...]) + [poly[0]], forbidden: forbidden)
      else { continue }
      return [poly[0], poly[1], poly[k]] + left + right
    }
    return nil
  }

  /// The four edges of each face.
  static let faceEdges: [[Int]] = faceCorners.map { q in
    (0..<4).map { edge(q[$0], q[($0 + 1) % 4]) }
  }

  /// How many of face `f`'s edges cross the surface.
  static func crossingsOnFace(_ f: Int, _ inside: [Bool]) -> Int {
    let q = faceCorners[f]
    return (0..<4).filter { inside[q[$0]] != inside[q[($0 + 1) % 4]] }.count
  }

  static func midpoint(_ e: Int) -> SIMD3<Float> {
    0.5 * (position(edgeCorners[e].0) + position(edgeCorners[e].1))
  }
}
