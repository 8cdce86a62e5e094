#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A Kolmogorov-Arnold layer with Gaussian radial basis functions: FastKAN's `FastKANLayer`
/// (Z. Li 2024, github.com/ZiyaoLi/fast-kan, `fastkan/fastkan.py`), tensor for tensor.
///
/// For a row x of `inputDim` features:
///
///     z      = LayerNorm(x)                        (only with `normalize`; else z = x)
///     phi_m  = exp(-((z_i - c_m) / h)^2)           for each input i and centre m < G
///     y      = spline_linear(phi) + base_linear(silu(x))   (the second term only with `base`)
///
/// with the G centres `c` evenly spaced on [grid_min, grid_max] (torch.linspace) and
/// h = (grid_max - grid_min) / (G - 1). The bases of input i occupy columns i*G ..< (i+1)*G
/// of the in*G basis vector, as FastKAN's `view(..., -1)` lays them out.
///
/// Tensors, named as in FastKAN's module so weights move to and from PyTorch by name:
/// - "layernorm.weight", "layernorm.bias" [in] (only with `normalize`; start at 1 and 0,
///   eps 1e-5, as nn.LayerNorm);
/// - "spline_linear.weight" [out, in*G], no bias; drawn from N(0, 0.1^2) truncated to
///   [-2, 2], as FastKAN's `nn.init.trunc_normal_(w, std=0.1)` (whose bounds are absolute,
///   so the truncation is at 20 standard deviations and practically never bites);
/// - "base_linear.weight" [out, in] and "base_linear.bias" [out] (only with `base`), drawn
///   from U(-1/sqrt(in), 1/sqrt(in)) as PyTorch's nn.Linear default;
/// - the buffer "rbf.grid" [G]: the centres (FastKAN's frozen `rbf.grid` parameter). Forward
///   reads the centres from it, so centres loaded from a FastKAN state dict are honoured; h
///   stays what the spec's range gives, as in FastKAN.
///
/// Differences from FastKAN: FastKAN always applies its LayerNorm; here it is optional and off
/// by default (spec "normalize"), and refused for a single input feature, where LayerNorm maps
/// every input to its bias and the layer would ignore its input (REFERENCES.md): a "kan"
/// model whose shared basis sets "normalize" is refused when any layer has one input (give
/// that layer its own entry in a per-layer "basis" list instead). Two inputs
/// fare little better: LayerNorm then keeps only which of the two is larger (each row maps to
/// about (+-gamma_0, -+gamma_1) + beta), so normalise layers with a few inputs or more.
///
/// Numerics: the bumps use a multiply by 1/h and a vectorisable exp (`expNegative`, within
/// an ulp of exp) instead of torch's division and expf; values agree with PyTorch to about
/// 1e-6 relative (tested). Far outside the grid every bump is 0 and only the SiLU branch
/// remains, as in FastKAN.
///
/// Forward and backward run over the whole batch: the bases are computed into scratch
/// memory in chunks of rows, and the two linear maps are OpenBLAS sgemm calls.
public final class RBFKANLayer: Layer, KANBasisLayer {
  // MARK: - Options

  /// One layer's settings: the basis keys (`Options`) and the output width, everything
  /// but the input width.
  public struct LayerOptions: KANLayerOptions, Sendable {
    /// Output features.
    public var output: Int
    /// Number of centres G (spec "grid", default 8).
    public var grid: Int
    /// First centre (spec "grid_range"[0], default -2).
    public var gridMin: Double
    /// Last centre (spec "grid_range"[1], default 2).
    public var gridMax: Double
    /// Whether a LayerNorm precedes the bases (spec "normalize", default false).
    public var normalize: Bool
    /// Whether the SiLU base branch with bias is added (spec "base", default true).
    public var base: Bool

    /// Settings with FastKAN's defaults except `normalize`.
    public init(
      output: Int, grid: Int = 8, gridMin: Double = -2, gridMax: Double = 2,
      normalize: Bool = false, base: Bool = true
    ) {
      self.output = output
      self.grid = grid
      self.gridMin = gridMin
      self.gridMax = gridMax
      self.normalize = normalize
      self.base = base
    }

    /// Trainable scalars for `input` features, or nil if the count overflows `Int`.
    public func parameterCount(input: Int) -> Int? {
      let (basis, o1) = input.multipliedReportingOverflow(by: grid)
      var (total, o2) = basis.multipliedReportingOverflow(by: output)
      guard !o1, !o2 else { return nil }
      if base {
        let (weights, o3) = input.multipliedReportingOverflow(by: output)
        let (withWeights, o4) = total.addingReportingOverflow(weights)
        let (withBias, o5) = withWeights.addingReportingOverflow(output)
        guard !o3, !o4, !o5 else { return nil }
        total = withBias
      }
      if normalize {
        let (norm, o6) = input.multipliedReportingOverflow(by: 2)
        let (sum, o7) = total.addingReportingOverflow(norm)
        guard !o6, !o7 else { return nil }
        total = sum
      }
      return total
    }

    /// Throws `.invalidArgument` (or `.outOfMemory` for the parameter budget) naming the
    /// spec key at fault, unless a layer with `input` features can be built from these.
    public func validate(input: Int, what: String = "kan layer") throws {
      guard input >= 1, input <= Limits.maxWidth else {
        throw LaminaError.invalid(
          "\(what): input width \(input) must be between 1 and \(Limits.maxWidth)")
      }
      guard output >= 1, output <= Limits.maxWidth else {
        throw LaminaError.invalid(
          "\(what): \"output\" is \(output); it must be between 1 and \(Limits.maxWidth)")
      }
      guard grid >= 2, grid <= RBFKANLayer.maxGrid else {
        throw LaminaError.invalid(
          "\(what): \"grid\" is \(grid); an RBF basis needs between 2 and \(RBFKANLayer.maxGrid) centres"
        )
      }
      try RBFKANLayer.checkGridRange(grid: grid, gridMin, gridMax, what: what)
      guard input * grid <= RBFKANLayer.maxBasisFeatures else {
        throw LaminaError.invalid(
          "\(what): \(input) inputs times \"grid\" \(grid) is over the limit of "
            + "\(RBFKANLayer.maxBasisFeatures) basis features per row")
      }
      if normalize && input == 1 {
        throw LaminaError.invalid(
          "\(what): \"normalize\" needs at least 2 input features: LayerNorm over 1 feature maps "
            + "every input to the same value, so the layer would ignore its input")
      }
      guard let count = parameterCount(input: input), count <= Limits.maxParameters else {
        throw LaminaError(
          .outOfMemory, "\(what): the layer would have more than \(Limits.maxParameters) parameters"
        )
      }
    }

    /// The basis keys of these settings (all but the output width).
    public var basisOptions: RBFKANLayer.Options {
      RBFKANLayer.Options(
        grid: grid, gridMin: gridMin, gridMax: gridMax, normalize: normalize, base: base)
    }
  }

  /// The spec keys of an RBF basis, without the widths: what a "kan" model's "basis" entry
  /// (or its keys beside "basis": "rbf") gives for every layer.
  public struct Options: Equatable, Sendable, KANLayerOptionsSource {
    /// Number of centres G (spec "grid", default 8).
    public var grid: Int
    /// First centre (spec "grid_range"[0], default -2).
    public var gridMin: Double
    /// Last centre (spec "grid_range"[1], default 2).
    public var gridMax: Double
    /// Whether a LayerNorm precedes the bases (spec "normalize", default false).
    public var normalize: Bool
    /// Whether the SiLU base branch with bias is added (spec "base", default true).
    public var base: Bool

    /// Options with FastKAN's defaults except `normalize`.
    public init(
      grid: Int = 8, gridMin: Double = -2, gridMax: Double = 2, normalize: Bool = false,
      base: Bool = true
    ) {
      self.grid = grid
      self.gridMin = gridMin
      self.gridMax = gridMax
      self.normalize = normalize
      self.base = base
    }

    /// The settings of a layer with `output` features.
    public func options(output: Int) -> LayerOptions {
      LayerOptions(
        output: output, grid: grid, gridMin: gridMin, gridMax: gridMax, normalize: normalize,
        base: base)
    }

    /// "rbf".
    static var basisName: String { "rbf" }

    /// Reads "grid" (default 8, 2...`RBFKANLayer.maxGrid`), "grid_range" (default [-2, 2]),
    /// "normalize" (default false) and "base" (default true); checks everything that does not
    /// depend on the widths.
    static func parse(_ reader: JSONObjectReader) throws -> Self {
      var o = Self()
      o.grid = try reader.int("grid", default: o.grid, min: 2, max: RBFKANLayer.maxGrid)
      if let value = reader.value("grid_range") {
        guard case .array(let items) = value, items.count == 2,
          case .number(let lo) = items[0], case .number(let hi) = items[1]
        else {
          throw LaminaError.invalid(
            "\(reader.what): \"grid_range\" must be an array of two numbers [min, max]")
        }
        (o.gridMin, o.gridMax) = (lo, hi)
      }
      try RBFKANLayer.checkGridRange(grid: o.grid, o.gridMin, o.gridMax, what: reader.what)
      o.normalize = try reader.bool("normalize", default: o.normalize)
      o.base = try reader.bool("base", default: o.base)
      return o
    }

    /// The layer's tensors as factor pairs.
    func parameterBudget(input: Int, output: Int) -> [(Int, Int)] {
      [(input, grid * output), (base ? input + 1 : 0, output), (normalize ? 2 : 0, input)]
    }

    /// A LayerNorm mixes the inputs, so a normalising layer's edges are not separable.
    var mixtureRestriction: String? {
      normalize
        ? "\"normalize\" must be false in a mixed layer (a LayerNorm mixes the inputs, so "
          + "edges would not be separable)"
        : nil
    }

    /// The basis keys in spec order.
    var specPairs: [(String, JSONValue)] {
      [
        ("grid", .number(Double(grid))),
        ("grid_range", .array([.number(gridMin), .number(gridMax)])),
        ("normalize", .bool(normalize)), ("base", .bool(base)),
      ]
    }

    /// `RBFKANLayer(input:output:options:rng:)`.
    func makeLayer(input: Int, output: Int, rng: inout RandomSource) throws -> Layer {
      try RBFKANLayer(input: input, output: output, options: self, rng: &rng)
    }
  }

  /// Throws `.invalidArgument` naming "grid_range" unless the `grid` centres on
  /// [`gridMin`, `gridMax`] are distinct finite Floats with a normal spacing.
  static func checkGridRange(grid: Int, _ gridMin: Double, _ gridMax: Double, what: String) throws {
    let lo = Float(gridMin)
    let hi = Float(gridMax)
    let h = Float((gridMax - gridMin) / Double(max(grid - 1, 1)))
    guard gridMin.isFinite, gridMax.isFinite, lo.isFinite, hi.isFinite, lo < hi, h.isNormal else {
      throw LaminaError.invalid(
        "\(what): \"grid_range\" [\(gridMin), \(gridMax)] must be two finite Float values, "
          + "the first below the second, with a normal spacing between centres")
    }
  }

  /// Most centres a layer may have.
  public static let maxGrid = 1024
  /// Most basis values per row (input features times centres), which bounds scratch memory.
  public static let maxBasisFeatures = 1 << 20
  /// nn.LayerNorm's default epsilon.
  static let layerNormEpsilon: Float = 1e-5
  /// FastKAN's `spline_weight_init_scale`.
  static let splineInitScale = 0.1

  // MARK: - Construction

  public let inputDim: Int
  public let outputDim: Int
  /// The settings this layer was built with.
  public let options: LayerOptions
  /// The width h of every bump, (grid_max - grid_min) / (G - 1), rounded to Float.
  public let denominator: Float
  /// "layernorm.weight" [in], or nil without `normalize`.
  public let layerNormWeight: Parameter?
  /// "layernorm.bias" [in], or nil without `normalize`.
  public let layerNormBias: Parameter?
  /// "spline_linear.weight" [out, in*G].
  public let splineWeight: Parameter
  /// "base_linear.weight" [out, in], or nil without `base`.
  public let baseWeight: Parameter?
  /// "base_linear.bias" [out], or nil without `base`.
  public let baseBias: Parameter?
  /// The buffer "rbf.grid" [G]: the centres.
  public let centres: Parameter
  /// FastKAN's module order: layernorm, spline_linear, base_linear.
  public let parameters: [Parameter]
  /// Scratch for the bases, reused across calls.
  private let scratch = ScratchPool()
  /// Floats of scratch memory one chunk of rows aims at (4 MB); large batches are processed
  /// in chunks of rows so scratch stays bounded. Tests lower it to exercise chunking.
  var scratchBudget = 1 << 20

  /// The centres, as a buffer (saved and named, never trained).
  public var buffers: [Parameter] { [centres] }

  /// Number of centres G.
  var gridCount: Int { options.grid }
  /// Basis values per row, in * G.
  var basisWidth: Int { inputDim * options.grid }

  /// A layer of `input` features with FastKAN's initial values drawn from `rng`, in this
  /// order: spline weight, base weight, base bias. Throws if `options` do not validate.
  public init(input: Int, options: LayerOptions, rng: inout RandomSource) throws {
    try options.validate(input: input)
    inputDim = input
    outputDim = options.output
    self.options = options
    denominator = Float((options.gridMax - options.gridMin) / Double(options.grid - 1))
    let g = options.grid
    centres = Parameter(
      name: "rbf.grid", shape: [g],
      value: RBFKANLayer.linspace(Float(options.gridMin), Float(options.gridMax), g))
    if options.normalize {
      layerNormWeight = Parameter(
        name: "layernorm.weight", shape: [input], value: [Float](repeating: 1, count: input))
      layerNormBias = Parameter(
        name: "layernorm.bias", shape: [input], value: [Float](repeating: 0, count: input))
    } else {
      layerNormWeight = nil
      layerNormBias = nil
    }
    var spline = [Float](repeating: 0, count: options.output * input * g)
    for i in spline.indices {
      spline[i] = Float(
        RBFKANLayer.truncatedNormal(
          &rng, mean: 0, std: RBFKANLayer.splineInitScale, lower: -2, upper: 2))
    }
    splineWeight = Parameter(
      name: "spline_linear.weight", shape: [options.output, input * g], value: spline)
    if options.base {
      let bound = 1 / Double(input).squareRoot()
      let w = (0..<(options.output * input)).map { _ in Float(rng.uniform(-bound, bound)) }
      let b = (0..<options.output).map { _ in Float(rng.uniform(-bound, bound)) }
      baseWeight = Parameter(name: "base_linear.weight", shape: [options.output, input], value: w)
      baseBias = Parameter(name: "base_linear.bias", shape: [options.output], value: b)
    } else {
      baseWeight = nil
      baseBias = nil
    }
    parameters = [layerNormWeight, layerNormBias, splineWeight, baseWeight, baseBias].compactMap {
      $0
    }
  }

  /// An `input` -> `output` layer of the basis keys `options`, drawn from `rng` as
  /// `init(input:options:rng:)` with `options.options(output:)`.
  public convenience init(
    input: Int, output: Int, options: Options, rng: inout RandomSource
  ) throws {
    try self.init(input: input, options: options.options(output: output), rng: &rng)
  }

  /// A deep copy of `other`.
  private init(copying other: RBFKANLayer) {
    inputDim = other.inputDim
    outputDim = other.outputDim
    options = other.options
    denominator = other.denominator
    centres = other.centres.copy()
    layerNormWeight = other.layerNormWeight?.copy()
    layerNormBias = other.layerNormBias?.copy()
    splineWeight = other.splineWeight.copy()
    baseWeight = other.baseWeight?.copy()
    baseBias = other.baseBias?.copy()
    parameters = [layerNormWeight, layerNormBias, splineWeight, baseWeight, baseBias].compactMap {
      $0
    }
  }

  /// A deep copy with its own parameters, buffer and scratch.
  public func copy() -> Layer { RBFKANLayer(copying: self) }

  // MARK: - Layer

  /// `{"type": "kan", "output": O, "basis": "rbf", "grid": G, "grid_range": [lo, hi],
  /// "normalize": false, "base": true}`.
  public var spec: JSONValue {
    options.basisOptions.layerSpec(input: inputDim, output: outputDim)
  }

  // MARK: - Initialisation helpers

  /// `steps` values from `start` to `end` exactly as torch.linspace computes them in float32:
  /// the first half stepping up from `start`, the second down from `end`, each value one
  /// fused multiply-add (checked bit for bit against torch in the tests).
  static func linspace(_ start: Float, _ end: Float, _ steps: Int) -> [Float] {
    guard steps > 1 else { return [start] }
    let step = (end - start) / Float(steps - 1)
    let half = steps / 2
    return (0..<steps).map { i in
      i < half
        ? start.addingProduct(step, Float(i)) : end.addingProduct(-step, Float(steps - i - 1))
    }
  }

  /// A draw from N(mean, std^2) restricted to [lower, upper] (bounds absolute, as in
  /// torch.nn.init.trunc_normal_), by rejection: portable and seeded, and fast when the
  /// interval holds most of the mass, as every caller's does. After 10,000 rejections (an
  /// interval far in the tail) it returns the mean clamped to the interval rather than loop on.
  static func truncatedNormal(
    _ rng: inout RandomSource, mean: Double, std: Double, lower: Double, upper: Double
  ) -> Double {
    for _ in 0..<10_000 {
      let v = mean + std * rng.normal()
      if v >= lower && v <= upper { return v }
    }
    return min(max(mean, lower), upper)
  }

  // MARK: - Forward

  /// Rows per chunk so one chunk's scratch stays near `scratchBudget` floats.
  private func chunkRows(_ n: Int, floatsPerRow: Int) -> Int {
    min(n, max(1, scratchBudget / max(floatsPerRow, 1)))
  }

  /// y = spline_linear(phi(z)) + base_linear(silu(x)) for `n` rows. Reads the layer only.
  public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    guard n > 0 else { return }
    let inp = inputDim
    let out = outputDim
    let perRow = basisWidth + (options.base ? inp : 0)
    let rows = chunkRows(n, floatsPerRow: perRow)
    scratch.withBuffer(count: rows * perRow) { s in
      var start = 0
      while start < n {
        let m = min(rows, n - start)
        let xs = x + start * inp
        let ys = y + start * out
        let basis = s
        let silu = s + rows * basisWidth
        computeBases(xs, rows: m, basis: basis, xhat: nil, rstd: nil)
        if options.base { RBFKANLayer.silu(xs, silu, count: m * inp) }
        linearMaps(basis: basis, silu: silu, rows: m, into: ys)
        start += m
      }
    }
  }

  /// Writes the in*G bases of each row into `basis`, normalising first when asked; with
  /// `xhat` and `rstd` also keeps LayerNorm's normalised inputs and 1/sigma for backward.
  private func computeBases(
    _ x: UnsafePointer<Float>, rows m: Int, basis: UnsafeMutablePointer<Float>,
    xhat: UnsafeMutablePointer<Float>?, rstd: UnsafeMutablePointer<Float>?
  ) {
    let inp = inputDim
    let g = gridCount
    // A multiply by 1/h instead of torch's division: within an ulp of d, and much cheaper.
    let invH = 1 / denominator
    let bw = basisWidth
    centres.value.withUnsafeBufferPointer { cb in
      guard let c = cb.baseAddress else { return }
      // Squared distances first, then one exp pass over the row, which vectorises.
      @inline(__always) func distances(_ z: Float, _ out: UnsafeMutablePointer<Float>) {
        for k in 0..<g {
          let d = (z - c[k]) * invH
          out[k] = d * d
        }
      }
      guard let lnW = layerNormWeight, let lnB = layerNormBias else {
        for r in 0..<m {
          let xr = x + r * inp
          let br = basis + r * bw
          for i in 0..<inp { distances(xr[i], br + i * g) }
          RBFKANLayer.expNegative(br, count: bw)
        }
        return
      }
      lnW.value.withUnsafeBufferPointer { wb in
        lnB.value.withUnsafeBufferPointer { bb in
          guard let gamma = wb.baseAddress, let beta = bb.baseAddress else { return }
          let count = Float(inp)
          for r in 0..<m {
            let xr = x + r * inp
            let br = basis + r * bw
            var sum: Float = 0
            for i in 0..<inp { sum += xr[i] }
            let mean = sum / count
            var squares: Float = 0
            for i in 0..<inp {
              let d = xr[i] - mean
              squares += d * d
            }
            let inv = 1 / (squares / count + RBFKANLayer.layerNormEpsilon).squareRoot()
            rstd?[r] = inv
            for i in 0..<inp {
              let xh = (xr[i] - mean) * inv
              xhat?[r * inp + i] = xh
              distances(xh * gamma[i] + beta[i], br + i * g)
            }
            RBFKANLayer.expNegative(br, count: bw)
          }
        }
      }
    }
  }

  /// p[k] = exp(-p[k]) for `count` values p[k] >= 0 (or +inf), in place.
  ///
  /// The Gaussian bumps are most of the layer's arithmetic, and libm's expf is a call per
  /// value; this branch-free form (Cephes' expf: round t / ln 2 to k, a degree-7 polynomial
  /// for exp(r) on |r| <= ln(2) / 2, times 2^k built in the exponent bits) lets the compiler
  /// vectorise the loop. It is within 1 ulp of exp on [0, 90] (measured against Double in
  /// the tests, which allow 2); results below 2^-126 (t > 87.3365) are flushed to 0 instead
  /// of going subnormal, and NaN stays NaN.
  @inline(__always)
  static func expNegative(_ p: UnsafeMutablePointer<Float>, count: Int) {
    for j in 0..<count {
      let t = -min(p[j], 87.336_54)
      // k = round(t / ln 2) by the 1.5 * 2^23 trick: the sum's low mantissa bits hold k.
      let shifted = t * 1.442_695_04 + 12_582_912
      let kf = shifted - 12_582_912
      let r = (t - kf * 0.693_359_375) - kf * -2.121_944_4e-4
      var e: Float = 1.987_569_15e-4
      e = e * r + 1.398_199_95e-3
      e = e * r + 8.333_451_9e-3
      e = e * r + 4.166_579_59e-2
      e = e * r + 1.666_666_55e-1
      e = e * r + 5.000_000_12e-1
      e = e * (r * r) + r + 1
      let k = shifted.bitPattern &- 0x4B40_0000
      let scale = Float(bitPattern: (k &+ 127) &<< 23)
      let v = p[j]
      p[j] = v < 87.336_54 ? e * scale : (v.isNaN ? v : 0)
    }
  }

  /// y = silu(x) = x * sigmoid(x) elementwise and, with `derivative`, silu'(x) =
  /// sigmoid(x) * (1 + x * (1 - sigmoid(x))) there (the same y either way). sigmoid comes from e = exp(-|x|) by
  /// `expNegative` (1 / (1 + e) for x >= 0, e / (1 + e) below), which vectorises and never
  /// overflows; far out (|x| > 87.3) e is flushed to 0 and silu(x) is x or -0, its limits.
  static func silu(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
    derivative: UnsafeMutablePointer<Float>? = nil
  ) {
    for k in 0..<count { y[k] = abs(x[k]) }
    expNegative(y, count: count)
    if let d = derivative {
      for k in 0..<count {
        let v = x[k]
        let e = y[k]
        let inv = 1 / (1 + e)
        let sig = (v >= 0 ? 1 : e) * inv
        // 1 - sigmoid(x) from e too, not by subtraction, which cancels for large x.
        let rest = (v >= 0 ? e : 1) * inv
        y[k] = v * sig
        d[k] = sig * (1 + v * rest)
      }
    } else {
      for k in 0..<count {
        let v = x[k]
        let e = y[k]
        y[k] = v * ((v >= 0 ? 1 : e) * (1 / (1 + e)))
      }
    }
  }

  /// y = basis W_s^T (+ bias + silu W_b^T with `base`) for `m` rows, by sgemm.
  private func linearMaps(
    basis: UnsafeMutablePointer<Float>, silu: UnsafeMutablePointer<Float>, rows m: Int,
    into y: UnsafeMutablePointer<Float>
  ) {
    let inp = inputDim
    let out = outputDim
    var beta: Float = 0
    if let bw = baseWeight, let bb = baseBias {
      bb.value.withUnsafeBufferPointer { b in
        guard let bp = b.baseAddress else { return }
        for r in 0..<m { (y + r * out).update(from: bp, count: out) }
      }
      bw.value.withUnsafeBufferPointer { w in
        guard let wp = w.baseAddress else { return }
        BLAS.gemm(
          transA: false, transB: true, m: m, n: out, k: inp, alpha: 1, silu, lda: inp, wp, ldb: inp,
          beta: 1, y, ldc: out)
      }
      beta = 1
    }
    splineWeight.value.withUnsafeBufferPointer { w in
      guard let wp = w.baseAddress else { return }
      BLAS.gemm(
        transA: false, transB: true, m: m, n: out, k: basisWidth, alpha: 1, basis, lda: basisWidth,
        wp, ldb: basisWidth, beta: beta, y, ldc: out)
    }
  }

  // MARK: - Backward

  /// Recomputes the bases from `x`, then back-propagates `dy` through both branches and the
  /// optional LayerNorm. Parameter gradients are added; `dx` is overwritten.
  public func backward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool
  ) {
    guard n > 0, dx != nil || parameterGradients else { return }
    let inp = inputDim
    let out = outputDim
    let bw = basisWidth
    // basis, d(basis), then per input: silu, silu', dL/dsilu, dz, xhat, and rstd (1).
    let perRow = 2 * bw + 5 * inp + 1
    let rows = chunkRows(n, floatsPerRow: perRow)
    scratch.withBuffer(count: rows * perRow) { s in
      let basis = s
      let dBasis = basis + rows * bw
      let silu = dBasis + rows * bw
      let siluPrime = silu + rows * inp
      let dSilu = siluPrime + rows * inp
      let dz = dSilu + rows * inp
      let xhat = dz + rows * inp
      let rstd = xhat + rows * inp
      var start = 0
      while start < n {
        let m = min(rows, n - start)
        let xs = x + start * inp
        let dys = dy + start * out
        let dxs = dx.map { $0 + start * inp }
        computeBases(xs, rows: m, basis: basis, xhat: xhat, rstd: rstd)
        if options.base {
          RBFKANLayer.silu(xs, silu, count: m * inp, derivative: dxs == nil ? nil : siluPrime)
        }
        if parameterGradients { addLinearGradients(dy: dys, basis: basis, silu: silu, rows: m) }
        if dxs != nil || (parameterGradients && options.normalize) {
          basisGradients(
            xs, dy: dys, basis: basis, dBasis: dBasis, dz: dz, xhat: xhat, rstd: rstd, dx: dxs,
            rows: m, parameterGradients: parameterGradients)
        }
        if let dxs, let w = baseWeight {
          w.value.withUnsafeBufferPointer { wb in
            guard let wp = wb.baseAddress else { return }
            BLAS.gemm(
              transA: false, transB: false, m: m, n: inp, k: out, alpha: 1, dys, lda: out, wp,
              ldb: inp, beta: 0, dSilu, ldc: inp)
          }
          for k in 0..<(m * inp) { dxs[k] += dSilu[k] * siluPrime[k] }
        }
        start += m
      }
    }
  }

  /// dW_s += dy^T basis; dW_b += dy^T silu; db += column sums of dy.
  private func addLinearGradients(
    dy: UnsafePointer<Float>, basis: UnsafeMutablePointer<Float>,
    silu: UnsafeMutablePointer<Float>, rows m: Int
  ) {
    let inp = inputDim
    let out = outputDim
    splineWeight.gradient.withUnsafeMutableBufferPointer { g in
      guard let gp = g.baseAddress else { return }
      BLAS.gemm(
        transA: true, transB: false, m: out, n: basisWidth, k: m, alpha: 1, dy, lda: out, basis,
        ldb: basisWidth, beta: 1, gp, ldc: basisWidth)
    }
    if let bw = baseWeight, let bb = baseBias {
      bw.gradient.withUnsafeMutableBufferPointer { g in
        guard let gp = g.baseAddress else { return }
        BLAS.gemm(
          transA: true, transB: false, m: out, n: inp, k: m, alpha: 1, dy, lda: out, silu,
          ldb: inp, beta: 1, gp, ldc: inp)
      }
      bb.gradient.withUnsafeMutableBufferPointer { g in
        guard let gp = g.baseAddress else { return }
        for r in 0..<m {
          let row = dy + r * out
          for j in 0..<out { gp[j] += row[j] }
        }
      }
    }
  }

  /// dL/dz from dL/dbasis (d phi / dz = -2 (z - c) / h^2 * phi), then through LayerNorm:
  /// adds LayerNorm's parameter gradients when asked and writes the spline branch's dx.
  private func basisGradients(
    _ x: UnsafePointer<Float>, dy: UnsafePointer<Float>, basis: UnsafeMutablePointer<Float>,
    dBasis: UnsafeMutablePointer<Float>, dz: UnsafeMutablePointer<Float>,
    xhat: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
    dx: UnsafeMutablePointer<Float>?, rows m: Int, parameterGradients: Bool
  ) {
    let inp = inputDim
    let out = outputDim
    let g = gridCount
    let bw = basisWidth
    splineWeight.value.withUnsafeBufferPointer { w in
      guard let wp = w.baseAddress else { return }
      BLAS.gemm(
        transA: false, transB: false, m: m, n: bw, k: out, alpha: 1, dy, lda: out, wp, ldb: bw,
        beta: 0, dBasis, ldc: bw)
    }
    let invH = 1 / denominator
    let scale = -2 * invH
    @inline(__always) func dzOf(
      _ z: Float, _ c: UnsafePointer<Float>, _ b: UnsafeMutablePointer<Float>,
      _ db: UnsafeMutablePointer<Float>
    ) -> Float {
      var sum: Float = 0
      for k in 0..<g { sum += db[k] * b[k] * ((z - c[k]) * invH) }
      return sum * scale
    }
    centres.value.withUnsafeBufferPointer { cb in
      guard let c = cb.baseAddress else { return }
      guard let lnW = layerNormWeight, let lnB = layerNormBias else {
        guard let dx else { return }
        for r in 0..<m {
          for i in 0..<inp {
            let k = r * inp + i
            dx[k] = dzOf(x[k], c, basis + k * g, dBasis + k * g)
          }
        }
        return
      }
      lnW.value.withUnsafeBufferPointer { wb in
        lnB.value.withUnsafeBufferPointer { bb in
          guard let gamma = wb.baseAddress, let beta = bb.baseAddress else { return }
          for k in 0..<(m * inp) {
            let i = k % inp
            dz[k] = dzOf(xhat[k] * gamma[i] + beta[i], c, basis + k * g, dBasis + k * g)
          }
          if let dx {
            let count = Float(inp)
            for r in 0..<m {
              var meanD: Float = 0
              var meanDX: Float = 0
              for i in 0..<inp {
                let d = dz[r * inp + i] * gamma[i]
                meanD += d
                meanDX += d * xhat[r * inp + i]
              }
              meanD /= count
              meanDX /= count
              let inv = rstd[r]
              for i in 0..<inp {
                let k = r * inp + i
                dx[k] = inv * (dz[k] * gamma[i] - meanD - xhat[k] * meanDX)
              }
            }
          }
        }
      }
      if parameterGradients {
        lnW.gradient.withUnsafeMutableBufferPointer { gw in
          lnB.gradient.withUnsafeMutableBufferPointer { gb in
            guard let gwp = gw.baseAddress, let gbp = gb.baseAddress else { return }
            for r in 0..<m {
              for i in 0..<inp {
                let k = r * inp + i
                gwp[i] += dz[k] * xhat[k]
                gbp[i] += dz[k]
              }
            }
          }
        }
      }
    }
  }
}

// MARK: - Edge layout and edge curves

extension RBFKANLayer {
  /// "spline_weight" is [out, in * G], "base_weight" [out, in], "base_bias" per output; a
  /// LayerNorm mixes the inputs, so a normalising layer has no layout.
  func edgeLayouts() throws -> [KANEdgeLayout?] {
    guard layerNormWeight == nil else {
      throw LaminaError(.unsupported, "an RBF layer that normalises its inputs has no edge layout")
    }
    return edgeLayouts([
      (splineWeight, .edges(repeats: 1, outputMajor: true, inner: options.grid)),
      (baseWeight, .edges(repeats: 1, outputMajor: true, inner: 1)), (baseBias, .outputs),
    ])
  }

  /// With "normalize" the LayerNorm mixes the inputs before the bases.
  var edgeCurveRefusal: String? {
    layerNormWeight == nil
      ? nil
      : "an RBF KAN layer with \"normalize\": its LayerNorm mixes the inputs, so it has no "
        + "per-edge functions"
  }
}

extension RBFKANLayer: KANEdgeFunctions {
  /// phi_ij(x) = sum_g W exp(-((x - c_g) / h)^2) + w_base silu(x) + b_j / in; layers with
  /// "normalize" have no edge functions (`Model.kanEdgeLayer` refuses them).
  public func edgeValues(
    input i: Int, output j: Int, at x: UnsafePointer<Float>, count n: Int,
    into y: UnsafeMutablePointer<Float>
  ) {
    KANSeparableEdges.values(of: self, input: i, output: j, at: x, count: n, into: y)
  }
}
