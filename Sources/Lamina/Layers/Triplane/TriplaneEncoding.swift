import CLaminaKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A tri-plane encoding: three axis-aligned feature planes (xy, xz, yz) over a box, sampled
/// bilinearly at each point and combined into one feature vector, optionally at several
/// resolutions and with a Fourier encoding of the point appended. Put a decoder (an MLP or a
/// KAN) after it to get a neural field; the `"triplane"` model kind does exactly that.
///
/// Input rows are `x, y, z` (or `field, x, y, z` when `fields` > 1); output rows are
/// `options.outputDim` features: the plane features (level by level for multires concat),
/// then the Fourier features. See `TriplaneOptions` for every setting and its default.
///
/// **Tensors.** Each level's planes are one parameter named `planes` (or `planes_0`,
/// `planes_1`, ... for a multi-resolution encoding), shape `[fields * 3, C, R, R]`: PyTorch's
/// NCHW layout, so `F.grid_sample(planes[3 f + p : 3 f + p + 1], grid)` reads what this
/// layer reads. Planes are ordered xy, xz, yz within each field. For plane xy the sample
/// point is grid_sample's `(x, y)` = (our x, our y): our x runs along W (the last axis) and
/// our y along H; plane xz takes (x -> W, z -> H) and plane yz (y -> W, z -> H).
///
/// **Sampling** is `grid_sample(mode="bilinear")` with this layer's `align_corners` and
/// `padding` on the box-normalised point, and matches PyTorch's CPU kernel bit for bit for
/// the default box [-1, 1]^3 (a test checks it): texel coordinate
/// `i = (x - lo) * s` with `s = (R - 1) / (hi - lo)` (align_corners) or
/// `i = fma(x - lo, s, -0.5)` with `s = R / (hi - lo)` (not); corners floor(i) and
/// floor(i) + 1 with weights `1 - (i - floor(i))` and `i - floor(i)`, combined as
/// `fma(se, w_se, fma(sw, w_sw, fma(ne, w_ne, nw * w_nw)))`: PyTorch's x86 CPU kernels (its
/// AVX2 and AVX-512 builds, which any recent x86 CPU runs) are compiled with FMA
/// contraction, and plain multiply-adds would differ from them in the last bit. On CPUs
/// with AVX2 and FMA the sampling runs C kernels with true FMAs; elsewhere each FMA is
/// emulated in Double (see `fusedMultiplyAdd` and `usesFMAKernels`). Outside the box, `"zeros"` padding reads 0 for every texel off the
/// grid (features fade to 0 within one texel and are exactly 0 beyond; NaN coordinates give
/// 0), `"border"` clamps the texel coordinate to [0, R - 1] (NaN clamps to 0), and the input
/// gradient on a clamped axis is 0 (also exactly on the clamp, as PyTorch's kernel does).
///
/// **Fields.** With `fields` = N > 1 the first input column is the field index, a whole
/// number 0 ... N - 1 stored as a float. A row whose index is not one (fractional, negative,
/// N or more, NaN) gets all-zero features and passes no gradient; call
/// `checkFieldIndices(_:count:)` (or `Model.checkTriplaneInput`) first to reject such input
/// with an error instead. The gradient with respect to the index column is 0.
///
/// **Backward** adds dL/dplanes by a scatter whose work is split by plane region: each
/// task owns the texels of one band of texel rows of one (level, field, plane) (16 rows at
/// R 128, C 16, so a band's accumulator stays in L2; see `bandShift`) and visits the points
/// touching its band in row order, so every texel's sum is formed in one fixed order and
/// the result is bit-identical run to run and whatever the thread count (the same as a
/// single-threaded scatter). dL/dx is the exact derivative of
/// the bilinear weights, so `Model.inputGradient` gives exact normals.
///
/// **Passing the field index on.** Built with `passesFieldIndex` (only with `fields` > 1),
/// each output row starts with the input row's field index, copied unchanged, before the
/// features, so a decoder after it can pick a field's own weights (`FieldwiseMLP`, used by
/// the `"triplane"` kind's `decoder_per_field`). Its gradient is not propagated (the index
/// column of dL/dx is 0 as always).
public final class TriplaneEncoding: Layer {
  /// The settings this layer was built with.
  public let options: TriplaneOptions
  /// Whether output rows start with the field index (see the type's documentation).
  public let passesFieldIndex: Bool
  /// One parameter per level, `[fields * 3, C, R, R]` (see the type's documentation).
  public let levels: [Parameter]
  /// Per-level sampling constants.
  let geometry: [LevelGeometry]
  /// Scratch for channel-last copies of the planes and for backward's work arrays.
  let scratch = ScratchPool()
  /// Whether sampling runs the AVX2/FMA kernels (`CLaminaKernels`): true on CPUs that have
  /// them. They give PyTorch's rounding exactly; the baseline x86-64 path emulates each
  /// fused multiply-add in Double, which differs from a true one in about 2^-29 of cases
  /// (see `fusedMultiplyAdd`). Tests turn it off to compare the two paths.
  var usesFMAKernels = CPUFeatures.hasAVX2FMA

  /// Whether the block kernels of `triplane.h` run (where they apply, see `gatherKernel`
  /// and `scatterKernel`): the gather of a run of rows and the scatter of one band, which
  /// compute bit for bit what the Swift loops compute, with AVX2 and each row's corners
  /// derived once. True on CPUs with AVX2 and FMA; tests turn it off to compare.
  var usesBlockKernels = CPUFeatures.hasAVX2FMA

  /// Each level's sampling constants as the C kernels take them.
  let kernelGeometry: [lamina_tri_geometry]

  /// `geometry` as the C kernels take it.
  static func kernelGeometry(_ geometry: [LevelGeometry]) -> [lamina_tri_geometry] {
    geometry.map { g in
      lamina_tri_geometry(
        lo: g.lo, scale: g.scale, resolution: g.resolution, half: g.half ? 1 : 0,
        border: g.border ? 1 : 0)
    }
  }

  /// Whether forward runs `lamina_triplane_gather` (on channel-last sources): one level,
  /// one field, sum or mean aggregation, no Fourier features, C a multiple of 8, and the
  /// FMA sampling (whose rounding the kernel has).
  var gatherKernel: Bool {
    usesBlockKernels && usesFMAKernels && levels.count == 1 && options.fields == 1
      && !passesFieldIndex && options.fourier == 0 && options.channels % 8 == 0
      && (options.aggregation == .sum || options.aggregation == .mean)
  }

  /// Whether the scatter runs `lamina_triplane_scatter_band` and `lamina_triplane_add_band`:
  /// every aggregation but mean (whose Swift loop divides first), C a multiple of 8.
  var scatterKernel: Bool {
    usesBlockKernels && options.aggregation != .mean && options.channels % 8 == 0
  }

  /// An encoding whose planes all hold `options.resolvedInitMean`; call `initialize(rng:)`
  /// to draw them. Throws `.invalidArgument` for settings out of range (see
  /// `TriplaneOptions`) and `.outOfMemory` when the planes would exceed
  /// `Limits.maxParameters`, before allocating anything. `passesFieldIndex` needs
  /// `fields` > 1 (there is no index column otherwise).
  public init(options: TriplaneOptions, passesFieldIndex: Bool = false) throws {
    try options.validate(what: "tri-plane encoding")
    try ModelBuilder.checkParameterBudget(options.parameterBudget)
    guard !passesFieldIndex || options.fields > 1 else {
      throw LaminaError.invalid(
        "tri-plane encoding: passing the field index on needs \"fields\" > 1")
    }
    self.options = options
    self.passesFieldIndex = passesFieldIndex
    let names =
      options.resolutions.count == 1
      ? ["planes"] : (0..<options.resolutions.count).map { "planes_\($0)" }
    let mean = Float(options.resolvedInitMean)
    levels = options.resolutions.enumerated().map { l, r in
      Parameter(
        name: names[l], shape: [options.fields * 3, options.channels, r, r],
        value: [Float](repeating: mean, count: options.planeCount(level: l)))
    }
    geometry = options.resolutions.map { LevelGeometry(resolution: $0, options: options) }
    kernelGeometry = Self.kernelGeometry(geometry)
  }

  /// Shares nothing with `other`.
  private init(copying other: TriplaneEncoding) {
    options = other.options
    passesFieldIndex = other.passesFieldIndex
    levels = other.levels.map { $0.copy() }
    geometry = other.geometry
    kernelGeometry = other.kernelGeometry
    usesFMAKernels = other.usesFMAKernels
    usesBlockKernels = other.usesBlockKernels
  }

  /// Draws every texel from `rng` as `options.initialization` says, level by level in
  /// storage order (so a seed fixes the planes on every platform).
  public func initialize(rng: inout RandomSource) {
    let mean = options.resolvedInitMean
    let std = options.initStd
    for level in levels {
      for i in level.value.indices {
        switch options.initialization {
        case .normal: level.value[i] = Float(mean + std * rng.normal())
        case .uniform: level.value[i] = Float(rng.uniform(mean - std, mean + std))
        }
      }
    }
  }

  /// 3, or 4 (field index first) when `fields` > 1.
  public var inputDim: Int { options.inputDim }
  /// `options.outputDim` (plane features, then Fourier features), plus the leading field
  /// index column when `passesFieldIndex`.
  public var outputDim: Int { options.outputDim + featureOffset }

  /// Where the features start in an output row: 1 after a passed-on field index, else 0.
  @inline(__always)
  var featureOffset: Int { passesFieldIndex ? 1 : 0 }
  /// The planes, one parameter per level.
  public var parameters: [Parameter] { levels }

  /// `{"type": "triplane", <every TriplaneOptions key>}`, plus `"pass_field_index": true`
  /// when set (an internal setting of the `"triplane"` kind's per-field decoders, which a
  /// sequential model does not accept).
  public var spec: JSONValue {
    .object(
      [("type", .string("triplane"))] + options.specPairs
        + (passesFieldIndex ? [("pass_field_index", .bool(true))] : []))
  }

  /// A deep copy with its own planes.
  public func copy() -> Layer { TriplaneEncoding(copying: self) }

  // MARK: - Checking field indices

  /// Throws `.invalidArgument` naming the first row whose field index (column 0) is not a
  /// whole number in 0 ..< fields. Does nothing when `fields` is 1 (no index column).
  public func checkFieldIndices(_ x: UnsafePointer<Float>, count n: Int) throws {
    guard options.fields > 1 else { return }
    for r in 0..<n where fieldIndex(x[r * 4], fields: options.fields) < 0 {
      throw LaminaError.invalid(
        "input row \(r): field index \(x[r * 4]) is not a whole number in 0...\(options.fields - 1)"
      )
    }
  }

  // MARK: - Forward

  /// Rows per parallel task (a fixed split, so results never depend on the thread count;
  /// rows are independent in forward anyway).
  static let rowsPerTask = 512

  /// `job`'s tasks 0 ..< count, on the worker pool when `work` (texel reads) reaches
  /// `RowPlan.triplaneParallelWork` (see `Parallel.run(_:work:threshold:_:)`). Every pass hands its tasks over as
  /// a `PoolJob` struct: the closure form allocates a context per call.
  @inline(__always)
  static func parallel<Job: PoolJob>(_ count: Int, work: Int, _ job: inout Job) {
    Parallel.run(count, work: work, threshold: RowPlan.triplaneParallelWork, &job)
  }

  /// Features per row from the planes of one level (C, or 3C for concat).
  var levelWidth: Int { options.featuresPerLevel }

  /// Where level `l`'s features start in an output row.
  @inline(__always)
  func levelOffset(_ l: Int) -> Int { options.multires == .concat ? l * levelWidth : 0 }

  /// y = encoding(x) for `n` rows. Reads the layer only.
  public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    forward(x, y, count: n, sources: nil)
  }

  /// `forward`, sampling `given` sources (from a `withSources` call around several passes,
  /// so a caller that evaluates a large batch chunk by chunk copies the planes once), or
  /// its own when nil.
  func forward(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int,
    sources given: PlaneSources?
  ) {
    guard n > 0 else { return }
    withSources(rows: n, given: given) { sources in
      let tasks = (n + Self.rowsPerTask - 1) / Self.rowsPerTask
      var job = ForwardRows(layer: self, x: x, y: y, n: n, sources: sources)
      Self.parallel(tasks, work: n * 12 * options.channels * levels.count, &job)
    }
  }

  /// `forward`'s row tasks as a pool job: task t samples rows t * `rowsPerTask` ..< (t + 1)
  /// * `rowsPerTask`.
  private struct ForwardRows: PoolJob {
    unowned(unsafe) let layer: TriplaneEncoding
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let n: Int
    let sources: PlaneSources

    /// Task `task`: `forwardTask` on its rows.
    func run(_ task: Int) {
      layer.forwardTask(task, x, y, count: n, sources)
    }
  }

  /// Task `task` of `forward`: its block of `rowsPerTask` rows.
  private func forwardTask(
    _ task: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int,
    _ sources: PlaneSources
  ) {
    let c = options.channels
    let start = task * Self.rowsPerTask
    let end = min(n, start + Self.rowsPerTask)
    if gatherKernel, sources[0].channelLast {
      // The common case in one C loop: the same values (see `gatherKernel`).
      var g = kernelGeometry[0]
      lamina_triplane_gather(
        &g, x + start * inputDim, end - start, sources[0].base, c,
        options.aggregation == .mean ? 1 : 0, y + start * outputDim, outputDim)
      return
    }
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * c + 1) { tmp in
      for r in start..<end {
        if r + Self.lookahead < end {
          prefetchRow(x + (r + Self.lookahead) * inputDim, sources)
        }
        let yr = y + r * outputDim
        if passesFieldIndex { yr[0] = x[r * inputDim] }
        forwardRow(x + r * inputDim, yr + featureOffset, sources, tmp.baseAddress!)
      }
    }
  }

  /// Rows ahead whose corners the sampling loops prefetch: the texels of a row are random
  /// reads over planes larger than L2 (3 MB at R 128, C 16), and without the hint each row
  /// waits for its twelve corners in turn.
  static let lookahead = 8

  /// Starts loading the corners row `xr` will read from the channel-last sources (a hint:
  /// changes no value).
  @inline(__always)
  func prefetchRow(_ xr: UnsafePointer<Float>, _ sources: PlaneSources) {
    var field = 0
    var p = xr
    if options.fields > 1 {
      field = fieldIndex(xr[0], fields: options.fields)
      guard field >= 0 else { return }
      p = xr + 1
    }
    for l in 0..<levels.count where sources[l].channelLast {
      let g = geometry[l]
      let axes = (g.sample(p[0], axis: 0), g.sample(p[1], axis: 1), g.sample(p[2], axis: 2))
      let r = g.resolution
      let source = sources[l]
      source.prefetch(plane: field * 3, Bilinear(axes.0, axes.1, resolution: r))
      source.prefetch(plane: field * 3 + 1, Bilinear(axes.0, axes.2, resolution: r))
      source.prefetch(plane: field * 3 + 2, Bilinear(axes.1, axes.2, resolution: r))
    }
  }

  /// One row of forward; `tmp` holds 3C + 1 floats.
  @inline(__always)
  private func forwardRow(
    _ xr: UnsafePointer<Float>, _ yr: UnsafeMutablePointer<Float>, _ sources: PlaneSources,
    _ tmp: UnsafeMutablePointer<Float>
  ) {
    let c = options.channels
    var field = 0
    var p = xr
    if options.fields > 1 {
      field = fieldIndex(xr[0], fields: options.fields)
      guard field >= 0 else {
        yr.update(repeating: 0, count: options.outputDim)
        return
      }
      p = xr + 1
    }
    let point = (p[0], p[1], p[2])
    for l in 0..<levels.count {
      let g = geometry[l]
      let axes = (
        g.sample(point.0, axis: 0), g.sample(point.1, axis: 1), g.sample(point.2, axis: 2)
      )
      let r = g.resolution
      let samples = (
        Bilinear(axes.0, axes.1, resolution: r), Bilinear(axes.0, axes.2, resolution: r),
        Bilinear(axes.1, axes.2, resolution: r)
      )
      let source = sources[l]
      let out = yr + levelOffset(l)
      if source.channelLast {
        // Read one value of each of the twelve corners before any arithmetic, so that their
        // cache misses overlap instead of coming one gather at a time. The sum goes to the
        // spare slot past the features, so that the reads are kept and nothing else changes.
        let touched =
          source.touch(plane: field * 3, samples.0) + source.touch(plane: field * 3 + 1, samples.1)
          + source.touch(plane: field * 3 + 2, samples.2)
        tmp[3 * c] = touched
      }
      source.gather(plane: field * 3, samples.0, into: tmp)
      source.gather(plane: field * 3 + 1, samples.1, into: tmp + c)
      source.gather(plane: field * 3 + 2, samples.2, into: tmp + 2 * c)
      let accumulate = options.multires == .sum && l > 0
      combine(tmp, into: out, accumulate: accumulate)
    }
    if options.fourier > 0 {
      fourierForward(point, into: yr + options.planeFeatures)
    }
  }

  /// The horizontal (W) and vertical (H) axis of plane 0 (xy), 1 (xz) or 2 (yz).
  @inline(__always)
  static func planeAxes(
    _ plane: Int, _ axes: (AxisSample, AxisSample, AxisSample)
  ) -> (AxisSample, AxisSample) {
    switch plane {
    case 0: return (axes.0, axes.1)
    case 1: return (axes.0, axes.2)
    default: return (axes.1, axes.2)
    }
  }

  /// The input columns (0 = x, 1 = y, 2 = z) of plane `plane`'s W and H axes.
  @inline(__always)
  static func planeAxisIndices(_ plane: Int) -> (Int, Int) {
    switch plane {
    case 0: return (0, 1)
    case 1: return (0, 2)
    default: return (1, 2)
    }
  }

  /// Combines three planes' features (`f`, 3C values) into one level's features, writing or
  /// (for multires sum) adding them.
  @inline(__always)
  private func combine(
    _ f: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>, accumulate: Bool
  ) {
    let c = options.channels
    let (a, b, d) = (f, f + c, f + 2 * c)
    switch options.aggregation {
    case .sum:
      for k in 0..<c {
        let v = (a[k] + b[k]) + d[k]
        out[k] = accumulate ? out[k] + v : v
      }
    case .mean:
      for k in 0..<c {
        let v = ((a[k] + b[k]) + d[k]) / 3
        out[k] = accumulate ? out[k] + v : v
      }
    case .product:
      for k in 0..<c {
        let v = (a[k] * b[k]) * d[k]
        out[k] = accumulate ? out[k] + v : v
      }
    case .concat:
      for k in 0..<(3 * c) { out[k] = accumulate ? out[k] + f[k] : f[k] }
    }
  }

  /// The Fourier features of a point (see `TriplaneOptions`).
  @inline(__always)
  private func fourierForward(_ p: (Float, Float, Float), into out: UnsafeMutablePointer<Float>) {
    let q = normalized(p)
    var o = out
    if options.fourierIncludeInput {
      (o[0], o[1], o[2]) = q
      o += 3
    }
    for k in 0..<options.fourier {
      let w = Self.frequency(k)
      let (u, v, t) = (w * q.0, w * q.1, w * q.2)
      (o[0], o[1], o[2]) = (sinf(u), sinf(v), sinf(t))
      (o[3], o[4], o[5]) = (cosf(u), cosf(v), cosf(t))
      o += 6
    }
  }

  /// 2^k pi.
  @inline(__always)
  static func frequency(_ k: Int) -> Float { Float(Double.pi * Double(1 << k)) }

  /// The point mapped to [-1, 1]^3 by the box: (p - centre) * (2 / (hi - lo)), exactly p for
  /// the default box.
  @inline(__always)
  func normalized(_ p: (Float, Float, Float)) -> (Float, Float, Float) {
    let g = geometry[0]
    return (
      (p.0 - g.center.0) * g.inverseHalfWidth.0, (p.1 - g.center.1) * g.inverseHalfWidth.1,
      (p.2 - g.center.2) * g.inverseHalfWidth.2
    )
  }

  // MARK: - Plane sources

  /// Runs `body` with one `PlaneSource` per level: for calls with many rows, channel-last
  /// copies of the planes (one zero texel row appended per plane, which off-grid corners
  /// read), so each corner's C channels are one contiguous run; for few rows, the planes in
  /// place (a copy would cost more than it saves). Both give bit-identical results. The
  /// sources and the copies live in scratch memory lent for the call, so a warm call
  /// allocates nothing.
  func withSources<R>(rows n: Int, _ body: (PlaneSources) -> R) -> R {
    withSources(rows: n, given: nil, body)
  }

  /// `body(given)` when `given` is non-nil, else `withSources(rows:_:)`.
  func withSources<R>(rows n: Int, given: PlaneSources?, _ body: (PlaneSources) -> R) -> R {
    if let given { return body(given) }
    var total = 0
    for l in levels.indices where copiesPlanes(level: l, rows: n) { total += copyCount(level: l) }
    let bytes =
      ScratchPool.bytes(PlaneSource.self, levels.count) + ScratchPool.bytes(Float.self, total)
    return scratch.withBytes(bytes) { raw in
      var cursor = ScratchCursor(raw)
      let sources = cursor.take(PlaneSource.self, levels.count)
      let copies = cursor.take(Float.self, total)
      return fillSources(level: 0, rows: n, sources, copies) {
        body(PlaneSources(start: sources, count: levels.count))
      }
    }
  }

  /// Whether `withSources` copies level `l`'s planes channel-last for a call of `n` rows: a
  /// copy pays when the rows read about as many texels as the planes hold.
  @inline(__always)
  private func copiesPlanes(level l: Int, rows n: Int) -> Bool {
    n * 16 >= options.fields * geometry[l].resolution * geometry[l].resolution
  }

  /// Floats of level `l`'s channel-last copy: per plane R * R + 1 texel rows of C.
  @inline(__always)
  private func copyCount(level l: Int) -> Int {
    let r = geometry[l].resolution
    return options.fields * 3 * (r * r + 1) * options.channels
  }

  /// Writes the sources of levels `l` ..< levels.count into `sources` (copies, where
  /// `copiesPlanes`, going to `copies` one level after another) and runs `body` while every
  /// level's values are borrowed: the in-place sources point into them.
  private func fillSources<R>(
    level l: Int, rows n: Int, _ sources: UnsafeMutablePointer<PlaneSource>,
    _ copies: UnsafeMutablePointer<Float>, _ body: () -> R
  ) -> R {
    guard l < levels.count else { return body() }
    return levels[l].value.withUnsafeBufferPointer { values in
      let (r, c) = (geometry[l].resolution, options.channels)
      var base = values.baseAddress!
      var next = copies
      let copy = copiesPlanes(level: l, rows: n)
      if copy {
        Self.channelLast(base, into: copies, planes: options.fields * 3, channels: c, texels: r * r)
        base = UnsafePointer(copies)
        next = copies + copyCount(level: l)
      }
      (sources + l).initialize(
        to: PlaneSource(
          base: base, channelLast: copy, resolution: r, channels: c, fma: usesFMAKernels))
      return fillSources(level: l + 1, rows: n, sources, next, body)
    }
  }

  /// Texel runs per plane of `channelLast`'s tasks.
  static let copyParts = 8

  /// Copies `planes` planes of C x T (NCHW) into T + 1 rows of C (the last row zero) each.
  static func channelLast(
    _ src: UnsafePointer<Float>, into dest: UnsafeMutablePointer<Float>, planes: Int,
    channels c: Int, texels t: Int
  ) {
    // Each plane in `copyParts` runs of texels, so that the tasks balance on any core
    // count (one task per plane left one of two cores with two of three planes).
    var job = ChannelLastCopy(src: src, dest: dest, channels: c, texels: t)
    parallel(planes * copyParts, work: planes * c * t / 4, &job)
  }

  /// `channelLast`'s tasks as a pool job: task p * `copyParts` + part copies run `part` of
  /// plane p's texels.
  private struct ChannelLastCopy: PoolJob {
    let src: UnsafePointer<Float>
    let dest: UnsafeMutablePointer<Float>
    let channels: Int
    let texels: Int

    func run(_ task: Int) {
      let (c, t, parts) = (channels, texels, TriplaneEncoding.copyParts)
      let (p, part) = (task / parts, task % parts)
      let s = src + p * c * t
      let d = dest + p * (t + 1) * c
      // Blocks of 64 texels keep both sides in cache.
      var t0 = part * t / parts
      let end = (part + 1) * t / parts
      while t0 < end {
        let t1 = min(end, t0 + 64)
        for ch in 0..<c {
          let sc = s + ch * t
          for i in t0..<t1 { d[i * c + ch] = sc[i] }
        }
        t0 = t1
      }
      if part == parts - 1 { (d + t * c).update(repeating: 0, count: c) }
    }
  }
}

/// Sampling constants of one level: texel coordinate = (x - lo) * scale (- 0.5).
struct LevelGeometry: Sendable {
  /// Texels per side.
  let resolution: Int
  /// lo per axis.
  let lo: (Float, Float, Float)
  /// Texel coordinate per unit of input, per axis.
  let scale: (Float, Float, Float)
  /// Whether 0.5 is subtracted (align_corners false).
  let half: Bool
  /// Whether coordinates clamp to the grid (border padding).
  let border: Bool
  /// Box centre per axis (for the Fourier encoding).
  let center: (Float, Float, Float)
  /// 2 / (hi - lo) per axis.
  let inverseHalfWidth: (Float, Float, Float)

  init(resolution r: Int, options o: TriplaneOptions) {
    resolution = r
    let b = o.bounds
    lo = (Float(b[0][0]), Float(b[1][0]), Float(b[2][0]))
    // Written as PyTorch writes it for the default box: (R - 1) / 2 or R / 2.
    let cells = Double(o.alignCorners ? r - 1 : r)
    func s(_ a: Int) -> Float { Float(cells / (b[a][1] - b[a][0])) }
    scale = (s(0), s(1), s(2))
    half = !o.alignCorners
    border = o.padding == .border
    func mid(_ a: Int) -> Float { Float((b[a][0] + b[a][1]) / 2) }
    center = (mid(0), mid(1), mid(2))
    func inv(_ a: Int) -> Float { Float(2 / (b[a][1] - b[a][0])) }
    inverseHalfWidth = (inv(0), inv(1), inv(2))
  }

  /// Where `x` falls along `axis`.
  @inline(__always)
  func sample(_ x: Float, axis: Int) -> AxisSample {
    let (l, s): (Float, Float)
    switch axis {
    case 0: (l, s) = (lo.0, scale.0)
    case 1: (l, s) = (lo.1, scale.1)
    default: (l, s) = (lo.2, scale.2)
    }
    // PyTorch's CPU kernel (built with FMA contraction) computes fma(x + 1, s, -0.5).
    let i0 = x - l
    var i = half ? fusedMultiplyAdd(i0, s, -0.5) : i0 * s
    var slope = s
    let top = Float(resolution - 1)
    if border {
      // PyTorch: max(i, 0) (NaN -> 0), then min(., R - 1); the gradient is 0 when either
      // bound is hit, including exactly on it.
      let low: Float = i > 0 ? i : 0
      let clipped = low < top ? low : top
      if !(low != 0 && clipped != top) { slope = 0 }
      i = clipped
    } else {
      // Beyond half a texel past the outer texels every corner is off the grid and the
      // result is 0 whatever the weights; clamping there keeps floor() in Int range and
      // sends NaN off the grid.
      let limit = Float(resolution) + 0.5
      i = i >= -1.5 ? (i <= limit ? i : limit) : -1.5
    }
    // floor(i) without a libm call (`rounded(.down)` is one on baseline x86-64): i is
    // clamped above, so Int(i) (truncation) is in range; an integral i is its own floor
    // (which keeps -0 as -0, as floorf does).
    let t = Float(Int(i))
    let f = t == i ? i : (t > i ? t - 1 : t)
    let k = Int(f)
    return AxisSample(
      index: k, fraction: i - f, lowIn: k >= 0 && k < resolution,
      highIn: k + 1 >= 0 && k + 1 < resolution, slope: slope)
  }
}

/// Where a point falls along one axis of one level.
struct AxisSample {
  /// The lower texel (floor of the texel coordinate).
  var index: Int
  /// The coordinate minus `index`, in [0, 1).
  var fraction: Float
  /// Whether texel `index` is on the grid.
  var lowIn: Bool
  /// Whether texel `index + 1` is on the grid.
  var highIn: Bool
  /// d(texel coordinate)/d(input), 0 on a clamped axis.
  var slope: Float
}

/// The four corners of one bilinear sample on a plane, as PyTorch's kernel forms them.
struct Bilinear {
  /// Texel indices (h * R + w) of nw, ne, sw, se; meaningful only where `valid`.
  var texel: (Int, Int, Int, Int)
  /// Whether each corner is on the grid.
  var valid: (Bool, Bool, Bool, Bool)
  /// Interpolation weights of nw, ne, sw, se.
  var weight: (Float, Float, Float, Float)
  /// The W axis and H axis samples.
  var a: AxisSample
  var b: AxisSample

  @inline(__always)
  init(_ a: AxisSample, _ b: AxisSample, resolution r: Int) {
    self.a = a
    self.b = b
    let w = a.fraction
    let e = 1 - w
    let n = b.fraction
    let s = 1 - n
    weight = (s * e, s * w, n * e, n * w)
    let nw = b.index * r + a.index
    texel = (nw, nw + 1, nw + r, nw + r + 1)
    valid = (a.lowIn && b.lowIn, a.highIn && b.lowIn, a.lowIn && b.highIn, a.highIn && b.highIn)
  }
}

/// Every level's `PlaneSource`, level by level, in scratch memory lent to one call (see
/// `TriplaneEncoding.withSources`): valid only while that call runs.
typealias PlaneSources = UnsafeBufferPointer<PlaneSource>

/// One level's planes as the sampler reads them: in place (NCHW) or a channel-last copy.
struct PlaneSource {
  /// The planes: NCHW, or per plane R*R + 1 rows of C (last row zero).
  let base: UnsafePointer<Float>
  /// Which layout `base` has.
  let channelLast: Bool
  /// Texels per side.
  let resolution: Int
  /// Features per texel.
  let channels: Int
  /// Whether to use the AVX2/FMA kernels (see `TriplaneEncoding.usesFMAKernels`).
  let fma: Bool

  /// The C features of plane `plane` at `s`, off-grid corners reading 0, as PyTorch's CPU
  /// kernel computes them: fma(se, w_se, fma(sw, w_sw, fma(ne, w_ne, nw * w_nw))).
  @inline(__always)
  func gather(plane: Int, _ s: Bilinear, into out: UnsafeMutablePointer<Float>) {
    let c = channels
    let rr = resolution * resolution
    let (w0, w1, w2, w3) = s.weight
    if channelLast {
      let p = base + plane * (rr + 1) * c
      let p0 = p + (s.valid.0 ? s.texel.0 : rr) * c
      let p1 = p + (s.valid.1 ? s.texel.1 : rr) * c
      let p2 = p + (s.valid.2 ? s.texel.2 : rr) * c
      let p3 = p + (s.valid.3 ? s.texel.3 : rr) * c
      if fma {
        lamina_bilinear_fma(p0, p1, p2, p3, c, out, w0, w1, w2, w3)
        return
      }
      var k = 0
      let (v0, v1, v2, v3) = (
        SIMD8(repeating: w0), SIMD8(repeating: w1), SIMD8(repeating: w2), SIMD8(repeating: w3)
      )
      while k + 8 <= c {
        var r = load8(p0 + k) * v0
        r = fusedMultiplyAdd(load8(p1 + k), v1, r)
        r = fusedMultiplyAdd(load8(p2 + k), v2, r)
        r = fusedMultiplyAdd(load8(p3 + k), v3, r)
        store8(r, out + k)
        k += 8
      }
      while k < c {
        out[k] = interpolate(p0[k], p1[k], p2[k], p3[k], s.weight, fma: false)
        k += 1
      }
    } else {
      let p = base + plane * c * rr
      for k in 0..<c {
        let q = p + k * rr
        let a0: Float = s.valid.0 ? q[s.texel.0] : 0
        let a1: Float = s.valid.1 ? q[s.texel.1] : 0
        let a2: Float = s.valid.2 ? q[s.texel.2] : 0
        let a3: Float = s.valid.3 ? q[s.texel.3] : 0
        out[k] = interpolate(a0, a1, a2, a3, s.weight, fma: fma)
      }
    }
  }

  /// Prefetches the first and last channel of the four corners (channel-last sources
  /// only): with C = 16 and the copies cache-line aligned, each corner is one line.
  @inline(__always)
  func prefetch(plane: Int, _ s: Bilinear) {
    let rr = resolution * resolution
    let c = channels
    let p = base + plane * (rr + 1) * c
    @inline(__always)
    func fetch(_ valid: Bool, _ texel: Int) {
      let q = p + (valid ? texel : rr) * c
      lamina_prefetch(q)
      lamina_prefetch(q + c - 1)
    }
    fetch(s.valid.0, s.texel.0)
    fetch(s.valid.1, s.texel.1)
    fetch(s.valid.2, s.texel.2)
    fetch(s.valid.3, s.texel.3)
  }

  /// The sum of the first channel of the four corners (off-grid corners read the zero row);
  /// channel-last sources only. Used to start the corners' memory reads early.
  @inline(__always)
  func touch(plane: Int, _ s: Bilinear) -> Float {
    let rr = resolution * resolution
    let p = base + plane * (rr + 1) * channels
    return (p[(s.valid.0 ? s.texel.0 : rr) * channels] + p[(s.valid.1 ? s.texel.1 : rr) * channels])
      + (p[(s.valid.2 ? s.texel.2 : rr) * channels] + p[(s.valid.3 ? s.texel.3 : rr) * channels])
  }

  /// As `gather`, and also the derivatives of each feature with respect to the W and H
  /// texel coordinates: `dw` = (1 - n)(ne - nw) + n (se - sw), `dh` = (1 - w)(sw - nw) +
  /// w (se - ne).
  @inline(__always)
  func gatherWithDerivatives(
    plane: Int, _ s: Bilinear, into out: UnsafeMutablePointer<Float>,
    dw: UnsafeMutablePointer<Float>, dh: UnsafeMutablePointer<Float>
  ) {
    let c = channels
    let rr = resolution * resolution
    let fw = s.a.fraction
    let fe = 1 - fw
    let fn = s.b.fraction
    let fs = 1 - fn
    var k = 0
    if channelLast {
      // As `gather`: off-grid corners read the zero row, eight channels at a time.
      let p = base + plane * (rr + 1) * c
      let p0 = p + (s.valid.0 ? s.texel.0 : rr) * c
      let p1 = p + (s.valid.1 ? s.texel.1 : rr) * c
      let p2 = p + (s.valid.2 ? s.texel.2 : rr) * c
      let p3 = p + (s.valid.3 ? s.texel.3 : rr) * c
      let (w0, w1, w2, w3) = s.weight
      let (v0, v1, v2, v3) = (
        SIMD8(repeating: w0), SIMD8(repeating: w1), SIMD8(repeating: w2), SIMD8(repeating: w3)
      )
      let (vw, ve, vn, vs) = (
        SIMD8(repeating: fw), SIMD8(repeating: fe), SIMD8(repeating: fn), SIMD8(repeating: fs)
      )
      // With the FMA kernel the values of every channel are written here (the scalar tail
      // below writes the same values again).
      if fma { lamina_bilinear_fma(p0, p1, p2, p3, c, out, w0, w1, w2, w3) }
      while k + 8 <= c {
        let (a0, a1, a2, a3) = (load8(p0 + k), load8(p1 + k), load8(p2 + k), load8(p3 + k))
        if !fma {
          var r = a0 * v0
          r = fusedMultiplyAdd(a1, v1, r)
          r = fusedMultiplyAdd(a2, v2, r)
          r = fusedMultiplyAdd(a3, v3, r)
          store8(r, out + k)
        }
        let gw = vs * (a1 - a0) + vn * (a3 - a2)
        store8(gw, dw + k)
        let gh = ve * (a2 - a0) + vw * (a3 - a1)
        store8(gh, dh + k)
        k += 8
      }
    }
    func value(_ k: Int, _ texel: Int, _ valid: Bool) -> Float {
      guard valid else { return 0 }
      return channelLast
        ? base[(plane * (rr + 1) + texel) * c + k] : base[(plane * c + k) * rr + texel]
    }
    while k < c {
      defer { k += 1 }
      let a0 = value(k, s.texel.0, s.valid.0)
      let a1 = value(k, s.texel.1, s.valid.1)
      let a2 = value(k, s.texel.2, s.valid.2)
      let a3 = value(k, s.texel.3, s.valid.3)
      out[k] = interpolate(a0, a1, a2, a3, s.weight, fma: fma)
      dw[k] = fs * (a1 - a0) + fn * (a3 - a2)
      dh[k] = fe * (a2 - a0) + fw * (a3 - a1)
    }
  }
}

/// fma(nw, w.0, ...) chained as PyTorch's kernel does (see `PlaneSource.gather`): by the
/// C kernel (a true FMA) when `fma`, else emulated.
@inline(__always)
func interpolate(
  _ a0: Float, _ a1: Float, _ a2: Float, _ a3: Float, _ w: (Float, Float, Float, Float),
  fma: Bool
) -> Float {
  if fma { return lamina_interpolate_fma(a0, a1, a2, a3, w.0, w.1, w.2, w.3) }
  var r = a0 * w.0
  r = fusedMultiplyAdd(a1, w.1, r)
  r = fusedMultiplyAdd(a2, w.2, r)
  return fusedMultiplyAdd(a3, w.3, r)
}

/// a * b + c rounded once, as a fused multiply-add. PyTorch's x86 CPU kernels are compiled
/// with FMA contraction, so matching them bit for bit needs it; Swift emits a library call
/// for `addingProduct` unless the target CPU has FMA, so this forms the product exactly in
/// Double (24 + 24 bits fit in 53) and rounds the sum to Float. That equals a true FMA
/// unless rounding to Double first lands exactly on a Float tie (about 2^-29 of cases).
@inline(__always)
func fusedMultiplyAdd(_ a: Float, _ b: Float, _ c: Float) -> Float {
  Float(Double(a) * Double(b) + Double(c))
}

/// Eight fused multiply-adds (see the scalar form).
@inline(__always)
func fusedMultiplyAdd(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>) -> SIMD8<Float> {
  SIMD8<Float>(SIMD8<Double>(a) * SIMD8<Double>(b) + SIMD8<Double>(c))
}
