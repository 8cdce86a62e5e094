#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One Kolmogorov-Arnold layer with B-spline edges, as pykan's `KANLayer`.
///
/// Every input i and output j are joined by a learnable function
///
///     phi_ij(x) = scale_base_ij * b(x) + scale_sp_ij * sum_m coef_ijm B_m(x)
///     y_j = sum_i mask_ij * phi_ij(x_i)
///
/// where B_m are the order-k B-splines on input i's knot vector (see `BSpline`: outside
/// the extended grid every B_m is exactly 0, so only the base branch remains there) and b
/// is the base function, pykan's `base_fun` (spec key "base_fun"): silu(x) by default, x
/// or 0 (see BSplineKANLayer+BaseFunction.swift).
///
/// Tensors, named and shaped as pykan's so they move across by name:
/// - parameters "coef" [in, out, G + k], "scale_base" [in, out], "scale_sp" [in, out];
/// - buffers (saved, never trained) "grid" [in, G + 2k + 1] (each row sorted) and "mask"
///   [in, out] (1 = edge present, 0 = pruned; any value scales the edge).
///
/// Initialisation follows pykan's `KANLayer.__init__` (as `KAN()` calls it): `coef` is the
/// least-squares fit of noise (U(0,1) - 1/2) * noise_scale / G drawn at the G + 1 grid
/// points; scale_base = mu / sqrt(in) + sigma * U(-1, 1) / sqrt(in); scale_sp = 1 / sqrt(in);
/// mask = 1. Differences from pykan:
/// - random numbers come from Lamina's seeded `RandomSource`, not torch, so weights are
///   reproducible across languages but not equal to pykan's for the same seed;
/// - the least-squares fits (initialisation, grid updates) solve ridge-regularised normal
///   equations (ridge 1e-10 of the largest diagonal) with a banded Cholesky in Double,
///   O(G k^2), instead of `torch.linalg.lstsq` (`gelsy`, O(G^3)); the result is the same up
///   to rounding where pykan's is defined, and it never fails on rank-deficient systems;
/// - knots are computed in Double and rounded once (pykan: float32 arithmetic);
/// - pykan's symbolic branch and the per-node affine parameters of `MultKAN` (identity by
///   default, not trained) are not part of this layer.
///
/// Cost: forward and backward are O(n * in * (k + 1) * out) plus O(in * (G + k) * out) per
/// call, independent of G per sample: for each sample and input the layer finds the knot
/// interval (direct index on uniform grids, binary search otherwise), computes the k + 1
/// non-zero bases, and accumulates rows of an effective weight table laid out
/// [in][G + 3k][out] (coef * scale_sp * mask, zero-padded by k rows each side so no bounds
/// tests remain) that makes the inner loop contiguous over the outputs. That table is
/// rebuilt into scratch memory on every call from the current tensors, so the layer keeps
/// no cache that could go stale or race: `forward` may run on many threads at once.
/// Per block of rows and input, the SiLU values and (for uniform cubic grids) the bases are
/// computed eight rows at a time. Batches are split over threads in fixed chunks; parameter
/// gradients are summed in fixed row chunks (small tables) or per input (large ones),
/// grouped by knot interval so sums stay in registers, and reduced in chunk order, so
/// results are bit-identical run to run whatever the thread count.
///
/// Small grids (G + k + 1 <= 4(k + 2), e.g. G <= 13 for cubics) take a dense path instead:
/// per block of rows, the dense rows [silu, B_0 ... B_{G+k-1}] of every input, multiplied by
/// sgemm (see BSplineKANLayer+Dense.swift). It does more multiply-adds, but sgemm's wide
/// vectors run them faster there than the portable Swift loops (bench/NOTES.md).
public final class BSplineKANLayer: Layer, KANBasisLayer {
  // MARK: - Options

  /// The spec keys of a B-spline KAN layer, every one with pykan's `KAN()` default.
  public struct Options: Equatable, Sendable, KANBasisOptions {
    static let basisName = "bspline"
    /// G, grid intervals on `gridRange` ("grid", 1...10000; pykan's `num`/`grid`).
    public var grid = 5
    /// k, the spline degree ("order", 0...10; pykan's `k`; 3 = cubic).
    public var order = 3
    /// Lower end of the initial grid ("grid_range"[0]).
    public var gridMin = -1.0
    /// Upper end of the initial grid ("grid_range"[1]).
    public var gridMax = 1.0
    /// Scale of the initial spline noise ("noise_scale", as pykan's `KAN()`: 0.3).
    public var noiseScale = 0.3
    /// Mean part of scale_base ("scale_base_mu").
    public var scaleBaseMu = 0.0
    /// Uniform spread of scale_base ("scale_base_sigma").
    public var scaleBaseSigma = 1.0
    /// The base branch b of every edge ("base_fun", pykan's name: "silu", "identity" or
    /// "zero"; default "silu").
    public var baseFunction = BaseFunction.silu
    /// Whether the layer has pykan's symbolic branch ("symbolic", default false): tensors
    /// "symbolic_affine", "symbolic_mask", "symbolic_fn" exist only when true, so specs and
    /// files made without it are unchanged. See BSplineKANLayer+Symbolic.swift.
    public var symbolic = false
    /// Whether "scale_sp" is trained ("sp_trainable", pykan's name, default true): when
    /// false it is a buffer, kept at its initial value (or whatever is written to it) by
    /// every optimizer, and counted in no parameter count. The spec writes it only when
    /// false, so specs and files made without it are unchanged.
    public var spTrainable = true
    /// Whether "scale_base" is trained ("sb_trainable", pykan's name, default true); as
    /// `spTrainable`.
    public var sbTrainable = true

    /// pykan's defaults.
    public init() {}

    /// Largest "grid" a spec may ask for.
    public static let maxGrid = 10000
    /// Largest "order" a spec may ask for.
    public static let maxOrder = 10

    /// G + k, the coefficients per edge.
    public var basisCount: Int { BSpline.basisCount(intervals: grid, order: order) }
    /// G + 2k + 1, the knots per input.
    public var knotCount: Int { BSpline.knotCount(intervals: grid, order: order) }
    /// The initial (uniform, extended) knot vector of every input.
    public var initialKnots: [Float] {
      BSpline.uniformKnots(intervals: grid, order: order, range: (gridMin, gridMax))
    }

    static func parse(_ r: JSONObjectReader) throws -> Options {
      var o = Options()
      o.grid = try r.int("grid", default: o.grid, min: 1, max: maxGrid)
      o.order = try r.int("order", default: o.order, min: 0, max: maxOrder)
      if let range = r.value("grid_range") {
        guard case .array(let items) = range, items.count == 2,
          case .number(let lo) = items[0], case .number(let hi) = items[1]
        else {
          throw LaminaError.invalid(
            "\(r.what): \"grid_range\" must be an array of two numbers [lo, hi]")
        }
        guard lo.isFinite, hi.isFinite, lo < hi else {
          throw LaminaError.invalid(
            "\(r.what): \"grid_range\" is [\(lo), \(hi)]; it needs finite lo < hi")
        }
        (o.gridMin, o.gridMax) = (lo, hi)
      }
      o.noiseScale = try r.double("noise_scale", default: o.noiseScale, min: 0, max: 1e30)
      o.scaleBaseMu = try r.double("scale_base_mu", default: o.scaleBaseMu, min: -1e30, max: 1e30)
      o.scaleBaseSigma = try r.double(
        "scale_base_sigma", default: o.scaleBaseSigma, min: 0, max: 1e30)
      let base = try r.string("base_fun", default: o.baseFunction.rawValue)
      guard let baseFunction = BaseFunction(rawValue: base) else {
        throw LaminaError.invalid(
          "\(r.what): unknown \"base_fun\" \"\(base)\" (known: \(BaseFunction.known))")
      }
      o.baseFunction = baseFunction
      o.symbolic = try r.bool("symbolic", default: false)
      o.spTrainable = try r.bool("sp_trainable", default: true)
      o.sbTrainable = try r.bool("sb_trainable", default: true)
      // The knots must be increasing finite floats whose gaps have finite reciprocals (a
      // range too narrow or too wide for float would collapse, flush or overflow them).
      guard BSplineKANLayer.usable(o.initialKnots) else {
        throw LaminaError.invalid(
          "\(r.what): \"grid_range\" [\(o.gridMin), \(o.gridMax)] with grid \(o.grid) and order "
            + "\(o.order) gives knots that are not distinct finite floats")
      }
      return o
    }

    /// Nothing here depends on the widths: every key was checked by `parse`.
    func validate(input: Int, output: Int, what: String) throws {}

    func parameterBudget(input: Int, output: Int) -> [(Int, Int)] {
      [(input, output * (basisCount + 2))]
    }

    var specPairs: [(String, JSONValue)] {
      [
        ("grid", .number(Double(grid))), ("order", .number(Double(order))),
        ("grid_range", .array([.number(gridMin), .number(gridMax)])),
        ("noise_scale", .number(noiseScale)), ("scale_base_mu", .number(scaleBaseMu)),
        ("scale_base_sigma", .number(scaleBaseSigma)),
        ("base_fun", .string(baseFunction.rawValue)),
      ] + (symbolic ? [("symbolic", .bool(true))] : [])
        + (spTrainable ? [] : [("sp_trainable", .bool(false))])
        + (sbTrainable ? [] : [("sb_trainable", .bool(false))])
    }

    /// `BSplineKANLayer(input:output:options:rng:)`.
    func makeLayer(input: Int, output: Int, rng: inout RandomSource) -> Layer {
      BSplineKANLayer(input: input, output: output, options: self, rng: &rng)
    }

    /// The symbolic branch belongs to plain B-spline layers: it is not a per-edge sum a
    /// mixture could weight.
    var mixtureRestriction: String? {
      if symbolic {
        return "\"symbolic\" must be false in a mixed layer (the symbolic branch is for plain "
          + "B-spline layers)"
      }
      if !spTrainable || !sbTrainable {
        return "\"sp_trainable\" and \"sb_trainable\" must be true in a mixed layer (frozen "
          + "scales are for plain B-spline layers)"
      }
      return nil
    }
  }

  // MARK: - Construction

  /// Inputs per row (pykan's `in_dim`).
  public let inputDim: Int
  /// Outputs per row (pykan's `out_dim`).
  public let outputDim: Int
  /// The settings the layer was made with (the grid may have moved since; see "grid").
  public let options: Options
  /// Spline coefficients, [in, out, G + k].
  public let coef: Parameter
  /// Weight of the base branch (SiLU by default) of each edge, [in, out].
  public let scaleBase: Parameter
  /// Weight of the spline branch of each edge, [in, out].
  public let scaleSp: Parameter
  /// Knot vector of each input, [in, G + 2k + 1], sorted ascending. A buffer. Writing
  /// unsorted knots gives meaningless outputs, never a crash.
  public let grid: Parameter
  /// Edge mask, [in, out]: 1 keeps an edge, 0 removes it. A buffer.
  public let mask: Parameter
  /// The symbolic branch's tensors when `options.symbolic` (see BSplineKANLayer+Symbolic).
  public let symbolicTensors: SymbolicTensors?

  /// A layer with pykan's deterministic starting values (uniform grid, mask 1,
  /// scale_sp = 1/sqrt(in), scale_base = mu/sqrt(in), coef 0); `initialize(rng:)` draws the
  /// random parts. Widths below 1 or options a spec would refuse are a programming error
  /// (precondition); specs are validated with errors before they get here.
  public init(input: Int, output: Int, options: Options = Options()) {
    precondition(
      input >= 1 && output >= 1 && (1...Options.maxGrid).contains(options.grid)
        && (0...Options.maxOrder).contains(options.order) && Self.usable(options.initialKnots),
      "BSplineKANLayer: widths, grid, order or grid range out of range (specs are checked; see Options)"
    )
    inputDim = input
    outputDim = output
    self.options = options
    let edges = input * output
    let rootIn = Double(max(input, 1)).squareRoot()
    coef = Parameter(
      name: "coef", shape: [input, output, options.basisCount],
      value: [Float](repeating: 0, count: edges * options.basisCount))
    scaleBase = Parameter(
      name: "scale_base", shape: [input, output],
      value: [Float](repeating: Float(options.scaleBaseMu / rootIn), count: edges))
    scaleSp = Parameter(
      name: "scale_sp", shape: [input, output],
      value: [Float](repeating: Float(1 / rootIn), count: edges))
    let knots = options.initialKnots
    grid = Parameter(
      name: "grid", shape: [input, options.knotCount],
      value: Array((0..<input).map { _ in knots }.joined()))
    mask = Parameter(
      name: "mask", shape: [input, output], value: [Float](repeating: 1, count: edges))
    symbolicTensors = options.symbolic ? SymbolicTensors(input: input, output: output) : nil
  }

  /// Draws the random initial values from `rng`, in pykan's order: the spline noise
  /// [G + 1][in][out], fitted per edge by least squares, then scale_base [in][out].
  public func initialize(rng: inout RandomSource) {
    let g = options.grid
    let k = options.order
    let (nIn, nOut, nb) = (inputDim, outputDim, options.basisCount)
    var noise = [Float](repeating: 0, count: (g + 1) * nIn * nOut)
    for p in 0..<noise.count {
      noise[p] = Float((rng.unit() - 0.5) * options.noiseScale / Double(g))
    }
    let knotsPerInput = options.knotCount
    for i in 0..<nIn {
      let knots = Array(grid.value[(i * knotsPerInput)..<((i + 1) * knotsPerInput)])
      let points = Array(knots[k...(k + g)])
      var y = [Float](repeating: 0, count: (g + 1) * nOut)
      for p in 0...g {
        for j in 0..<nOut { y[p * nOut + j] = noise[(p * nIn + i) * nOut + j] }
      }
      let c = BSpline.fit(x: points, y: y, columns: nOut, knots: knots, order: k)
      for j in 0..<nOut {
        for m in 0..<nb { coef.value[(i * nOut + j) * nb + m] = c[m * nOut + j] }
      }
    }
    let rootIn = Double(max(nIn, 1)).squareRoot()
    for e in 0..<(nIn * nOut) {
      let u = rng.unit() * 2 - 1
      scaleBase.value[e] = Float(options.scaleBaseMu / rootIn + options.scaleBaseSigma * u / rootIn)
    }
  }

  /// A layer with pykan's starting values drawn from `rng`: `init(input:output:options:)`
  /// followed by `initialize(rng:)`. Options a spec would refuse are a precondition
  /// failure (`Options.parse` checks them all).
  public convenience init(input: Int, output: Int, options: Options, rng: inout RandomSource) {
    self.init(input: input, output: output, options: options)
    initialize(rng: &rng)
  }

  /// Shares nothing with `other`.
  private init(copying other: BSplineKANLayer) {
    inputDim = other.inputDim
    outputDim = other.outputDim
    options = other.options
    coef = other.coef.copy()
    scaleBase = other.scaleBase.copy()
    scaleSp = other.scaleSp.copy()
    grid = other.grid.copy()
    mask = other.mask.copy()
    symbolicTensors = other.symbolicTensors?.copy()
  }

  /// The trained tensors: "coef", "scale_base" (unless "sb_trainable" is false),
  /// "scale_sp" (unless "sp_trainable" is false). With the symbolic branch, also
  /// "symbolic_affine".
  public var parameters: [Parameter] {
    [coef] + (options.sbTrainable ? [scaleBase] : []) + (options.spTrainable ? [scaleSp] : [])
      + (symbolicTensors.map { [$0.affine] } ?? [])
  }
  /// The saved, untrained tensors: a frozen "scale_base" and "scale_sp" ("sb_trainable",
  /// "sp_trainable" false), "grid", "mask" (and "symbolic_mask", "symbolic_fn").
  public var buffers: [Parameter] {
    (options.sbTrainable ? [] : [scaleBase]) + (options.spTrainable ? [] : [scaleSp])
      + [grid, mask] + (symbolicTensors.map { [$0.mask, $0.function] } ?? [])
  }

  /// `{"type": "kan", "output": ..., "basis": "bspline", "grid": ..., ...}`, every default
  /// filled in. The spec gives the starting grid; the current one is the "grid" buffer.
  public var spec: JSONValue {
    .object(
      [
        ("type", .string("kan")), ("output", .number(Double(outputDim))),
        ("basis", .string("bspline")),
      ]
        + options.specPairs)
  }

  /// A deep copy: parameters and buffers.
  public func copy() -> Layer { BSplineKANLayer(copying: self) }

  // MARK: - Shared per-call set-up

  /// Rows per parallel forward / input-gradient task (a fixed split, so results never
  /// depend on the thread count).
  static let rowsPerTask = 256
  /// Samples per parameter-gradient chunk when a layer has too few inputs to keep the
  /// threads busy by itself.
  static let samplesPerGradientChunk = 2048

  /// Work (multiply-adds or stores in the inner loops) under which a call's tasks run one
  /// after another on the calling thread: below it, handing tasks to other threads costs
  /// more than it saves. (`Parallel.run`'s closure form allocates a small context per
  /// call, so calls below it also stay free of allocation.)
  static let parallelWork = RowPlan.bsplineParallelWork

  /// `Parallel.run` with this layer's threshold.
  @inline(__always)
  static func parallel(_ count: Int, work: Int, _ body: (Int) -> Void) {
    Parallel.run(count, work: work, threshold: parallelWork, body)
  }

  /// `job`'s tasks 0 ..< count: on the worker pool (allocation-free, unlike the closure
  /// form) when there is more than one and `work` reaches this layer's threshold, otherwise
  /// one after another on the calling thread. The same tasks either way.
  @inline(__always)
  static func parallel<Job: PoolJob>(_ count: Int, work: Int, _ job: inout Job) {
    Parallel.run(count, work: work, threshold: parallelWork, &job)
  }

  /// Scratch for the per-call tables and gradient sums, reused across calls.
  let tableScratch = ScratchPool()
  /// Scratch for the per-task row blocks, reused across calls; apart from `tableScratch` so
  /// that small blocks never take (and grow) table buffers. Tasks borrow it on whichever
  /// thread runs them, each holding at most two buffers at once (a dense block's rows and
  /// the basis block filling them), so it keeps two per pool thread in step: otherwise a
  /// worker joining a pass for the first time late in training allocates.
  let blockScratch = ScratchPool(perThread: 2)

  /// Runs `body` with a block of `rowsPerTask` rows in scratch memory of its own.
  @inline(__always)
  func withBlock<R>(intervals: Int = 0, _ body: (KANBlock) -> R) -> R {
    let (rows, k) = (Self.rowsPerTask, options.order)
    return blockScratch.withBytes(
      KANBlock.byteCount(capacity: rows, order: k, intervals: intervals)
    ) { raw in
      body(KANBlock(capacity: rows, order: k, intervals: intervals, memory: raw))
    }
  }

  /// Rows in the padded weight table per input: G + k bases plus k zero rows each side,
  /// so that row mu ... mu + k of the table are the bases B_{mu-k} ... B_mu for every
  /// interval mu of the extended grid.
  var paddedRows: Int { options.basisCount + 2 * options.order }

  /// What one call reads: the effective weights and one basis evaluator per input.
  /// Built from the current tensors into scratch memory lent to the call (`withTables`).
  struct Tables {
    /// Sparse path: [in][G + 3k][out], coef * scale_sp * mask, rows shifted by k, zero
    /// padding. Dense path (`dense`): [in][G + k + 1][out], row 0 of each input scale_base *
    /// mask, rows 1 + m coef_m * scale_sp * mask (see BSplineKANLayer+Dense.swift).
    var spline: UnsafeMutablePointer<Float>
    /// [in][out]: scale_base * mask.
    var base: UnsafeMutablePointer<Float>
    /// The evaluators' reciprocal tables.
    var reciprocals: UnsafeMutablePointer<Float>
    /// One evaluator per input.
    var bases: UnsafeMutablePointer<BSpline.InputBasis>
    /// Whether `spline` has the dense layout and the call takes the dense path.
    var dense: Bool
  }

  /// Runs `body` with the call's tables, built in scratch memory from the current tensors
  /// and `knots` (which must stay valid meanwhile).
  func withTables<R>(knots: UnsafePointer<Float>, _ body: (Tables) -> R) -> R {
    let (nIn, nOut, k) = (inputDim, outputDim, options.order)
    let dense = usesDenseBases
    let splineCount = nIn * (dense ? denseColumnsPerInput : paddedRows) * nOut
    let reciprocalCount = nIn * BSpline.InputBasis.tableCount(knots: options.knotCount, order: k)
    let bytes =
      ScratchPool.bytes(Float.self, splineCount) + ScratchPool.bytes(Float.self, nIn * nOut)
      + ScratchPool.bytes(Float.self, reciprocalCount)
      + ScratchPool.bytes(BSpline.InputBasis.self, nIn)
    return tableScratch.withBytes(bytes) { raw in
      var cursor = ScratchCursor(raw)
      let tables = Tables(
        spline: cursor.take(Float.self, splineCount), base: cursor.take(Float.self, nIn * nOut),
        reciprocals: cursor.take(Float.self, reciprocalCount),
        bases: cursor.take(BSpline.InputBasis.self, nIn), dense: dense)
      fillTables(tables, knots: knots)
      return body(tables)
    }
  }

  /// Writes the effective weights and evaluators into `tables` (see `Tables`).
  private func fillTables(_ tables: Tables, knots: UnsafePointer<Float>) {
    let (nIn, nOut, nb, k) = (inputDim, outputDim, options.basisCount, options.order)
    let rows = paddedRows
    let perInput = options.knotCount
    let tableCount = BSpline.InputBasis.tableCount(knots: perInput, order: k)
    coef.value.withUnsafeBufferPointer { cb in
      scaleSp.value.withUnsafeBufferPointer { sb in
        scaleBase.value.withUnsafeBufferPointer { bb in
          mask.value.withUnsafeBufferPointer { mb in
            let (c, sp, sbase, ms) = (
              cb.baseAddress!, sb.baseAddress!, bb.baseAddress!, mb.baseAddress!
            )
            // Per input: its slice of the tables (O(G out) work, so split over threads
            // when large: it is the part of a call that grows with G).
            var job = TableFill(
              tables: tables, knots: knots, c: c, sp: sp, sbase: sbase, ms: ms, nOut: nOut,
              nb: nb, k: k, rows: rows, perInput: perInput, tableCount: tableCount)
            Self.parallel(nIn, work: nIn * rows * nOut, &job)
          }
        }
      }
    }
  }

  // MARK: - Forward

  /// y = sum_i mask * phi(x_i) for `n` rows; reads the layer only (thread-safe).
  public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    guard n > 0, outputDim > 0 else { return }
    defer { symbolicForward(x, y, count: n) }  // adds the symbolic branch, if any
    grid.value.withUnsafeBufferPointer { gb in
      withTables(knots: gb.baseAddress!) { tables in
        if tables.dense {
          denseForward(x, y, n, tables, inputs: inputDim)
        } else {
          sparseForward(x, y, n, tables)
        }
      }
    }
  }

  /// Forward on the sparse path (large grids). With `cache` (training), the basis blocks
  /// are prepared with derivatives in the cache, for `backward` to reuse; with `prepared`
  /// too, the cache already holds them for this x and knots and they are only read.
  func sparseForward(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, _ tables: Tables,
    cache: BasisCache? = nil, prepared: Bool = false
  ) {
    let (nIn, nOut, k) = (inputDim, outputDim, options.order)
    let tasks = (n + Self.rowsPerTask - 1) / Self.rowsPerTask
    var job = SparseForwardTasks(
      layer: self, x: x, y: y, n: n, tables: tables, cache: cache, prepared: prepared)
    Self.parallel(tasks, work: n * nIn * nOut * (k + 2), &job)
  }

  /// Task `task` of `sparseForward`: its block of `rowsPerTask` rows.
  func sparseForwardTask(
    _ task: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int,
    _ tables: Tables,
    cache: BasisCache?, prepared: Bool
  ) {
    let (nIn, nOut, k, rows) = (inputDim, outputDim, options.order, paddedRows)
    let vectorEnd = nOut & ~7
    withBlock { scratchBlock in
      let c = scratchBlock.capacity
      let start = task * Self.rowsPerTask
      let count = min(n, start + Self.rowsPerTask) - start
      (y + start * nOut).update(repeating: 0, count: count * nOut)
      // Input-major within the chunk: one input's weight table stays in cache while the
      // chunk's rows visit it at random intervals.
      for i in 0..<nIn {
        let wb = tables.base + i * nOut
        let table = tables.spline + i * rows * nOut
        let block = cache?.block(task, i) ?? scratchBlock
        if !(prepared && cache != nil) {
          block.prepare(
            tables.bases[i], column: x + start * nIn + i, stride: nIn, count: count,
            base: options.baseFunction, siluDerivative: false, withDerivatives: cache != nil,
            keepSiluPrime: cache != nil)
        }
        let b = block.values
        for q in 0..<count {
          let yr = y + (start + q) * nOut
          let s = block.silu[q]
          let mu = block.interval[q]
          guard mu >= 0 else {
            for j in 0..<nOut { yr[j] += s * wb[j] }
            continue
          }
          let w = table + mu * nOut
          if k == 3 {
            let (b0, b1, b2, b3) = (b[q], b[c + q], b[2 * c + q], b[3 * c + q])
            let (w1, w2, w3) = (w + nOut, w + 2 * nOut, w + 3 * nOut)
            // Explicit vectors: the compiler's own vectorisation of this loop checked
            // the pointers for overlap on every row, as long as the loop itself on a
            // 10-output layer. Each lane computes the scalar expression (same bits).
            var j = 0
            while j < vectorEnd {
              let v =
                s * load8(wb + j) + b0 * load8(w + j) + b1 * load8(w1 + j)
                + b2 * load8(w2 + j) + b3 * load8(w3 + j)
              store8(load8(yr + j) + v, yr + j)
              j += 8
            }
            while j < nOut {
              yr[j] += s * wb[j] + b0 * w[j] + b1 * w1[j] + b2 * w2[j] + b3 * w3[j]
              j += 1
            }
          } else {
            for j in 0..<nOut { yr[j] += s * wb[j] }
            for t in 0...k {
              let (bt, wt) = (b[t * c + q], w + t * nOut)
              for j in 0..<nOut { yr[j] += bt * wt[j] }
            }
          }
        }
      }
    }
  }

  /// `sparseForward`'s row tasks as a pool job (handed to the worker pool without allocating).
  struct SparseForwardTasks: PoolJob {
    unowned(unsafe) let layer: BSplineKANLayer
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let n: Int
    let tables: Tables
    let cache: BasisCache?
    let prepared: Bool

    /// Task `task`: `sparseForwardTask` on its rows.
    func run(_ task: Int) {
      layer.sparseForwardTask(task, x, y, n, tables, cache: cache, prepared: prepared)
    }
  }

  // MARK: - Backward

  /// dx (when asked) from dy through the effective weights and the bases' derivatives;
  /// parameter gradients (when asked) added to "coef", "scale_base" and "scale_sp". With
  /// `parameterGradients` false nothing in the layer changes.
  public func backward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool
  ) {
    guard n > 0 else { return }
    defer { symbolicBackward(x, dy, dx, count: n, parameterGradients: parameterGradients) }
    if outputDim == 0 {
      dx?.update(repeating: 0, count: n * inputDim)
      return
    }
    grid.value.withUnsafeBufferPointer { gb in
      withTables(knots: gb.baseAddress!) { tables in
        if tables.dense {
          denseBackward(x, dy, dx, n, tables, parameterGradients: parameterGradients)
          return
        }
        if let dx { inputGradient(x, dy, dx, n, tables) }
        if parameterGradients { accumulateParameterGradients(x, dy, n, tables) }
      }
    }
  }

  /// dx_ri = sum_j dy_rj (base_ij silu'(x_ri) + sum_m W_ijm B'_m(x_ri)), one fused pass
  /// over the outputs per sample and input, reduced in 8-wide vectors in a fixed order.
  ///
  /// With `cache`, the blocks `sparseForward` left there (with silu' kept) are read
  /// instead of prepared again.
  func inputGradient(
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
    _ n: Int, _ tables: Tables, cache: BasisCache? = nil
  ) {
    let (nIn, nOut, k) = (inputDim, outputDim, options.order)
    let tasks = (n + Self.rowsPerTask - 1) / Self.rowsPerTask
    var job = InputGradientTasks(
      layer: self, x: x, dy: dy, dx: dx, n: n, tables: tables, cache: cache)
    Self.parallel(tasks, work: n * nIn * nOut * (k + 2), &job)
  }

  /// Task `task` of `inputGradient`: its block of `rowsPerTask` rows.
  func inputGradientTask(
    _ task: Int, _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>,
    _ n: Int, _ tables: Tables, cache: BasisCache?
  ) {
    let (nIn, nOut, k, rows) = (inputDim, outputDim, options.order, paddedRows)
    let vectorEnd = nOut & ~7
    withBlock { scratchBlock in
      let c = scratchBlock.capacity
      let start = task * Self.rowsPerTask
      let count = min(n, start + Self.rowsPerTask) - start
      for i in 0..<nIn {
        let wb = UnsafePointer(tables.base + i * nOut)
        let table = UnsafePointer(tables.spline + i * rows * nOut)
        let block: KANBlock
        let siluDerivative: UnsafeMutablePointer<Float>
        if let cache {
          block = cache.block(task, i)
          siluDerivative = block.siluPrime
        } else {
          block = scratchBlock
          block.prepare(
            tables.bases[i], column: x + start * nIn + i, stride: nIn, count: count,
            base: options.baseFunction, siluDerivative: true, withDerivatives: true)
          siluDerivative = block.silu
        }
        let d = block.derivatives
        for q in 0..<count {
          let dyr = dy + (start + q) * nOut
          let sd = siluDerivative[q]
          let mu = block.interval[q]
          // Terms: silu' * wb plus, inside the grid, B'_t * (row mu + t of the spline table).
          let inside = mu >= 0
          let w = table + max(mu, 0) * nOut
          var acc = SIMD8<Float>(repeating: 0)
          var j = 0
          if inside && k == 3 {
            let (d0, d1, d2, d3) = (d[q], d[c + q], d[2 * c + q], d[3 * c + q])
            let (w1, w2, w3) = (w + nOut, w + 2 * nOut, w + 3 * nOut)
            while j < vectorEnd {
              let v =
                sd * load8(wb + j) + d0 * load8(w + j) + d1 * load8(w1 + j)
                + d2 * load8(w2 + j) + d3 * load8(w3 + j)
              acc += load8(dyr + j) * v
              j += 8
            }
          } else {
            while j < vectorEnd {
              var v = sd * load8(wb + j)
              if inside {
                for t in 0...k { v += d[t * c + q] * load8(w + t * nOut + j) }
              }
              acc += load8(dyr + j) * v
              j += 8
            }
          }
          var total = acc.sum()
          while j < nOut {
            var v = sd * wb[j]
            if inside {
              for t in 0...k { v += d[t * c + q] * w[t * nOut + j] }
            }
            total += dyr[j] * v
            j += 1
          }
          dx[(start + q) * nIn + i] = total
        }
      }
    }
  }

  /// `inputGradient`'s row tasks as a pool job (handed to the worker pool without allocating).
  struct InputGradientTasks: PoolJob {
    unowned(unsafe) let layer: BSplineKANLayer
    let x: UnsafePointer<Float>
    let dy: UnsafePointer<Float>
    let dx: UnsafeMutablePointer<Float>
    let n: Int
    let tables: Tables
    let cache: BasisCache?

    /// Task `task`: `inputGradientTask` on its rows.
    func run(_ task: Int) {
      layer.inputGradientTask(task, x, dy, dx, n, tables, cache: cache)
    }
  }

  /// Largest per-chunk sum table (floats) for which parameter gradients are accumulated
  /// row-chunk by row-chunk over all inputs (reading x and dy once, cache-friendly) rather
  /// than input by input (which keeps memory at one table per input for large grids).
  static let rowMajorGradientLimit = 131_072
  /// Rows per chunk of the row-major parameter-gradient strategy.
  static let rowsPerGradientChunk = 256

  /// Adds sum_r dy_r B_m(x_ri) (rows m + k of `g`, padded [G + 3k][out] layout) and
  /// sum_r dy_r silu(x_ri) (row G + 3k of `g`) over `count` rows from `start` to `g`.
  ///
  /// The sums are accumulated in registers and stored once per block (SiLU row) or once
  /// per group of rows sharing a knot interval (spline rows, when the grid has few enough
  /// intervals to group), instead of a read-modify-write of k + 2 rows per sample.
  ///
  /// `prepared`: `block` already holds these rows (from a `BasisCache`).
  @inline(__always)
  private func accumulateSums(
    input i: Int, _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, start: Int, count: Int,
    into g: UnsafeMutablePointer<Float>, block: KANBlock, prepared: Bool = false, tables: Tables
  ) {
    let (nIn, nOut, k, rows) = (inputDim, outputDim, options.order, paddedRows)
    let c = block.capacity
    let b = block.values
    let gBase = g + rows * nOut
    let rowsDy = dy + start * nOut
    let vectorEnd = nOut & ~7
    if !prepared {
      block.prepare(
        tables.bases[i], column: x + start * nIn + i, stride: nIn, count: count,
        base: options.baseFunction, siluDerivative: false, withDerivatives: false)
    }
    let silu = block.silu
    // sum_r dy_r silu(x_ri): every output's sum runs over the rows in order (one chain
    // per lane, as a scalar loop would), but several outputs' chains share one pass over
    // the rows: a single chain waits on the adder's latency every row.
    var j = 0
    while j + 32 <= vectorEnd {
      var (a0, a1, a2, a3) = (
        SIMD8<Float>(repeating: 0), SIMD8<Float>(repeating: 0), SIMD8<Float>(repeating: 0),
        SIMD8<Float>(repeating: 0)
      )
      for q in 0..<count {
        let (sq, row) = (silu[q], rowsDy + q * nOut + j)
        a0 += sq * load8(row)
        a1 += sq * load8(row + 8)
        a2 += sq * load8(row + 16)
        a3 += sq * load8(row + 24)
      }
      store8(load8(gBase + j) + a0, gBase + j)
      store8(load8(gBase + j + 8) + a1, gBase + j + 8)
      store8(load8(gBase + j + 16) + a2, gBase + j + 16)
      store8(load8(gBase + j + 24) + a3, gBase + j + 24)
      j += 32
    }
    // The last chunks (up to three), then the tail outputs one by one.
    while j < vectorEnd {
      var a = SIMD8<Float>(repeating: 0)
      for q in 0..<count { a += silu[q] * load8(rowsDy + q * nOut + j) }
      store8(load8(gBase + j) + a, gBase + j)
      j += 8
    }
    while j < nOut {
      var a: Float = 0
      for q in 0..<count { a += silu[q] * rowsDy[q * nOut + j] }
      gBase[j] += a
      j += 1
    }
    if block.buckets > 0 {
      block.groupByInterval(count: count)
      for mu in 0..<block.buckets {
        let (from, to) = (block.groupStart[mu], block.groupStart[mu + 1])
        guard from < to else { continue }
        let g0 = g + mu * nOut
        var j = 0
        if k == 3 {
          while j < vectorEnd {
            var a0 = SIMD8<Float>(repeating: 0)
            var a1 = a0
            var a2 = a0
            var a3 = a0
            for p in from..<to {
              let q = block.sorted[p]
              let v = load8(rowsDy + q * nOut + j)
              a0 += b[q] * v
              a1 += b[c + q] * v
              a2 += b[2 * c + q] * v
              a3 += b[3 * c + q] * v
            }
            store8(load8(g0 + j) + a0, g0 + j)
            store8(load8(g0 + nOut + j) + a1, g0 + nOut + j)
            store8(load8(g0 + 2 * nOut + j) + a2, g0 + 2 * nOut + j)
            store8(load8(g0 + 3 * nOut + j) + a3, g0 + 3 * nOut + j)
            j += 8
          }
        } else {
          while j < vectorEnd {
            for t in 0...k {
              var a = SIMD8<Float>(repeating: 0)
              for p in from..<to {
                let q = block.sorted[p]
                a += b[t * c + q] * load8(rowsDy + q * nOut + j)
              }
              let row = g0 + t * nOut + j
              store8(load8(row) + a, row)
            }
            j += 8
          }
        }
        while j < nOut {
          for t in 0...k {
            var a: Float = 0
            for p in from..<to {
              let q = block.sorted[p]
              a += b[t * c + q] * rowsDy[q * nOut + j]
            }
            g0[t * nOut + j] += a
          }
          j += 1
        }
      }
      return
    }
    for q in 0..<count {
      let mu = block.interval[q]
      guard mu >= 0 else { continue }
      let dyr = rowsDy + q * nOut
      let g0 = g + mu * nOut
      if k == 3 {
        let (b0, b1, b2, b3) = (b[q], b[c + q], b[2 * c + q], b[3 * c + q])
        let (g1, g2, g3) = (g0 + nOut, g0 + 2 * nOut, g0 + 3 * nOut)
        for j in 0..<nOut {
          let v = dyr[j]
          g0[j] += b0 * v
          g1[j] += b1 * v
          g2[j] += b2 * v
          g3[j] += b3 * v
        }
      } else {
        for t in 0...k {
          let (bt, row) = (b[t * c + q], g0 + t * nOut)
          for j in 0..<nOut { row[j] += bt * dyr[j] }
        }
      }
    }
  }

  /// Adds dL/dcoef, dL/dscale_base and dL/dscale_sp. The sums over samples are split into
  /// fixed chunks (by rows when the per-chunk tables are small, else by input and, for few
  /// inputs, rows) and reduced in chunk order, so they never depend on the thread count.
  ///
  /// With `cache`, row blocks that coincide with `sparseForward`'s blocks (start a multiple
  /// of `rowsPerTask`, full length) are read from it; others are prepared as without.
  func accumulateParameterGradients(
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ n: Int, _ tables: Tables,
    cache: BasisCache? = nil
  ) {
    let (nIn, nOut, rows) = (inputDim, outputDim, paddedRows)
    // Per input: sum_r dy_r B(x_ri) in padded [G + 3k][out] layout, then
    // sum_r dy_r silu(x_ri) [out].
    let stride = (rows + 1) * nOut
    // Row-major (small tables): `chunks` row chunks, each with every input's table.
    // Input-major (large tables): per input, `chunks` row chunks of its own table.
    let rowMajor = nIn * stride <= Self.rowMajorGradientLimit
    let chunks =
      rowMajor
      ? max(1, min(16, (n + Self.rowsPerGradientChunk - 1) / Self.rowsPerGradientChunk))
      : nIn >= 16
        ? 1
        : max(
          1, min((n + Self.samplesPerGradientChunk - 1) / Self.samplesPerGradientChunk, 16 / nIn))
    // Distance between inputs' reduced sums.
    let inputStride = rowMajor ? stride : chunks * stride
    tableScratch.withBuffer(count: chunks * nIn * stride) { sums in
      var job = GradientChunks(
        layer: self, x: x, dy: dy, n: n, tables: tables, cache: cache, sums: sums,
        chunks: chunks, chunkRows: (n + chunks - 1) / chunks, stride: stride, rowMajor: rowMajor)
      Self.parallel(
        rowMajor ? chunks : nIn * chunks, work: n * nIn * nOut * (options.order + 2), &job)
      if rowMajor {
        if chunks > 1 {  // reduce in chunk order
          for chunk in 1..<chunks {
            let other = sums + chunk * nIn * stride
            for e in 0..<(nIn * stride) { sums[e] += other[e] }
          }
        }
      } else if chunks > 1 {
        // Reduce chunks in order into the first chunk of each input.
        for i in 0..<nIn {
          let first = sums + i * chunks * stride
          for c in 1..<chunks {
            let other = first + c * stride
            for e in 0..<stride { first[e] += other[e] }
          }
        }
      }
      addParameterGradients(
        sums: sums, inputStride: inputStride, basisRow: options.order, baseRow: rows)
    }
  }

  /// `accumulateParameterGradients`' chunks as a pool job (handed to the worker pool
  /// without allocating): row-major, task c sums row chunk c into every input's table of
  /// chunk c; input-major, task i * chunks + c sums row chunk c of input i into its own.
  struct GradientChunks: PoolJob {
    unowned(unsafe) let layer: BSplineKANLayer
    let x: UnsafePointer<Float>
    let dy: UnsafePointer<Float>
    let n: Int
    let tables: Tables
    let cache: BasisCache?
    let sums: UnsafeMutablePointer<Float>
    let chunks: Int
    let chunkRows: Int
    /// Floats of one input's table of sums.
    let stride: Int
    let rowMajor: Bool

    /// The cached block of `count` rows from `start`, if forward made exactly that block.
    func cached(_ start: Int, _ count: Int, _ i: Int) -> KANBlock? {
      guard let cache, start % BSplineKANLayer.rowsPerTask == 0,
        count == min(BSplineKANLayer.rowsPerTask, n - start)
      else { return nil }
      return cache.block(start / BSplineKANLayer.rowsPerTask, i)
    }

    func run(_ task: Int) {
      let nIn = layer.inputDim
      let chunk = rowMajor ? task : task % chunks
      // Row-major: every input's table of this chunk; input-major: input i's alone.
      let inputs = rowMajor ? 0..<nIn : (task / chunks)..<(task / chunks + 1)
      layer.withBlock(intervals: layer.options.knotCount - 1) { block in
        let g = sums + (rowMajor ? chunk * nIn * stride : task * stride)
        g.update(repeating: 0, count: inputs.count * stride)
        var start = chunk * chunkRows
        let last = min(n, (chunk + 1) * chunkRows)
        while start < last {
          let count = min(BSplineKANLayer.rowsPerTask, last - start)
          for i in inputs {
            let reused = cached(start, count, i)
            layer.accumulateSums(
              input: i, x, dy, start: start, count: count,
              into: g + (rowMajor ? i * stride : 0), block: reused ?? block,
              prepared: reused != nil, tables: tables)
          }
          start += count
        }
      }
    }
  }

  /// `fillTables`' per-input work as a pool job (handed to the worker pool without
  /// allocating): task i writes input i's evaluator, base weights and spline table.
  struct TableFill: PoolJob {
    let tables: Tables
    let knots: UnsafePointer<Float>
    /// coef, scale_sp, scale_base and mask values.
    let c: UnsafePointer<Float>
    let sp: UnsafePointer<Float>
    let sbase: UnsafePointer<Float>
    let ms: UnsafePointer<Float>
    let nOut: Int
    let nb: Int
    let k: Int
    let rows: Int
    let perInput: Int
    let tableCount: Int

    func run(_ i: Int) {
      let (spline, base, reciprocals, evaluators) = (
        tables.spline, tables.base, tables.reciprocals, tables.bases
      )
      (evaluators + i).initialize(
        to: BSpline.InputBasis(
          knots: knots + i * perInput, count: perInput, order: k,
          table: reciprocals + i * tableCount))
      if tables.dense {
        // [silu row, nb basis rows] per input: the GEMM operand of the dense path.
        let table = spline + i * (nb + 1) * nOut
        for j in 0..<nOut {
          let e = i * nOut + j
          base[e] = sbase[e] * ms[e]
          table[j] = base[e]
          let f = sp[e] * ms[e]
          let src = c + e * nb
          var dst = table + nOut + j
          for m in 0..<nb {
            dst.pointee = src[m] * f
            dst += nOut
          }
        }
        return
      }
      let table = spline + i * rows * nOut
      table.update(repeating: 0, count: k * nOut)
      (table + (k + nb) * nOut).update(repeating: 0, count: k * nOut)
      for j in 0..<nOut {
        let e = i * nOut + j
        base[e] = sbase[e] * ms[e]
        let f = sp[e] * ms[e]
        let src = c + e * nb
        var dst = table + k * nOut + j
        for m in 0..<nb {
          dst.pointee = src[m] * f
          dst += nOut
        }
      }
    }
  }

  /// Turns the reduced sums (per input, `inputStride` floats apart: sum_r dy_r B_m(x_ri) in
  /// rows `basisRow` + m, sum_r dy_r silu(x_ri) in row `baseRow`, rows of `out` floats)
  /// into dL/dcoef, dL/dscale_base and dL/dscale_sp.
  func addParameterGradients(
    sums: UnsafeMutablePointer<Float>, inputStride: Int, basisRow: Int, baseRow: Int
  ) {
    let (nIn, nOut, nb) = (inputDim, outputDim, options.basisCount)
    coef.gradient.withUnsafeMutableBufferPointer { cgb in
      scaleBase.gradient.withUnsafeMutableBufferPointer { bgb in
        scaleSp.gradient.withUnsafeMutableBufferPointer { sgb in
          coef.value.withUnsafeBufferPointer { cb in
            scaleSp.value.withUnsafeBufferPointer { sb in
              mask.value.withUnsafeBufferPointer { mb in
                let (cg, bg, sg) = (cgb.baseAddress!, bgb.baseAddress!, sgb.baseAddress!)
                let (c, sp, ms) = (cb.baseAddress!, sb.baseAddress!, mb.baseAddress!)
                var job = GradientTerms(
                  sums: sums, inputStride: inputStride, basisRow: basisRow, baseRow: baseRow,
                  cg: cg, bg: bg, sg: sg, c: c, sp: sp, ms: ms, nOut: nOut, nb: nb,
                  trainsBase: options.sbTrainable, trainsSp: options.spTrainable)
                Self.parallel(nIn, work: nIn * nOut * nb, &job)
              }
            }
          }
        }
      }
    }
  }

  /// `addParameterGradients`' per-input work as a pool job (handed to the worker pool
  /// without allocating): task i adds input i's gradients.
  struct GradientTerms: PoolJob {
    let sums: UnsafeMutablePointer<Float>
    let inputStride: Int
    let basisRow: Int
    let baseRow: Int
    /// Gradients of coef, scale_base and scale_sp; values of coef, scale_sp and mask.
    let cg: UnsafeMutablePointer<Float>
    let bg: UnsafeMutablePointer<Float>
    let sg: UnsafeMutablePointer<Float>
    let c: UnsafePointer<Float>
    let sp: UnsafePointer<Float>
    let ms: UnsafePointer<Float>
    let nOut: Int
    let nb: Int
    /// Whether scale_base and scale_sp are trained (their gradients are added only then).
    let trainsBase: Bool
    let trainsSp: Bool

    func run(_ i: Int) {
      let g = sums + i * inputStride + basisRow * nOut  // row of basis 0
      let gBase = sums + i * inputStride + baseRow * nOut
      for j in 0..<nOut {
        let e = i * nOut + j
        let f = sp[e] * ms[e]
        if trainsBase { bg[e] += ms[e] * gBase[j] }
        var spSum: Float = 0
        let ce = c + e * nb
        let cge = cg + e * nb
        for m in 0..<nb {
          let v = g[m * nOut + j]
          cge[m] += f * v
          spSum += ce[m] * v
        }
        if trainsSp { sg[e] += ms[e] * spSum }
      }
    }
  }
}
