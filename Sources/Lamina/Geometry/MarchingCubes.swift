import Dispatch

/// Marching cubes: the triangle mesh of a level set of a scalar field sampled on a regular grid.
///
/// Conventions:
/// - Grid layout: sample `(i, j, k)` (x index i, y index j, z index k) is at
///   `values[(i * ny + j) * nz + k]` — z fastest, the C order of a numpy `[nx, ny, nz]`
///   array, as in scikit-image's `measure.marching_cubes`.
/// - Sample `(i, j, k)` sits at `lower + (i, j, k) * (upper - lower) / (n - 1)`: the first and
///   last samples lie on the bounds (scikit-image's `spacing` is `(upper - lower) / (n - 1)`).
/// - Inside is `value < level` (a signed distance is negative inside); a sample exactly at the
///   level counts as outside.
/// - Triangles are counter-clockwise seen from outside, so their normals, and the vertex
///   normals, point toward increasing value.
/// - One vertex per grid edge that crosses the level, shared by every cube around that edge,
///   placed by linear interpolation. Faces whose inside corners lie on a diagonal are
///   resolved by the asymptotic decider (the sign of the bilinear interpolant at the face's
///   saddle), computed from that face's four values only, so neighbouring cubes agree and the
///   mesh has no cracks: a level set that does not touch the grid's boundary gives a closed
///   mesh in which every edge belongs to exactly two triangles. Each cube's polygons are
///   triangulated without diagonals between vertices of such an ambiguous face (the
///   neighbour could use the same diagonal, giving an edge of four triangles); the few loops
///   that cannot be get one extra vertex at the mean of their vertices, placed after all edge
///   vertices. Ambiguities inside a cube (tunnels) are not resolved further, unlike the
///   "marching cubes 33" of scikit-image. On smooth fields the output matches scikit-image's
///   vertex for vertex (see `MarchingCubesTests.testAgreesWithScikitImage`).
/// - Output order is the order of a serial scan and does not depend on the thread count or the
///   split into parallel chunks.
public enum MarchingCubes {
  /// Largest number of samples along one axis.
  public static let maxResolution = 1024
  /// Largest grid (samples) the library allocates itself (`extract(resolution:...evaluate:)`):
  /// 2^28 floats, 1 GiB.
  public static let maxAllocatedSamples = 1 << 28

  /// Fills `values` (count floats, one per point) for `count` points (x, y, z rows).
  public typealias Evaluate = (
    _ points: UnsafePointer<Float>, _ count: Int, _ values: UnsafeMutablePointer<Float>
  ) throws ->
    Void
  /// Fills `gradients` (3 floats per point) for `count` points (x, y, z rows).
  public typealias Gradient = (
    _ points: UnsafePointer<Float>, _ count: Int, _ gradients: UnsafeMutablePointer<Float>
  ) throws -> Void

  /// Extracts the `level` set of a grid of samples (see the type's conventions). Vertex
  /// normals come from `gradient` at the vertices when it is given, else from central
  /// differences of the grid (one-sided at its faces) interpolated along the vertex's edge.
  /// Throws on fewer than 2 or more than `maxResolution` samples along an axis, bounds that
  /// are not finite with `lower < upper`, a non-finite level or value, or an output over
  /// the mesh limits.
  public static func extract(
    values: UnsafePointer<Float>, resolution: (Int, Int, Int), lower: SIMD3<Float>,
    upper: SIMD3<Float>, level: Float = 0, gradient: Gradient? = nil
  ) throws -> TriangleMesh {
    try extract(
      values: values, resolution: resolution, lower: lower, upper: upper, level: level,
      gradient: gradient, slabsPerChunk: nil)
  }

  /// `extract(values:...)` with a chosen number of slabs per parallel chunk (nil: about 32
  /// chunks), so tests can check that the output does not depend on the split.
  static func extract(
    values: UnsafePointer<Float>, resolution: (Int, Int, Int), lower: SIMD3<Float>,
    upper: SIMD3<Float>, level: Float, gradient: Gradient?, slabsPerChunk: Int?
  ) throws -> TriangleMesh {
    let (nx, ny, nz) = resolution
    try validate(resolution: resolution, lower: lower, upper: upper, level: level)
    let total = nx * ny * nz
    if let bad = firstNonFinite(values, total) {
      let i = bad / (ny * nz)
      let j = bad / nz % ny
      throw LaminaError.numeric(
        "marching cubes: value at (\(i), \(j), \(bad % nz)) is \(values[bad]), not finite")
    }
    let grid = Grid(
      values: values, nx: nx, ny: ny, nz: nz, lower: lower,
      spacing: (upper - lower) / SIMD3(Float(nx - 1), Float(ny - 1), Float(nz - 1)), level: level)
    let table = MarchingCubesTable.triangles
    let ambiguous = MarchingCubesTable.ambiguousFaces

    // Fixed chunks of slabs (a slab is the layer of cubes between planes i and i + 1).
    let slabs = nx - 1
    let perChunk = max(1, slabsPerChunk ?? (slabs + 31) / 32)
    let chunkCount = (slabs + perChunk - 1) / perChunk
    var parts = [Part?](repeating: nil, count: chunkCount)
    let budget = Budget()
    parts.withUnsafeMutableBufferPointer { out in
      let outBase = out.baseAddress!
      Parallel.forEach(chunkCount) { c in
        let a = c * perChunk
        let b = min(slabs, a + perChunk)
        (outBase + c).pointee = grid.march(
          slabs: a..<b, table: table, ambiguous: ambiguous, budget: budget)
      }
    }
    let chunks = parts.compactMap { $0 }
    guard !budget.isExceeded else {
      throw LaminaError(.outOfMemory, "marching cubes: the mesh is over the mesh size limits")
    }
    // Edge vertices of all chunks in order, then the centre vertices of all chunks in order.
    var offsets = [Int](repeating: 0, count: chunks.count + 1)
    var faceOffsets = [Int](repeating: 0, count: chunks.count + 1)
    var centreOffsets = [Int](repeating: 0, count: chunks.count + 1)
    for (c, part) in chunks.enumerated() {
      offsets[c + 1] = offsets[c] + part.vertices.count / 3
      faceOffsets[c + 1] = faceOffsets[c] + part.faces.count
      centreOffsets[c + 1] = centreOffsets[c] + part.centres.count / 3
    }
    let edgeVertexCount = offsets[chunks.count]
    for c in 0...chunks.count { centreOffsets[c] += edgeVertexCount }
    let vertexCount = centreOffsets[chunks.count]
    guard vertexCount <= Limits.maxMeshVertices,
      faceOffsets[chunks.count] / 3 <= Limits.maxMeshFaces
    else {
      throw LaminaError(.outOfMemory, "marching cubes: the mesh is over the mesh size limits")
    }
    var vertices = [Float](repeating: 0, count: 3 * vertexCount)
    var normals = [Float](repeating: 0, count: 3 * vertexCount)
    var faces = [UInt32](repeating: 0, count: faceOffsets[chunks.count])
    vertices.withUnsafeMutableBufferPointer { vb in
      normals.withUnsafeMutableBufferPointer { nb in
        faces.withUnsafeMutableBufferPointer { fb in
          let v = vb.baseAddress
          let n = nb.baseAddress
          let f = fb.baseAddress
          Parallel.forEach(chunks.count) { c in
            let part = chunks[c]
            let own = UInt32(offsets[c])
            let following = UInt32(offsets[min(c + 1, chunks.count)])
            part.vertices.withUnsafeBufferPointer {
              guard let src = $0.baseAddress, let v else { return }
              (v + 3 * offsets[c]).update(from: src, count: $0.count)
            }
            part.normals.withUnsafeBufferPointer {
              guard let src = $0.baseAddress, let n else { return }
              (n + 3 * offsets[c]).update(from: src, count: $0.count)
            }
            part.centres.withUnsafeBufferPointer {
              guard let src = $0.baseAddress, let v else { return }
              (v + 3 * centreOffsets[c]).update(from: src, count: $0.count)
            }
            part.centreNormals.withUnsafeBufferPointer {
              guard let src = $0.baseAddress, let n else { return }
              (n + 3 * centreOffsets[c]).update(from: src, count: $0.count)
            }
            guard let f else { return }
            let dst = f + faceOffsets[c]
            let centreBase = UInt32(centreOffsets[c])
            for (t, index) in part.faces.enumerated() {
              if index & Grid.nextChunk != 0 {
                dst[t] = following + (index & ~Grid.nextChunk)
              } else if index & Grid.centreFlag != 0 {
                dst[t] = centreBase + (index & ~Grid.centreFlag)
              } else {
                dst[t] = own + index
              }
            }
          }
        }
      }
    }
    if let gradient, vertexCount > 0 {
      try applyGradient(gradient, vertices: vertices, normals: &normals)
    }
    return try TriangleMesh(vertices: vertices, faces: faces, normals: normals)
  }

  /// Samples a field on the grid of `resolution` samples spanning `lower...upper` by calling
  /// `evaluate` on batches of whole planes (at most about 65536 points each, in increasing x),
  /// then extracts its `level` set like `extract(values:...)`. The grid is held in memory;
  /// its size is bounded by `maxAllocatedSamples`.
  public static func extract(
    resolution: (Int, Int, Int), lower: SIMD3<Float>, upper: SIMD3<Float>, level: Float = 0,
    evaluate: Evaluate, gradient: Gradient? = nil
  ) throws -> TriangleMesh {
    let (nx, ny, nz) = resolution
    try validate(resolution: resolution, lower: lower, upper: upper, level: level)
    guard nx * ny * nz <= maxAllocatedSamples else {
      throw LaminaError(
        .outOfMemory,
        "marching cubes: a \(nx) x \(ny) x \(nz) grid is over the limit of \(maxAllocatedSamples) samples"
      )
    }
    let plane = ny * nz
    let planesPerBatch = max(1, 65536 / plane)
    let spacing = (upper - lower) / SIMD3(Float(nx - 1), Float(ny - 1), Float(nz - 1))
    var values = [Float](repeating: 0, count: nx * plane)
    var points = [Float](repeating: 0, count: 3 * planesPerBatch * plane)
    var i0 = 0
    while i0 < nx {
      let i1 = min(nx, i0 + planesPerBatch)
      var p = 0
      for i in i0..<i1 {
        for j in 0..<ny {
          for k in 0..<nz {
            let x = lower + spacing * SIMD3(Float(i), Float(j), Float(k))
            points[p] = x.x
            points[p + 1] = x.y
            points[p + 2] = x.z
            p += 3
          }
        }
      }
      try points.withUnsafeBufferPointer { pts in
        try values.withUnsafeMutableBufferPointer { vals in
          try evaluate(pts.baseAddress!, (i1 - i0) * plane, vals.baseAddress! + i0 * plane)
        }
      }
      i0 = i1
    }
    return try values.withUnsafeBufferPointer {
      try extract(
        values: $0.baseAddress!, resolution: resolution, lower: lower, upper: upper, level: level,
        gradient: gradient)
    }
  }

  static func validate(
    resolution: (Int, Int, Int), lower: SIMD3<Float>, upper: SIMD3<Float>, level: Float
  ) throws {
    let (nx, ny, nz) = resolution
    for (name, n) in [("nx", nx), ("ny", ny), ("nz", nz)] {
      guard n >= 2, n <= maxResolution else {
        throw LaminaError.invalid(
          "marching cubes: \(name) = \(n); each axis needs between 2 and \(maxResolution) samples")
      }
    }
    for a in 0..<3 {
      guard lower[a].isFinite, upper[a].isFinite, lower[a] < upper[a] else {
        throw LaminaError.invalid(
          "marching cubes: bounds on axis \(a) are [\(lower[a]), \(upper[a])]; they must be finite with lower < upper"
        )
      }
    }
    guard level.isFinite else {
      throw LaminaError.invalid("marching cubes: level is \(level), not finite")
    }
  }

  /// Index of the first non-finite value, scanning in parallel chunks. Each chunk is first
  /// screened with SIMD arithmetic (x * 0 is NaN exactly for NaN and infinite x) and only
  /// searched element by element when that finds something.
  static func firstNonFinite(_ values: UnsafePointer<Float>, _ n: Int) -> Int? {
    let chunk = 1 << 20
    let chunks = (n + chunk - 1) / chunk
    var firstBad = [Int](repeating: Int.max, count: chunks)
    firstBad.withUnsafeMutableBufferPointer { out in
      let base = out.baseAddress!
      Parallel.forEach(chunks) { c in
        let lo = c * chunk
        let hi = min(n, lo + chunk)
        var acc = SIMD8<Float>.zero
        var i = lo
        let raw = UnsafeRawPointer(values)
        while i + 8 <= hi {
          acc += raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) * 0
          i += 8
        }
        var tail: Float = 0
        while i < hi {
          tail += values[i] * 0
          i += 1
        }
        guard acc.sum().isNaN || tail.isNaN else { return }
        for i in lo..<hi where !values[i].isFinite {
          base[c] = i
          return
        }
      }
    }
    return firstBad.first { $0 != Int.max }
  }

  /// Replaces grid normals by the normalised `gradient` at each vertex (keeping the grid
  /// normal where the gradient is zero or not finite).
  static func applyGradient(_ gradient: Gradient, vertices: [Float], normals: inout [Float]) throws
  {
    let count = vertices.count / 3
    let batch = 65536
    var g = [Float](repeating: 0, count: 3 * min(batch, count))
    var start = 0
    while start < count {
      let m = min(batch, count - start)
      try vertices.withUnsafeBufferPointer { v in
        try g.withUnsafeMutableBufferPointer { gb in
          try gradient(v.baseAddress! + 3 * start, m, gb.baseAddress!)
        }
      }
      for t in 0..<m {
        let d = SIMD3(g[3 * t], g[3 * t + 1], g[3 * t + 2])
        let len = (d * d).sum().squareRoot()
        guard len > 0, len.isFinite else { continue }
        let u = d / len
        normals[3 * (start + t)] = u.x
        normals[3 * (start + t) + 1] = u.y
        normals[3 * (start + t) + 2] = u.z
      }
      start += m
    }
  }

  /// Running totals of the chunks' vertices and triangles against the mesh limits.
  final class Budget: @unchecked Sendable {
    private let queue = DispatchQueue(label: "lamina.marching-cubes.budget")
    private var vertices = 0
    private var faces = 0
    private var exceeded = false

    /// Adds a chunk's new output; false once the totals are over the limits.
    func add(vertices v: Int, faces f: Int) -> Bool {
      queue.sync {
        vertices += v
        faces += f
        if vertices > Limits.maxMeshVertices || faces > Limits.maxMeshFaces { exceeded = true }
        return !exceeded
      }
    }

    /// Whether the totals went over the limits.
    var isExceeded: Bool { queue.sync { exceeded } }
  }

  /// One chunk's output: its vertices and normals, and its triangles' vertex indices, local
  /// to the chunk or (with `Grid.nextChunk` set) local to the following chunk.
  struct Part {
    var vertices: [Float] = []
    var normals: [Float] = []
    var faces: [UInt32] = []
    /// Cube-centre vertices (see `MarchingCubesTable.centre`), placed after all edge vertices.
    var centres: [Float] = []
    var centreNormals: [Float] = []
  }

  /// The grid being contoured (read-only, shared by all chunks).
  struct Grid: @unchecked Sendable {
    let values: UnsafePointer<Float>
    let nx: Int
    let ny: Int
    let nz: Int
    let lower: SIMD3<Float>
    let spacing: SIMD3<Float>
    let level: Float

    /// Flag on a face index that refers to the next chunk's vertices (its first plane).
    static let nextChunk: UInt32 = 1 << 31
    /// Flag on a face index that refers to this chunk's centre vertices.
    static let centreFlag: UInt32 = 1 << 30
    static let none: UInt32 = .max

    /// Contours the cubes of `slabs`, creating the vertices on planes `slabs.lowerBound ..<
    /// slabs.upperBound` (and the last plane too when it is the grid's last) and on the x
    /// edges between them. Vertices on the following chunk's first plane are numbered, not
    /// created, in the order that chunk creates them.
    func march(slabs: Range<Int>, table: [UInt8], ambiguous: [UInt8], budget: Budget) -> Part {
      var part = Part()
      let plane = ny * nz
      var yCur = [UInt32](repeating: Grid.none, count: plane)
      var zCur = yCur
      var yNext = yCur
      var zNext = yCur
      var xMap = yCur
      var borrowed: UInt32 = 0
      var counted = (0, 0)
      emitPlane(slabs.lowerBound, y: &yCur, z: &zCur, part: &part, borrowed: nil)
      for i in slabs {
        emitXEdges(i, x: &xMap, part: &part)
        let owned = i + 1 < slabs.upperBound || i + 1 == nx - 1
        borrowed = 0
        if owned {
          emitPlane(i + 1, y: &yNext, z: &zNext, part: &part, borrowed: nil)
        } else {
          withUnsafeMutablePointer(to: &borrowed) {
            emitPlane(i + 1, y: &yNext, z: &zNext, part: &part, borrowed: $0)
          }
        }
        table.withUnsafeBufferPointer { t in
          ambiguous.withUnsafeBufferPointer { amb in
            cubes(
              i, table: t.baseAddress!, ambiguous: amb.baseAddress!, x: xMap, y0: yCur, z0: zCur,
              y1: yNext, z1: zNext, part: &part)
          }
        }
        swap(&yCur, &yNext)
        swap(&zCur, &zNext)
        // Stop early once the whole mesh is certainly over the limits, so hostile input
        // (a checkerboard on a 1024^3 grid) cannot exhaust memory first.
        let vertices = (part.vertices.count + part.centres.count) / 3
        guard budget.add(vertices: vertices - counted.0, faces: part.faces.count / 3 - counted.1)
        else { return part }
        counted = (vertices, part.faces.count / 3)
      }
      return part
    }

    /// Creates (or, with `borrowed`, only numbers) the vertices on the y and z edges of plane
    /// `i`, scanning j then k, y edge before z edge.
    func emitPlane(
      _ i: Int, y: inout [UInt32], z: inout [UInt32], part: inout Part,
      borrowed: UnsafeMutablePointer<UInt32>?
    ) {
      // Local copies and row pointers keep the scan tight; crossings are rare.
      let (ny, nz, lv) = (self.ny, self.nz, level)
      let plane = values + i * ny * nz
      for j in 0..<ny {
        let row = plane + j * nz
        let hasNext = j + 1 < ny
        for k in 0..<nz {
          let in0 = row[k] < lv
          if hasNext, (row[k + nz] < lv) != in0 {
            y[j * nz + k] = vertex(
              row - values + k, row - values + k + nz, axis: 1, (i, j, k), part: &part,
              borrowed: borrowed)
          }
          if k + 1 < nz, (row[k + 1] < lv) != in0 {
            z[j * nz + k] = vertex(
              row - values + k, row - values + k + 1, axis: 2, (i, j, k), part: &part,
              borrowed: borrowed)
          }
        }
      }
    }

    /// Creates the vertices on the x edges between planes `i` and `i + 1`.
    func emitXEdges(_ i: Int, x: inout [UInt32], part: inout Part) {
      let (ny, nz, lv) = (self.ny, self.nz, level)
      let step = ny * nz
      let base = i * step
      let lowPlane = values + base
      let highPlane = lowPlane + step
      for t in 0..<step where (lowPlane[t] < lv) != (highPlane[t] < lv) {
        x[t] = vertex(
          base + t, base + t + step, axis: 0, (i, t / nz, t % nz), part: &part, borrowed: nil)
      }
    }

    /// The vertex on the edge from sample `s0` (at index `ijk`) to `s1` along `axis`: appended
    /// to `part` with its normal, or only numbered when `borrowed` counts another chunk's.
    /// (Not inlined: it runs for a small fraction of edges and would bloat the scans.)
    @inline(never)
    func vertex(
      _ s0: Int, _ s1: Int, axis: Int, _ ijk: (Int, Int, Int), part: inout Part,
      borrowed: UnsafeMutablePointer<UInt32>?
    ) -> UInt32 {
      if let borrowed {
        defer { borrowed.pointee += 1 }
        return borrowed.pointee | Grid.nextChunk
      }
      let v0 = values[s0]
      let v1 = values[s1]
      let t = (level - v0) / (v1 - v0)
      var index = SIMD3(Float(ijk.0), Float(ijk.1), Float(ijk.2))
      index[axis] += t
      let p = lower + spacing * index
      let g = (1 - t) * gridGradient(ijk) + t * gridGradient(step(ijk, axis))
      var length = (g * g).sum().squareRoot()
      var n = g
      if !(length > 0) || !length.isFinite {
        // Flat or overflowing differences: fall back to the edge direction toward outside.
        n = .zero
        n[axis] = v1 > v0 ? 1 : -1
        length = 1
      }
      n /= length
      let id = UInt32(part.vertices.count / 3)
      part.vertices.append(p.x)
      part.vertices.append(p.y)
      part.vertices.append(p.z)
      part.normals.append(n.x)
      part.normals.append(n.y)
      part.normals.append(n.z)
      return id
    }

    @inline(__always)
    func step(_ ijk: (Int, Int, Int), _ axis: Int) -> (Int, Int, Int) {
      (ijk.0 + (axis == 0 ? 1 : 0), ijk.1 + (axis == 1 ? 1 : 0), ijk.2 + (axis == 2 ? 1 : 0))
    }

    /// Central-difference gradient at a sample (one-sided on the grid's faces).
    @inline(__always)
    func gridGradient(_ ijk: (Int, Int, Int)) -> SIMD3<Float> {
      let (i, j, k) = ijk
      let s = (i * ny + j) * nz + k
      func diff(_ idx: Int, _ n: Int, _ stride: Int, _ h: Float) -> Float {
        let lo = idx > 0 ? s - stride : s
        let hi = idx + 1 < n ? s + stride : s
        let width = Float((idx > 0 ? 1 : 0) + (idx + 1 < n ? 1 : 0)) * h
        return (values[hi] - values[lo]) / width
      }
      return SIMD3(
        diff(i, nx, ny * nz, spacing.x), diff(j, ny, nz, spacing.y), diff(k, nz, 1, spacing.z))
    }

    /// Emits the triangles of the cubes in slab `i`.
    func cubes(
      _ i: Int, table: UnsafePointer<UInt8>, ambiguous: UnsafePointer<UInt8>, x: [UInt32],
      y0: [UInt32], z0: [UInt32], y1: [UInt32], z1: [UInt32], part: inout Part
    ) {
      let centreLoops = MarchingCubesTable.centreLoops
      let plane = ny * nz
      x.withUnsafeBufferPointer { xb in
        y0.withUnsafeBufferPointer { y0b in
          z0.withUnsafeBufferPointer { z0b in
            y1.withUnsafeBufferPointer { y1b in
              z1.withUnsafeBufferPointer { z1b in
                let xm = xb.baseAddress!
                let ym = (y0b.baseAddress!, y1b.baseAddress!)
                let zm = (z0b.baseAddress!, z1b.baseAddress!)
                let lv = level
                for j in 0..<(ny - 1) {
                  let r00 = values + (i * ny + j) * nz
                  let r10 = r00 + plane
                  let r01 = r00 + nz
                  let r11 = r10 + nz
                  // Corner bits at z = k: bit (dx | dy << 1).
                  var low =
                    (r00[0] < lv ? 1 : 0) | (r10[0] < lv ? 2 : 0) | (r01[0] < lv ? 4 : 0)
                    | (r11[0] < lv ? 8 : 0)
                  for k in 0..<(nz - 1) {
                    let high =
                      (r00[k + 1] < lv ? 1 : 0) | (r10[k + 1] < lv ? 2 : 0)
                      | (r01[k + 1] < lv ? 4 : 0) | (r11[k + 1] < lv ? 8 : 0)
                    let config = low | high << 4
                    low = high
                    if config == 0 || config == 255 { continue }
                    var bits = 0
                    let amb = Int(ambiguous[config])
                    if amb != 0 {
                      bits = connectedFaces(amb, r00 + k, plane: plane)
                    }
                    let entry = table + (config << 6 | bits) * MarchingCubesTable.stride
                    let count = Int(entry[0])
                    let centreMask = Int(centreLoops[config << 6 | bits])
                    let centreId =
                      centreMask == 0 ? 0 : centreVertex((i, j, k), mask: centreMask, part: &part)
                    for e in 0..<(3 * count) {
                      let edge = Int(entry[1 + e])
                      let id: UInt32
                      switch edge {
                      case 0..<4:
                        id = xm[(j + (edge & 1)) * nz + k + (edge >> 1)]
                      case 4..<8:
                        let m = (edge - 4) & 1 == 0 ? ym.0 : ym.1
                        id = m[j * nz + k + ((edge - 4) >> 1)]
                      case 8..<12:
                        let m = (edge - 8) & 1 == 0 ? zm.0 : zm.1
                        id = m[(j + ((edge - 8) >> 1)) * nz + k]
                      default:
                        id = centreId
                      }
                      part.faces.append(id)
                    }
                  }
                }
              }
            }
          }
        }
      }
    }

    /// Appends the centre vertex of cube `ijk`: the mean position and normal of the crossing
    /// points on the edges in `mask`. Returns its flagged index.
    func centreVertex(_ ijk: (Int, Int, Int), mask: Int, part: inout Part) -> UInt32 {
      var position = SIMD3<Float>.zero
      var normal = SIMD3<Float>.zero
      var count: Float = 0
      for e in 0..<12 where mask >> e & 1 != 0 {
        let (c0, c1) = MarchingCubesTable.edgeCorners[e]
        let a = (ijk.0 + (c0 & 1), ijk.1 + (c0 >> 1 & 1), ijk.2 + (c0 >> 2 & 1))
        let b = (ijk.0 + (c1 & 1), ijk.1 + (c1 >> 1 & 1), ijk.2 + (c1 >> 2 & 1))
        let v0 = values[(a.0 * ny + a.1) * nz + a.2]
        let v1 = values[(b.0 * ny + b.1) * nz + b.2]
        let t = (level - v0) / (v1 - v0)
        let pa = SIMD3(Float(a.0), Float(a.1), Float(a.2))
        let pb = SIMD3(Float(b.0), Float(b.1), Float(b.2))
        position += lower + spacing * (pa + t * (pb - pa))
        normal += (1 - t) * gridGradient(a) + t * gridGradient(b)
        count += 1
      }
      position /= count
      let length = (normal * normal).sum().squareRoot()
      normal = length > 0 && length.isFinite ? normal / length : SIMD3(0, 0, 1)
      let id = UInt32(part.centres.count / 3)
      part.centres += [position.x, position.y, position.z]
      part.centreNormals += [normal.x, normal.y, normal.z]
      return id | Grid.centreFlag
    }

    /// The connected bits of a cube's ambiguous faces (`mask`), by the asymptotic decider: a
    /// face's inside corners are connected when the bilinear interpolant's saddle value is
    /// inside. `origin` points at corner 0 of the cube.
    @inline(__always)
    func connectedFaces(_ mask: Int, _ origin: UnsafePointer<Float>, plane: Int) -> Int {
      var bits = 0
      for f in 0..<6 where mask >> f & 1 != 0 {
        let q = MarchingCubesTable.faceCornerOffsets
        func value(_ m: Int) -> Float {
          let c = q[4 * f + m]
          return origin[(c & 1) * plane + (c >> 1 & 1) * nz + (c >> 2 & 1)] - level
        }
        let a = value(0)
        let b = value(1)
        let c = value(2)
        let d = value(3)
        // Saddle value (ac - bd) / (a + c - b - d); the denominator's sign is known: negative
        // when a and c are the inside pair, positive otherwise.
        let numerator = a * c - b * d
        let insideAC = a < 0
        if insideAC ? numerator > 0 : numerator < 0 { bits |= 1 << f }
      }
      return bits
    }
  }
}

extension MarchingCubesTable {
  /// `faceCorners` flattened (4 corner numbers per face) for the hot loop.
  static let faceCornerOffsets: [Int] = faceCorners.flatMap { $0 }
}
