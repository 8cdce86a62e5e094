#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The encoding in jet passes (`JetLayer`): the features with their first and pure second
/// derivatives along each input coordinate, and the reverse pass from them into the planes.
///
/// **The input jet is the identity.** The encoding reads coordinates, so it is always a
/// model's first layer, where `Model.jetForward` starts the jet as x with identity first
/// derivatives and zero second derivatives; `jetForward` relies on that (it reads only the
/// value stream) and `Model.checkJetSupport` refuses a model whose encoding sits later. For
/// the same reason `jetBackward` gives no adjoint of the input jet (`dx` must be nil).
///
/// **First derivatives** are exact inside each texel cell: a plane's sample is bilinear in
/// its two texel coordinates, whose derivatives are the differences of the corners
/// (`PlaneSource.gatherWithDerivatives`), times the texel coordinate's slope along the input
/// axis, `(R - 1) / (hi - lo)` with align_corners and `R / (hi - lo)` without (0 on an axis
/// clamped by border padding). They are piecewise constant along each axis and jump where
/// the point crosses a texel edge (as `inputGradient`'s, which they equal).
///
/// **Second derivatives.** Along one input axis each plane's sample is linear (the pure
/// second derivative of a bilinear function along either of its axes is 0; only its mixed
/// derivative is not, and pure directions never mix two axes of one plane), so with sum,
/// mean and concat aggregation the plane features' pure second derivatives are exactly 0
/// inside every cell (at texel edges they are undefined: the first derivative jumps). With
/// product aggregation they are not: each axis lies in two planes, and d2(f_p f_q f_r)/dx2
/// = 2 f_p' f_q' f_r for the two planes p, q containing x. The Fourier features are smooth,
/// with second derivatives -(2^k pi / half width)^2 times themselves.
///
/// **Many fields.** With `fields` > 1 direction 0 is the field index column: the features
/// are piecewise constant in it (a whole number selects the planes), so every stream along
/// direction 0 is 0, as the index column of `inputGradient` is; a passed-on index column
/// has derivative 0 in every direction. Loss terms on such models see a zero first entry of
/// the gradient (give normals and gradients a 0 there).
///
/// **Backward** adds dL/dplanes: per row and plane the adjoints of the sampled value and of
/// its two texel-coordinate derivatives (`JetAdjoints`), then a scatter in which each task
/// owns one (level, field, plane) and visits that field's rows in row order, so the result
/// is the same on any thread count.
extension TriplaneEncoding: JetLayer {
  /// The features' jet for `shape.rows` points: the value stream as `forward`, then the
  /// derivative streams (see the extension's documentation). `x`'s derivative streams are
  /// not read: they are the identity of a first layer.
  public func jetForward(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, shape: JetShape
  ) {
    let n = shape.rows
    guard n > 0 else { return }
    precondition(shape.directions == inputDim, "a tri-plane jet runs along its \(inputDim) inputs")
    withSources(rows: n) { sources in
      // The value stream is forward's, bit for bit, from the same plane copy the derivative
      // streams then read.
      forward(x, y, count: n, sources: sources)
      let tasks = (n + Self.rowsPerTask - 1) / Self.rowsPerTask
      var job = JetForwardRows(layer: self, x: x, y: y, shape: shape, sources: sources)
      Self.parallel(tasks, work: n * 12 * options.channels * levels.count, &job)
    }
  }

  /// `jetForward`'s row tasks as a pool job.
  private struct JetForwardRows: PoolJob {
    unowned(unsafe) let layer: TriplaneEncoding
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let shape: JetShape
    let sources: PlaneSources

    func run(_ task: Int) {
      let n = shape.rows
      let start = task * TriplaneEncoding.rowsPerTask
      let end = min(n, start + TriplaneEncoding.rowsPerTask)
      withUnsafeTemporaryAllocation(of: Float.self, capacity: 9 * layer.options.channels) { tmp in
        for r in start..<end {
          layer.jetRow(r, x + r * layer.inputDim, y, shape: shape, sources, tmp.baseAddress!)
        }
      }
    }
  }

  /// The input axis (0 = x, 1 = y, 2 = z) of plane `plane`'s W (`second` false) or H axis.
  /// For axis a, `axisPlanes(a)` names the two planes containing it (with which of their
  /// axes it is) and the plane that does not.
  @inline(__always)
  static func axisPlanes(_ a: Int) -> (p: Int, pH: Bool, q: Int, qH: Bool, other: Int) {
    switch a {
    case 0: return (0, false, 1, false, 2)
    case 1: return (0, true, 2, false, 1)
    default: return (1, true, 2, true, 0)
    }
  }

  /// The derivative streams of row `r` (every stream but the value, which `forward` wrote).
  /// `tmp` holds 9C floats.
  @inline(__always)
  func jetRow(
    _ r: Int, _ xr: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, shape: JetShape,
    _ sources: PlaneSources, _ tmp: UnsafeMutablePointer<Float>
  ) {
    let (n, out, c) = (shape.rows, outputDim, options.channels)
    let dirs = shape.directions
    let second = shape.order == 2
    @inline(__always) func firstRow(_ d: Int) -> UnsafeMutablePointer<Float> {
      y + ((1 + d) * n + r) * out
    }
    @inline(__always) func secondRow(_ d: Int) -> UnsafeMutablePointer<Float> {
      y + ((1 + dirs + d) * n + r) * out
    }
    for d in 0..<dirs {
      firstRow(d).update(repeating: 0, count: out)
      if second { secondRow(d).update(repeating: 0, count: out) }
    }
    var field = 0
    var p = xr
    if options.fields > 1 {
      field = fieldIndex(xr[0], fields: options.fields)
      guard field >= 0 else { return }
      p = xr + 1
    }
    let pointOffset = options.fields > 1 ? 1 : 0
    let point = (p[0], p[1], p[2])
    let (f, dw, dh) = (tmp, tmp + 3 * c, tmp + 6 * c)
    for l in 0..<levels.count {
      let geo = geometry[l]
      let axes = (
        geo.sample(point.0, axis: 0), geo.sample(point.1, axis: 1), geo.sample(point.2, axis: 2)
      )
      let res = geo.resolution
      let source = sources[l]
      for plane in 0..<3 {
        let (a, b) = Self.planeAxes(plane, axes)
        source.gatherWithDerivatives(
          plane: field * 3 + plane, Bilinear(a, b, resolution: res), into: f + plane * c,
          dw: dw + plane * c, dh: dh + plane * c)
      }
      let slopes = (axes.0.slope, axes.1.slope, axes.2.slope)
      let base = featureOffset + levelOffset(l)
      for axis in 0..<3 {
        let s = axis == 0 ? slopes.0 : (axis == 1 ? slopes.1 : slopes.2)
        let (pp, pH, qq, qH, other) = Self.axisPlanes(axis)
        // The two planes' derivatives along this axis, in texel units.
        let gp = (pH ? dh : dw) + pp * c
        let gq = (qH ? dh : dw) + qq * c
        let j = firstRow(axis + pointOffset) + base
        switch options.aggregation {
        case .sum:
          for k in 0..<c { j[k] += s * (gp[k] + gq[k]) }
        case .mean:
          for k in 0..<c { j[k] += s * (gp[k] + gq[k]) / 3 }
        case .concat:
          for k in 0..<c {
            j[pp * c + k] += s * gp[k]
            j[qq * c + k] += s * gq[k]
          }
        case .product:
          let (fp, fq, fo) = (f + pp * c, f + qq * c, f + other * c)
          for k in 0..<c { j[k] += s * (gp[k] * fq[k] + gq[k] * fp[k]) * fo[k] }
          if second {
            let h = secondRow(axis + pointOffset) + base
            for k in 0..<c { h[k] += 2 * s * s * gp[k] * gq[k] * fo[k] }
          }
        }
      }
    }
    if options.fourier > 0 {
      let q = normalized(point)
      let scale = geometry[0].inverseHalfWidth
      let start = featureOffset + options.planeFeatures
      for axis in 0..<3 {
        let (qa, sa) =
          axis == 0 ? (q.0, scale.0) : (axis == 1 ? (q.1, scale.1) : (q.2, scale.2))
        let j = firstRow(axis + pointOffset) + start
        let h = second ? secondRow(axis + pointOffset) + start : nil
        var o = 0
        if options.fourierIncludeInput {
          j[axis] = sa
          o = 3
        }
        for k in 0..<options.fourier {
          let w = Self.frequency(k)
          let u = w * qa
          let (sn, cs) = (sinf(u), cosf(u))
          let ws = w * sa
          j[o + axis] = ws * cs
          j[o + 3 + axis] = -ws * sn
          h?[o + axis] = -ws * ws * sn
          h?[o + 3 + axis] = -ws * ws * cs
          o += 6
        }
      }
    }
  }

  /// Adds dL/dplanes for the output jet's adjoint `dy` when `parameterGradients`; `dx`
  /// must be nil (the input jet of a first layer has no adjoint to give).
  public func jetBackward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, shape: JetShape, parameterGradients: Bool
  ) {
    precondition(
      dx == nil, "the tri-plane encoding is a model's first layer: its input jet has no adjoint")
    let n = shape.rows
    guard n > 0, parameterGradients else { return }
    let c = options.channels
    let width = levels.count * 9 * c
    scratch.withBuffer(count: n * width) { adjoints in
      withSources(rows: n) { sources in
        let tasks = (n + Self.rowsPerTask - 1) / Self.rowsPerTask
        var job = JetAdjointRows(
          layer: self, x: x, dy: dy, shape: shape, adjoints: adjoints, sources: sources)
        Self.parallel(tasks, work: n * 12 * c * levels.count, &job)
      }
      jetScatter(x, count: n, adjoints: UnsafePointer(adjoints))
    }
  }

  /// Phase 1 of `jetBackward` as a pool job: each row's `JetAdjoints`.
  private struct JetAdjointRows: PoolJob {
    unowned(unsafe) let layer: TriplaneEncoding
    let x: UnsafePointer<Float>
    let dy: UnsafePointer<Float>
    let shape: JetShape
    let adjoints: UnsafeMutablePointer<Float>
    let sources: PlaneSources

    func run(_ task: Int) {
      let n = shape.rows
      let c = layer.options.channels
      let width = layer.levels.count * 9 * c
      let start = task * TriplaneEncoding.rowsPerTask
      let end = min(n, start + TriplaneEncoding.rowsPerTask)
      withUnsafeTemporaryAllocation(of: Float.self, capacity: 9 * c) { tmp in
        for r in start..<end {
          layer.adjointRow(
            r, x + r * layer.inputDim, dy, shape: shape, adjoints + r * width, sources,
            tmp.baseAddress!)
        }
      }
    }
  }

  /// Row `r`'s adjoints, per level and plane three runs of C (`g0`, `gw`, `gh`): dL/d(the
  /// plane's sampled features), dL/d(their derivative along the plane's W texel
  /// coordinate) and along its H coordinate. `tmp` holds 9C floats.
  @inline(__always)
  func adjointRow(
    _ r: Int, _ xr: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, shape: JetShape,
    _ g: UnsafeMutablePointer<Float>, _ sources: PlaneSources, _ tmp: UnsafeMutablePointer<Float>
  ) {
    let (n, out, c) = (shape.rows, outputDim, options.channels)
    let dirs = shape.directions
    let second = shape.order == 2
    g.update(repeating: 0, count: levels.count * 9 * c)
    var field = 0
    var p = xr
    if options.fields > 1 {
      field = fieldIndex(xr[0], fields: options.fields)
      guard field >= 0 else { return }
      p = xr + 1
    }
    let pointOffset = options.fields > 1 ? 1 : 0
    let point = (p[0], p[1], p[2])
    let product = options.aggregation == .product
    let (f, dw, dh) = (tmp, tmp + 3 * c, tmp + 6 * c)
    for l in 0..<levels.count {
      let geo = geometry[l]
      let axes = (
        geo.sample(point.0, axis: 0), geo.sample(point.1, axis: 1), geo.sample(point.2, axis: 2)
      )
      if product {
        let source = sources[l]
        for plane in 0..<3 {
          let (a, b) = Self.planeAxes(plane, axes)
          source.gatherWithDerivatives(
            plane: field * 3 + plane, Bilinear(a, b, resolution: geo.resolution),
            into: f + plane * c, dw: dw + plane * c, dh: dh + plane * c)
        }
      }
      let base = featureOffset + levelOffset(l)
      let gl = g + l * 9 * c
      @inline(__always) func g0(_ plane: Int) -> UnsafeMutablePointer<Float> {
        gl + plane * 3 * c
      }
      @inline(__always) func gd(_ plane: Int, _ h: Bool) -> UnsafeMutablePointer<Float> {
        gl + plane * 3 * c + (h ? 2 : 1) * c
      }
      // The value stream, as `backward`'s upstream gradients.
      let v = dy + r * out + base
      for plane in 0..<3 {
        let t = g0(plane)
        switch options.aggregation {
        case .sum: for k in 0..<c { t[k] = v[k] }
        case .mean: for k in 0..<c { t[k] = v[k] / 3 }
        case .concat: for k in 0..<c { t[k] = v[plane * c + k] }
        case .product:
          let (o1, o2) = ((plane + 1) % 3, (plane + 2) % 3)
          for k in 0..<c { t[k] = v[k] * f[o1 * c + k] * f[o2 * c + k] }
        }
      }
      let slopes = (axes.0.slope, axes.1.slope, axes.2.slope)
      for axis in 0..<3 {
        let s = axis == 0 ? slopes.0 : (axis == 1 ? slopes.1 : slopes.2)
        let (pp, pH, qq, qH, other) = Self.axisPlanes(axis)
        let d = axis + pointOffset
        let j = dy + ((1 + d) * n + r) * out + base
        let (tp, tq) = (gd(pp, pH), gd(qq, qH))
        switch options.aggregation {
        case .sum:
          for k in 0..<c {
            tp[k] += s * j[k]
            tq[k] += s * j[k]
          }
        case .mean:
          for k in 0..<c {
            tp[k] += s * j[k] / 3
            tq[k] += s * j[k] / 3
          }
        case .concat:
          for k in 0..<c {
            tp[k] += s * j[pp * c + k]
            tq[k] += s * j[qq * c + k]
          }
        case .product:
          // J = s (gp fq + gq fp) fo; with order 2, H = 2 s^2 gp gq fo.
          let (fp, fq, fo) = (f + pp * c, f + qq * c, f + other * c)
          let gp = (pH ? dh : dw) + pp * c
          let gq = (qH ? dh : dw) + qq * c
          let (vp, vq, vo) = (g0(pp), g0(qq), g0(other))
          for k in 0..<c {
            let a = s * j[k]
            tp[k] += a * fq[k] * fo[k]
            tq[k] += a * fp[k] * fo[k]
            vp[k] += a * gq[k] * fo[k]
            vq[k] += a * gp[k] * fo[k]
            vo[k] += a * (gp[k] * fq[k] + gq[k] * fp[k])
          }
          if second {
            let h = dy + ((1 + dirs + d) * n + r) * out + base
            for k in 0..<c {
              let a = 2 * s * s * h[k]
              tp[k] += a * gq[k] * fo[k]
              tq[k] += a * gp[k] * fo[k]
              vo[k] += a * gp[k] * gq[k]
            }
          }
        }
      }
    }
  }

  /// Phase 2 of `jetBackward` (and of the gradient pass's adjoint, `TriplaneEncoding+
  /// GradientPass.swift`): adds every row's adjoints into the planes' gradients. One
  /// task per (level, field, plane) owns that plane's texels, accumulates its field's rows
  /// in row order into a channel-last plane (g0 w + gw dw/dtexel + gh dh/dtexel at each of
  /// the four corners), then adds it into the NCHW gradient.
  func jetScatter(
    _ x: UnsafePointer<Float>, count n: Int, adjoints: UnsafePointer<Float>
  ) {
    let fields = options.fields
    // Rows grouped by field, in row order within each (a stable counting sort).
    let orderCount = n + fields + 1
    scratch.withBytes(ScratchPool.bytes(Int.self, orderCount)) { raw in
      let order = raw.bindMemory(to: Int.self, capacity: orderCount)
      let start = order + n
      start.update(repeating: 0, count: fields + 1)
      for r in 0..<n {
        let f = fields > 1 ? fieldIndex(x[r * 4], fields: fields) : 0
        if f >= 0 { start[f + 1] += 1 }
      }
      for f in 0..<fields { start[f + 1] += start[f] }
      for r in 0..<n {
        let f = fields > 1 ? fieldIndex(x[r * 4], fields: fields) : 0
        if f >= 0 {
          order[start[f]] = r
          start[f] += 1
        }
      }
      for f in stride(from: fields, to: 0, by: -1) { start[f] = start[f - 1] }
      start[0] = 0
      for l in 0..<levels.count {
        let r = geometry[l].resolution
        let tasks = fields * 3
        let lanes = min(tasks, 8)
        let planeSize = r * r * options.channels
        scratch.withBuffer(count: lanes * planeSize) { acc in
          levels[l].gradient.withUnsafeMutableBufferPointer { gb in
            var job = JetScatterLanes(
              layer: self, x: x, adjoints: adjoints, level: l, order: UnsafePointer(order),
              start: UnsafePointer(start), tasks: tasks, lanes: lanes, accumulators: acc,
              planeSize: planeSize, gradient: gb.baseAddress!)
            Self.parallel(lanes, work: n * 12 * options.channels, &job)
          }
        }
      }
    }
  }

  /// `jetScatter`'s lanes as a pool job: lane `lane` runs tasks lane, lane + lanes, ...,
  /// task t being plane t % 3 of field t / 3, with its own accumulator.
  private struct JetScatterLanes: PoolJob {
    unowned(unsafe) let layer: TriplaneEncoding
    let x: UnsafePointer<Float>
    let adjoints: UnsafePointer<Float>
    let level: Int
    let order: UnsafePointer<Int>
    let start: UnsafePointer<Int>
    let tasks: Int
    let lanes: Int
    let accumulators: UnsafeMutablePointer<Float>
    let planeSize: Int
    let gradient: UnsafeMutablePointer<Float>

    func run(_ lane: Int) {
      let c = layer.options.channels
      let geo = layer.geometry[level]
      let r = geo.resolution
      let rr = r * r
      let inp = layer.inputDim
      let pointOffset = layer.options.fields > 1 ? 1 : 0
      let width = layer.levels.count * 9 * c
      let a = accumulators + lane * planeSize
      var task = lane
      while task < tasks {
        let (field, plane) = (task / 3, task % 3)
        let (ia, ib) = TriplaneEncoding.planeAxisIndices(plane)
        a.update(repeating: 0, count: planeSize)
        for i in start[field]..<start[field + 1] {
          let row = order[i]
          let p = x + row * inp + pointOffset
          let s = Bilinear(geo.sample(p[ia], axis: ia), geo.sample(p[ib], axis: ib), resolution: r)
          let g = adjoints + row * width + (level * 3 + plane) * 3 * c
          let (g0, gw, gh) = (g, g + c, g + 2 * c)
          let (fw, fn) = (s.a.fraction, s.b.fraction)
          // d(dw)/d(corner) and d(dh)/d(corner) for nw, ne, sw, se (see
          // `PlaneSource.gatherWithDerivatives`).
          let cw: (Float, Float, Float, Float) = (-(1 - fn), 1 - fn, -fn, fn)
          let ch: (Float, Float, Float, Float) = (-(1 - fw), -fw, 1 - fw, fw)
          @inline(__always) func add(_ texel: Int, _ w: Float, _ u: Float, _ v: Float) {
            let t = a + texel * c
            for k in 0..<c { t[k] += g0[k] * w + gw[k] * u + gh[k] * v }
          }
          if s.valid.0 { add(s.texel.0, s.weight.0, cw.0, ch.0) }
          if s.valid.1 { add(s.texel.1, s.weight.1, cw.1, ch.1) }
          if s.valid.2 { add(s.texel.2, s.weight.2, cw.2, ch.2) }
          if s.valid.3 { add(s.texel.3, s.weight.3, cw.3, ch.3) }
        }
        let gp = gradient + (field * 3 + plane) * c * rr
        var t0 = 0
        while t0 < rr {
          let t1 = min(rr, t0 + 64)
          for ch in 0..<c {
            let gc = gp + ch * rr
            let ac = a + ch
            for t in t0..<t1 { gc[t] += ac[t * c] }
          }
          t0 = t1
        }
        task += lanes
      }
    }
  }
}
