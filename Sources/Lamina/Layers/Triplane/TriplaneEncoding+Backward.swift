import CLaminaKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Back-propagation through the encoding.
///
/// Two phases. Phase 1 runs over rows in fixed chunks (rows are independent): it re-samples
/// the planes with the derivatives of the bilinear weights and writes dL/dx, and, for
/// product aggregation, each plane's upstream gradient (which needs the other two planes'
/// features). Phase 2 scatters into the planes: each plane is cut into bands of texel rows
/// small enough that a band's channel-last accumulator stays in L2, one task per (level,
/// field, plane, band) owns that band's texels and visits, in row order, the points whose
/// corners fall in it (listed by a first pass), then adds its sums into the NCHW gradient.
/// No two tasks write the same memory and each texel's additions come in row order, so the
/// gradient is bit-identical to a single-threaded scatter whatever the thread count.
/// (Per-thread gradient copies reduced in fixed order would also be deterministic, but cost
/// a zeroed and summed copy of every plane per chunk, and would round differently from the
/// single-threaded scatter.)
extension TriplaneEncoding {
  /// Back-propagates `dy`; see `Layer.backward`.
  public func backward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool
  ) {
    backward(x, y, dy, dx, count: n, parameterGradients: parameterGradients, sources: nil)
  }

  /// `backward`, sampling `given` sources when non-nil (see `forward(_:_:count:sources:)`).
  func backward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool,
    sources given: PlaneSources?
  ) {
    guard n > 0 else { return }
    // A passed-on field index takes column 0 of dy; the features' gradients follow it.
    let dy = dy + featureOffset
    let c = options.channels
    let product = options.aggregation == .product
    let storeG = parameterGradients && product
    let gWidth = levels.count * 3 * c
    // Product's per-plane upstream gradients: n x levels x 3 x C.
    scratch.withBuffer(count: storeG ? n * gWidth : 0) { gbuf in
      if dx != nil || storeG {
        withSources(rows: n, given: given) { sources in
          let tasks = (n + Self.rowsPerTask - 1) / Self.rowsPerTask
          var job = BackwardRows(
            layer: self, x: x, dy: dy, dx: dx, g: storeG ? gbuf : nil, n: n, sources: sources)
          Self.parallel(tasks, work: n * 12 * c * levels.count, &job)
        }
      }
      if parameterGradients {
        scatter(x, dy, count: n, productGradients: storeG ? UnsafePointer(gbuf) : nil)
      }
    }
  }

  /// Phase 1's row tasks as a pool job: task t back-propagates rows t * `rowsPerTask` ..<
  /// (t + 1) * `rowsPerTask` (`dy` starts at the features' gradients; `g`, when non-nil,
  /// takes product aggregation's upstream gradients, levels x 3 x C per row).
  private struct BackwardRows: PoolJob {
    unowned(unsafe) let layer: TriplaneEncoding
    let x: UnsafePointer<Float>
    let dy: UnsafePointer<Float>
    let dx: UnsafeMutablePointer<Float>?
    let g: UnsafeMutablePointer<Float>?
    let n: Int
    let sources: PlaneSources

    func run(_ task: Int) {
      let (inp, out, c) = (layer.inputDim, layer.outputDim, layer.options.channels)
      let gWidth = layer.levels.count * 3 * c
      let start = task * TriplaneEncoding.rowsPerTask
      let end = min(n, start + TriplaneEncoding.rowsPerTask)
      withUnsafeTemporaryAllocation(of: Float.self, capacity: 12 * c + 1) { tmp in
        for r in start..<end {
          layer.backwardRow(
            r, x + r * inp, dy + r * out, dx.map { $0 + r * inp }, g.map { $0 + r * gWidth },
            sources, tmp.baseAddress!)
        }
      }
    }
  }

  /// Phase 1 for one row: dL/dx into `dxr` (when non-nil) and, when `g` is non-nil, the
  /// upstream gradient of each (level, plane) into it. `tmp` holds 12C + 1 floats.
  @inline(__always)
  private func backwardRow(
    _ row: Int, _ xr: UnsafePointer<Float>, _ dyr: UnsafePointer<Float>,
    _ dxr: UnsafeMutablePointer<Float>?, _ g: UnsafeMutablePointer<Float>?,
    _ sources: PlaneSources, _ tmp: UnsafeMutablePointer<Float>
  ) {
    let c = options.channels
    var field = 0
    var p = xr
    if let dxr { dxr.update(repeating: 0, count: inputDim) }
    if options.fields > 1 {
      field = fieldIndex(xr[0], fields: options.fields)
      guard field >= 0 else {
        g?.update(repeating: 0, count: levels.count * 3 * c)
        return
      }
      p = xr + 1
    }
    let dxp = dxr.map { options.fields > 1 ? $0 + 1 : $0 }
    let point = (p[0], p[1], p[2])
    // tmp: features f (3C), d/dW (3C), d/dH (3C), upstream gradient (3C).
    let f = tmp
    let dw = tmp + 3 * c
    let dh = tmp + 6 * c
    let up = tmp + 9 * c
    for l in 0..<levels.count {
      let geo = geometry[l]
      let axes = (
        geo.sample(point.0, axis: 0), geo.sample(point.1, axis: 1), geo.sample(point.2, axis: 2)
      )
      let r = geo.resolution
      let samples = (
        Bilinear(axes.0, axes.1, resolution: r), Bilinear(axes.0, axes.2, resolution: r),
        Bilinear(axes.1, axes.2, resolution: r)
      )
      let source = sources[l]
      if source.channelLast {
        // Start the twelve corners' reads together (see `forwardRow`).
        let touched =
          source.touch(plane: field * 3, samples.0)
          + source.touch(plane: field * 3 + 1, samples.1)
          + source.touch(plane: field * 3 + 2, samples.2)
        tmp[12 * c] = touched
      }
      source.gatherWithDerivatives(
        plane: field * 3, samples.0, into: f, dw: dw, dh: dh)
      source.gatherWithDerivatives(
        plane: field * 3 + 1, samples.1, into: f + c, dw: dw + c, dh: dh + c)
      source.gatherWithDerivatives(
        plane: field * 3 + 2, samples.2, into: f + 2 * c, dw: dw + 2 * c, dh: dh + 2 * c)
      let gy = dyr + levelOffset(l)
      upstream(gy, features: f, into: up)
      if let g { (g + l * 3 * c).update(from: up, count: 3 * c) }
      guard let dxp else { continue }
      for plane in 0..<3 {
        let (a, b) = Self.planeAxes(plane, axes)
        let (ia, ib) = Self.planeAxisIndices(plane)
        var sa: Float = 0
        var sb: Float = 0
        let u = up + plane * c
        let pw = dw + plane * c
        let ph = dh + plane * c
        for k in 0..<c {
          sa += u[k] * pw[k]
          sb += u[k] * ph[k]
        }
        dxp[ia] += sa * a.slope
        dxp[ib] += sb * b.slope
      }
    }
    if options.fourier > 0, let dxp {
      fourierBackward(point, dyr + options.planeFeatures, into: dxp)
    }
  }

  /// dL/d(plane features) of one level for each of the three planes (3C values) from
  /// dL/d(level features) `gy` and the planes' features `f` (3C).
  @inline(__always)
  private func upstream(
    _ gy: UnsafePointer<Float>, features f: UnsafePointer<Float>,
    into up: UnsafeMutablePointer<Float>
  ) {
    let c = options.channels
    switch options.aggregation {
    case .sum:
      for plane in 0..<3 { (up + plane * c).update(from: gy, count: c) }
    case .mean:
      for k in 0..<c {
        let v = gy[k] / 3
        (up[k], up[c + k], up[2 * c + k]) = (v, v, v)
      }
    case .product:
      for k in 0..<c {
        let (a, b, d) = (f[k], f[c + k], f[2 * c + k])
        up[k] = (gy[k] * b) * d
        up[c + k] = (gy[k] * a) * d
        up[2 * c + k] = (gy[k] * a) * b
      }
    case .concat:
      up.update(from: gy, count: 3 * c)
    }
  }

  /// Adds the Fourier features' part of dL/dx.
  @inline(__always)
  private func fourierBackward(
    _ p: (Float, Float, Float), _ gy: UnsafePointer<Float>, into dxp: UnsafeMutablePointer<Float>
  ) {
    let q = normalized(p)
    let s = geometry[0].inverseHalfWidth
    var d: (Float, Float, Float) = (0, 0, 0)
    var g = gy
    if options.fourierIncludeInput {
      d = (g[0], g[1], g[2])
      g += 3
    }
    for k in 0..<options.fourier {
      let w = Self.frequency(k)
      let (u, v, t) = (w * q.0, w * q.1, w * q.2)
      d.0 += w * (g[0] * cosf(u) - g[3] * sinf(u))
      d.1 += w * (g[1] * cosf(v) - g[4] * sinf(v))
      d.2 += w * (g[2] * cosf(t) - g[5] * sinf(t))
      g += 6
    }
    dxp[0] += d.0 * s.0
    dxp[1] += d.1 * s.1
    dxp[2] += d.2 * s.2
  }

  // MARK: - Phase 2: the scatter into the planes

  /// Texel rows per band of the scatter, as a power of two 2^shift (so a row's band is a
  /// shift, not a division): the most that keep a band's channel-last accumulator (rows x
  /// R x C floats) within about 128 KB, so that it stays in L2 while its points are added
  /// at random texels (a whole plane at R 128, C 16 is 1 MB). May exceed R (one band).
  static func bandShift(resolution r: Int, channels c: Int) -> Int {
    let rows = max(1, 32_768 / max(1, r * c))
    return Int.bitWidth - 1 - rows.leadingZeroBitCount
  }

  /// The bands of a point's two corner rows `k` and `k + 1`: each band index, or -1 when
  /// that row is off the grid; `hi` is also -1 when it equals `lo`.
  @inline(__always)
  static func bands(of k: Int, resolution r: Int, shift: Int) -> (lo: Int, hi: Int) {
    let lo = k >= 0 && k < r ? k >> shift : -1
    let hi = k + 1 >= 0 && k + 1 < r ? (k + 1) >> shift : -1
    return (lo, hi == lo ? -1 : hi)
  }

  /// Adds dL/dplanes into every level's gradient. `productGradients` holds phase 1's
  /// per-plane upstream gradients for product aggregation (nil otherwise, when they are
  /// read straight from `dy`).
  ///
  /// Each plane is cut into bands of 2^`bandShift` texel rows, and one task owns one
  /// (field, plane, band). A first pass lists, per (field, plane) and band, the input rows
  /// whose bilinear corners touch the band (a point's two corner rows lie in at most two
  /// bands), in row order; each band task then visits only its rows, accumulating into a
  /// zeroed channel-last band, which it adds into the NCHW gradient. No two tasks write the
  /// same texels and each texel's sum is formed in row order, so the result is the same
  /// as a single-threaded scatter's on any thread count.
  func scatter(
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, count n: Int,
    productGradients: UnsafePointer<Float>?
  ) {
    let c = options.channels
    let fields = options.fields
    // Rows grouped by field, in row order within each (a stable counting sort), so a task
    // visits only its field's rows; rows with a bad index are left out.
    let orderCount = fields > 1 ? n + fields + 1 : 0
    scratch.withBytes(ScratchPool.bytes(Int.self, orderCount)) { raw in
      let order = raw.bindMemory(to: Int.self, capacity: max(orderCount, 1))
      let start = order + n
      if fields > 1 {
        start.update(repeating: 0, count: fields + 1)
        for r in 0..<n {
          let f = fieldIndex(x[r * 4], fields: fields)
          if f >= 0 { start[f + 1] += 1 }
        }
        for f in 0..<fields { start[f + 1] += start[f] }
        // start[f] is the next free slot of field f while filling; shift back afterwards.
        for r in 0..<n {
          let f = fieldIndex(x[r * 4], fields: fields)
          if f >= 0 {
            order[start[f]] = r
            start[f] += 1
          }
        }
        for f in stride(from: fields, to: 0, by: -1) { start[f] = start[f - 1] }
        start[0] = 0
      }
      let rows = FieldRows(fields: fields, n: n, order: order, start: start)
      let total = rows.total
      for l in 0..<levels.count {
        let geo = geometry[l]
        let r = geo.resolution
        let shift = Self.bandShift(resolution: r, channels: c)
        let height = min(r, 1 << shift)
        let bands = (r + height - 1) / height
        // Per (field, plane): bands + 1 list offsets; the lists, 2 x the field's rows each
        // at most (a point's corners touch at most two bands).
        let offsetCount = fields * 3 * (bands + 1)
        let entryCount = 6 * total
        // One field: pass 1 in row chunks (see `listChunks`), per (plane, chunk, band) a
        // count, then a start.
        let chunked = fields == 1
        let chunkCount = chunked ? 2 * Self.listChunks * bands : 0
        let bytes =
          ScratchPool.bytes(Int.self, offsetCount) + ScratchPool.bytes(Int.self, entryCount)
          + ScratchPool.bytes(Int32.self, 3 * total) + ScratchPool.bytes(Int.self, chunkCount)
        scratch.withBytes(bytes) { raw in
          var cursor = ScratchCursor(raw)
          let lists = BandLists(
            offsets: cursor.take(Int.self, offsetCount), entries: cursor.take(Int.self, entryCount),
            heights: cursor.take(Int32.self, 3 * total), bands: bands, shift: shift)
          let chunkSlots = cursor.take(Int.self, chunkCount)
          if chunked {
            listByChunks(x, count: n, level: l, lists: lists, slots: chunkSlots)
          } else {
            // Pass 1, one task per plane: the lists of every field's rows by band.
            var job = PlaneLists(layer: self, x: x, level: l, rows: rows, lists: lists)
            Self.parallel(3, work: total * 3 * 8, &job)
          }
          // Pass 2: lanes run tasks lane, lane + lanes, ...; each lane has one band
          // accumulator. Which lane runs a task does not change its result.
          let tasks = fields * 3 * bands
          let lanes = min(tasks, 8)
          let bandSize = height * r * c
          scratch.withBuffer(count: lanes * bandSize) { acc in
            levels[l].gradient.withUnsafeMutableBufferPointer { gb in
              var job = ScatterLanes(
                layer: self, x: x, dy: dy, level: l, rows: rows, lists: lists, chunked: chunked,
                height: height, tasks: tasks, lanes: lanes, accumulators: acc,
                bandSize: bandSize, gradient: gb.baseAddress!, productGradients: productGradients)
              Self.parallel(lanes, work: n * 12 * c, &job)
            }
          }
        }
      }
    }
  }

  /// The scatter's rows by field: field f's rows are `order[start[f] ..< start[f + 1]]`
  /// with several fields, all n rows in order with one.
  private struct FieldRows {
    let fields: Int
    let n: Int
    /// The rows grouped by field (several fields only).
    let order: UnsafePointer<Int>
    /// fields + 1 offsets into `order` (several fields only).
    let start: UnsafePointer<Int>

    init(fields: Int, n: Int, order: UnsafeMutablePointer<Int>, start: UnsafeMutablePointer<Int>) {
      self.fields = fields
      self.n = n
      self.order = UnsafePointer(order)
      self.start = UnsafePointer(start)
    }

    /// Rows with a valid field index.
    var total: Int { fields > 1 ? start[fields] : n }

    /// Field f's range of positions.
    @inline(__always)
    func of(_ f: Int) -> (Int, Int) { fields > 1 ? (start[f], start[f + 1]) : (0, n) }

    /// The input row at position i.
    @inline(__always)
    func row(at i: Int) -> Int { fields > 1 ? order[i] : i }
  }

  /// One level's row lists by band (see `scatter`): per (field, plane) bands + 1 offsets
  /// into its list, the lists in `entries`, and each listed position's lower corner row
  /// per plane in `heights`.
  private struct BandLists {
    let offsets: UnsafeMutablePointer<Int>
    let entries: UnsafeMutablePointer<Int>
    let heights: UnsafeMutablePointer<Int32>
    let bands: Int
    /// Texel rows per band, as a power of two (`bandShift`).
    let shift: Int
  }

  /// Pass 1 of `scatter` with several fields as a pool job: task `plane` lists every
  /// field's rows by band for that plane.
  private struct PlaneLists: PoolJob {
    unowned(unsafe) let layer: TriplaneEncoding
    let x: UnsafePointer<Float>
    let level: Int
    let rows: FieldRows
    let lists: BandLists

    func run(_ plane: Int) {
      let geo = layer.geometry[level]
      let r = geo.resolution
      let (bands, shift) = (lists.bands, lists.shift)
      let (total, pointOffset, inp) = (rows.total, rows.fields > 1 ? 1 : 0, layer.inputDim)
      let ib = TriplaneEncoding.planeAxisIndices(plane).1
      let hs = lists.heights + plane * total
      for f in 0..<rows.fields {
        let (s0, s1) = rows.of(f)
        let o = lists.offsets + (f * 3 + plane) * (bands + 1)
        let list = lists.entries + 6 * s0 + plane * 2 * (s1 - s0)
        o.update(repeating: 0, count: bands + 1)
        for i in s0..<s1 {
          let k = geo.sample(x[rows.row(at: i) * inp + pointOffset + ib], axis: ib).index
          hs[i] = Int32(truncatingIfNeeded: k)
          let (lo, hi) = TriplaneEncoding.bands(of: k, resolution: r, shift: shift)
          if lo >= 0 { o[lo + 1] += 1 }
          if hi >= 0 { o[hi + 1] += 1 }
        }
        for b in 0..<bands { o[b + 1] += o[b] }
        // o[b] is band b's next free slot while filling; shifted back afterwards.
        for i in s0..<s1 {
          let k = Int(hs[i])
          let (lo, hi) = TriplaneEncoding.bands(of: k, resolution: r, shift: shift)
          let row = rows.row(at: i)
          if lo >= 0 {
            list[o[lo]] = row
            o[lo] += 1
          }
          if hi >= 0 {
            list[o[hi]] = row
            o[hi] += 1
          }
        }
        for b in stride(from: bands, to: 0, by: -1) { o[b] = o[b - 1] }
        o[0] = 0
      }
    }
  }

  /// Pass 2 of `scatter` as a pool job: lane `lane` runs tasks lane, lane + lanes, ...,
  /// task t being band t % bands of plane (t / bands) % 3 of field t / (3 bands), with its
  /// own band accumulator.
  private struct ScatterLanes: PoolJob {
    unowned(unsafe) let layer: TriplaneEncoding
    let x: UnsafePointer<Float>
    let dy: UnsafePointer<Float>
    let level: Int
    let rows: FieldRows
    let lists: BandLists
    /// Whether the lists come from `listByChunks` (plane 2 reads plane 1's).
    let chunked: Bool
    /// Texel rows per band (the last band may have fewer).
    let height: Int
    let tasks: Int
    let lanes: Int
    /// `lanes` accumulators of `bandSize` floats.
    let accumulators: UnsafeMutablePointer<Float>
    let bandSize: Int
    /// The level's NCHW gradient.
    let gradient: UnsafeMutablePointer<Float>
    let productGradients: UnsafePointer<Float>?

    func run(_ lane: Int) {
      let l = level
      let (c, r) = (layer.options.channels, layer.geometry[l].resolution)
      let bands = lists.bands
      let pointOffset = rows.fields > 1 ? 1 : 0
      let gWidth = layer.levels.count * 3 * c
      let concatOffset = layer.options.aggregation == .concat ? c : 0
      let kernel = layer.scatterKernel
      let a = accumulators + lane * bandSize
      var task = lane
      while task < tasks {
        let field = task / (3 * bands)
        let plane = (task / bands) % 3
        let band = task % bands
        let (h0, h1) = (band * height, min(r, (band + 1) * height))
        let (s0, s1) = rows.of(field)
        let o = lists.offsets + (field * 3 + plane) * (bands + 1)
        let list =
          lists.entries + 6 * s0
          + TriplaneEncoding.listPlane(plane, shared: chunked) * 2 * (s1 - s0)
        let gp = gradient + (field * 3 + plane) * c * r * r
        if kernel {
          // The same sums, in C (see `scatterKernel`).
          let (ia, ib) = TriplaneEncoding.planeAxisIndices(plane)
          let (gbase, gstride) =
            productGradients.map { ($0 + (l * 3 + plane) * c, gWidth) }
            ?? (dy + layer.levelOffset(l) + concatOffset * plane, layer.outputDim)
          var g = layer.kernelGeometry[l]
          lamina_triplane_scatter_band(
            &g, x + pointOffset, layer.inputDim, Int32(ia), Int32(ib), gbase, gstride,
            list + o[band], o[band + 1] - o[band], h0, h1, c, a)
          lamina_triplane_add_band(a, (h1 - h0) * r, c, gp + h0 * r, r * r)
          task += lanes
          continue
        }
        layer.scatterBand(
          level: l, plane: plane, heights: (h0, h1), x: x, dy: dy,
          rows: UnsafePointer(list + o[band]), count: o[band + 1] - o[band],
          productGradients: productGradients, accumulator: a)
        // Add the band's channel-last sums into the NCHW gradient of this plane, in blocks
        // of texels so that both sides stay in L1.
        var t0 = h0 * r
        while t0 < h1 * r {
          let t1 = min(h1 * r, t0 + 64)
          for ch in 0..<c {
            let gc = gp + ch * r * r
            let ac = a + ch
            for t in t0..<t1 { gc[t] += ac[(t - h0 * r) * c] }
          }
          t0 = t1
        }
        task += lanes
      }
    }
  }

  /// Row chunks of the scatter's listing pass for one field: 2 x 8 tasks balance two to
  /// eight cores (one task per plane left one of two cores with two planes).
  static let listChunks = 8

  /// The plane whose row lists plane `plane` reads: lists depend only on a plane's H axis,
  /// and planes 1 (xz) and 2 (yz) share z, so with `shared` (the one-field listing of
  /// `listByChunks`) plane 2 reads plane 1's.
  @inline(__always)
  static func listPlane(_ plane: Int, shared: Bool) -> Int { shared && plane == 2 ? 1 : plane }

  /// Pass 1 of `scatter` for one field (rows 0 ..< n in order) in 2 x `listChunks` tasks
  /// (plane, contiguous row chunk), with the same lists as the per-plane pass: each task
  /// counts its chunk's rows per band (keeping each row's corner row in `heights`); the
  /// starts are then summed band by band, chunk by chunk (so within a band the chunks, and
  /// so the rows, stay in row order); each task then writes its rows from its starts.
  /// `lists.offsets` gets, per plane, the bands + 1 list offsets; `lists.entries + plane *
  /// 2n` the plane's lists (planes 0 and 1; plane 2 reads plane 1's, see `listPlane`);
  /// `slots` holds 2 x listChunks x bands Ints.
  private func listByChunks(
    _ x: UnsafePointer<Float>, count n: Int, level l: Int, lists: BandLists,
    slots: UnsafeMutablePointer<Int>
  ) {
    let (chunks, bands, offsets) = (Self.listChunks, lists.bands, lists.offsets)
    // Planes xz and yz both have z as their H axis, so the same lists: those of plane 1
    // serve plane 2 (its offsets are copied; `listPlane` points pass 2 at plane 1's list).
    slots.update(repeating: 0, count: 2 * chunks * bands)
    var job = ChunkLists(
      layer: self, x: x, n: n, level: l, lists: lists, slots: slots, placing: false)
    Self.parallel(2 * chunks, work: n * 2 * 8, &job)
    for plane in 0..<2 {
      let o = offsets + plane * (bands + 1)
      var next = 0
      for b in 0..<bands {
        o[b] = next
        for chunk in 0..<chunks {
          let slot = slots + (plane * chunks + chunk) * bands + b
          let count = slot.pointee
          slot.pointee = next
          next += count
        }
      }
      o[bands] = next
    }
    (offsets + 2 * (bands + 1)).update(from: offsets + (bands + 1), count: bands + 1)
    job.placing = true
    Self.parallel(2 * chunks, work: n * 2 * 8, &job)
  }

  /// `listByChunks`' two phases as a pool job: task plane * `listChunks` + chunk counts
  /// (`placing` false) or places (true) the rows of its chunk for that plane.
  private struct ChunkLists: PoolJob {
    unowned(unsafe) let layer: TriplaneEncoding
    let x: UnsafePointer<Float>
    let n: Int
    let level: Int
    let lists: BandLists
    /// Per (plane, chunk), `bands` counts, then next free slots.
    let slots: UnsafeMutablePointer<Int>
    var placing: Bool

    func run(_ task: Int) {
      let chunks = TriplaneEncoding.listChunks
      let (plane, chunk) = (task / chunks, task % chunks)
      let geo = layer.geometry[level]
      let (r, bands, shift) = (geo.resolution, lists.bands, lists.shift)
      let hs = lists.heights + plane * n
      let rows = (chunk * n / chunks)..<((chunk + 1) * n / chunks)
      if !placing {
        let stride = layer.inputDim
        let ib = TriplaneEncoding.planeAxisIndices(plane).1
        let counts = slots + task * bands
        for i in rows {
          let k = geo.sample(x[i * stride + ib], axis: ib).index
          hs[i] = Int32(truncatingIfNeeded: k)
          let (lo, hi) = TriplaneEncoding.bands(of: k, resolution: r, shift: shift)
          if lo >= 0 { counts[lo] += 1 }
          if hi >= 0 { counts[hi] += 1 }
        }
        return
      }
      let list = lists.entries + plane * 2 * n
      let next = slots + task * bands
      for i in rows {
        let (lo, hi) = TriplaneEncoding.bands(of: Int(hs[i]), resolution: r, shift: shift)
        if lo >= 0 {
          list[next[lo]] = i
          next[lo] += 1
        }
        if hi >= 0 {
          list[next[hi]] = i
          next[hi] += 1
        }
      }
    }
  }

  /// Accumulates one plane's dL/dtexel for the texel rows `heights` into `a`, a
  /// channel-last accumulator of those rows only (zeroed here first), over the input rows
  /// listed in `rows` (in that order).
  @inline(__always)
  private func scatterBand(
    level l: Int, plane: Int, heights: (Int, Int), x: UnsafePointer<Float>,
    dy: UnsafePointer<Float>, rows: UnsafePointer<Int>, count: Int,
    productGradients: UnsafePointer<Float>?, accumulator a: UnsafeMutablePointer<Float>
  ) {
    let c = options.channels
    let geo = geometry[l]
    let r = geo.resolution
    a.update(repeating: 0, count: (heights.1 - heights.0) * r * c)
    let first = heights.0 * r
    @inline(__always)
    func inBand(_ h: Int) -> Bool { h >= heights.0 && h < heights.1 }
    let (ia, ib) = Self.planeAxisIndices(plane)
    let pointOffset = options.fields > 1 ? 1 : 0
    let gWidth = levels.count * 3 * c
    let concatOffset = options.aggregation == .concat ? plane * c : 0
    let mean = options.aggregation == .mean
    @inline(__always)
    func upstream(_ row: Int) -> UnsafePointer<Float> {
      productGradients.map { $0 + row * gWidth + (l * 3 + plane) * c }
        ?? dy + row * outputDim + levelOffset(l) + concatOffset
    }
    for i in 0..<count {
      if i + Self.lookahead < count {
        // The listed rows skip through x and dy: start their reads early.
        let ahead = rows[i + Self.lookahead]
        lamina_prefetch(x + ahead * inputDim)
        let g = upstream(ahead)
        lamina_prefetch(g)
        lamina_prefetch(g + c - 1)
      }
      let row = rows[i]
      let p = x + row * inputDim + pointOffset
      let s = Bilinear(geo.sample(p[ia], axis: ia), geo.sample(p[ib], axis: ib), resolution: r)
      let g = upstream(row)
      @inline(__always)
      func add(_ texel: Int, _ w: Float) {
        let t = a + (texel - first) * c
        if mean {
          for k in 0..<c { t[k] += (g[k] / 3) * w }
        } else {
          var k = 0
          let wv = SIMD8<Float>(repeating: w)
          while k + 8 <= c {
            let v = load8(t + k) + load8(g + k) * wv
            store8(v, t + k)
            k += 8
          }
          while k < c {
            t[k] += g[k] * w
            k += 1
          }
        }
      }
      let (top, bottom) = (inBand(s.b.index), inBand(s.b.index + 1))
      if s.valid.0 && top { add(s.texel.0, s.weight.0) }
      if s.valid.1 && top { add(s.texel.1, s.weight.1) }
      if s.valid.2 && bottom { add(s.texel.2, s.weight.2) }
      if s.valid.3 && bottom { add(s.texel.3, s.weight.3) }
    }
  }
}
