#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A Kolmogorov-Arnold layer whose edge functions are truncated Fourier series (FourierKAN,
/// GistNoesis/FourierKAN's `NaiveFourierKANLayer`):
///
///     y[j] = bias[j] + sum_i sum_{g=1...G} a[j, i, g] cos(g x[i]) + b[j, i, g] sin(g x[i])
///
/// The tensors match FourierKAN's, so they move to and from PyTorch unchanged:
/// "fouriercoeffs" is [2, output, input, G] with the cosine coefficients `a` at [0] and the
/// sine coefficients `b` at [1]; "bias" is [output] (PyTorch's is [1, output], the same
/// values). The coefficients start at N(0, 1) / (sqrt(input) * sqrt(G)), so unit-variance
/// inputs give unit-variance outputs; with `smoothInit` the divisor is sqrt(input) * g^2
/// instead, so high frequencies start small (FourierKAN's `smooth_initialization`). The bias
/// starts at zero.
///
/// The functions are periodic (period 2 pi), so no input falls off a grid, and every input
/// has a non-zero gradient. Lamina evaluates sin x and cos x once per input, in Double, and
/// gets the higher harmonics by the angle-addition rotation, also in Double: one sine and
/// one cosine per input instead of 2G, and more accurate than FourierKAN's Float
/// `cos(k * x)` for large g * |x| (where rounding k * x to Float alone costs about
/// |k x| * 6e-8 radians).
///
/// Forward and backward evaluate the 2G basis values of a block of rows into scratch memory
/// and contract them with the coefficients in two sgemms.
///
/// Building from a spec is two steps so that a model builder can check sizes before
/// allocating anything: `Options.parse` reads and checks the keys, `parameterCount` gives
/// the size for the model's budget, and `init(input:output:options:rng:)` allocates and
/// draws. `parse` (see `KANSeriesLayer`) does all three for one layer.
public final class FourierKANLayer: Layer, KANSeriesLayer {
  /// The value of the spec's "basis" key for this layer.
  public static let basisName = "fourier"
  /// The numbers of frequencies a spec may ask for.
  public static let gridRange = 1...1024
  /// The number of frequencies when the spec gives none.
  public static let defaultGrid = 5

  // MARK: - Options

  /// The basis-specific settings of a spec, parsed and checked before anything is allocated.
  public struct Options: Equatable, Sendable, KANBasisOptions {
    /// Number of frequencies G (spec key "grid"): harmonics 1...G.
    public var grid: Int
    /// Divide initial coefficients by g^2 instead of sqrt(G) (spec key "smooth_init").
    public var smoothInit: Bool
    /// Whether the layer has a trainable bias (spec key "bias").
    public var bias: Bool

    /// Settings with the spec's defaults.
    public init(
      grid: Int = FourierKANLayer.defaultGrid, smoothInit: Bool = false, bias: Bool = true
    ) {
      self.grid = grid
      self.smoothInit = smoothInit
      self.bias = bias
    }

    /// "fourier".
    static var basisName: String { FourierKANLayer.basisName }

    /// Reads this basis's keys from a layer or model spec object: "grid" (default 5,
    /// 1...1024), "smooth_init" (false), "bias" (true). It reads nothing else: the caller
    /// reads "type", "output", "basis" (or a KAN model's "widths") and calls `finish()`, so
    /// unknown keys are still refused.
    static func parse(_ reader: JSONObjectReader) throws -> Self {
      Options(
        grid: try reader.int(
          "grid", default: FourierKANLayer.defaultGrid,
          min: FourierKANLayer.gridRange.lowerBound, max: FourierKANLayer.gridRange.upperBound),
        smoothInit: try reader.bool("smooth_init", default: false),
        bias: try reader.bool("bias", default: true))
    }

    /// See `FourierKANLayer.validate`.
    func validate(input: Int, output: Int, what: String) throws {
      try FourierKANLayer.validate(input: input, output: output, options: self, what: what)
    }

    /// 2 x out x in x G coefficients and the bias.
    func parameterBudget(input: Int, output: Int) -> [(Int, Int)] {
      [(input, 2 * output * grid), (bias ? 1 : 0, output)]
    }

    /// "grid", "smooth_init", "bias".
    var specPairs: [(String, JSONValue)] {
      [("grid", .number(Double(grid))), ("smooth_init", .bool(smoothInit)), ("bias", .bool(bias))]
    }

    /// `FourierKANLayer(input:output:options:rng:)`.
    func makeLayer(input: Int, output: Int, rng: inout RandomSource) throws -> Layer {
      try FourierKANLayer(input: input, output: output, options: self, rng: &rng)
    }
  }

  /// Features per input row.
  public let inputDim: Int
  /// Features per output row.
  public let outputDim: Int
  /// Number of frequencies G.
  public let grid: Int
  /// Whether the coefficients were initialised smooth (kept so the spec recreates the layer).
  public let smoothInit: Bool
  /// "fouriercoeffs", [2, outputDim, inputDim, grid].
  public let coefficients: Parameter
  /// "bias", [outputDim], or nil.
  public let bias: Parameter?
  /// Per-call scratch (reordered coefficients, basis values, work arrays), reused across
  /// calls.
  private let scratch = ScratchPool()

  // MARK: - Construction

  /// Scalars a layer of these sizes would hold (exact: no overflow for widths up to
  /// `Limits.maxWidth`), for checking a model's budget before allocating.
  public static func parameterCount(input: Int, output: Int, options: Options) -> Int {
    2 * output * input * options.grid + (options.bias ? output : 0)
  }

  /// An `input` -> `output` layer with G = `grid` frequencies, coefficients drawn from `rng`.
  /// Throws `.invalidArgument` for sizes outside 1...`Limits.maxWidth` or a grid outside
  /// `gridRange`, `.outOfMemory` when the layer is over `Limits.maxParameters`.
  public convenience init(
    input: Int, output: Int, grid: Int = FourierKANLayer.defaultGrid, smoothInit: Bool = false,
    bias: Bool = true, rng: inout RandomSource
  ) throws {
    try self.init(
      input: input, output: output,
      options: Options(grid: grid, smoothInit: smoothInit, bias: bias), rng: &rng)
  }

  /// An `input` -> `output` layer with `options`. The coefficients are drawn from `rng` in
  /// the tensor's row-major order; the bias starts at zero and draws nothing.
  public init(input: Int, output: Int, options: Options, rng: inout RandomSource) throws {
    try FourierKANLayer.validate(input: input, output: output, options: options)
    inputDim = input
    outputDim = output
    grid = options.grid
    smoothInit = options.smoothInit
    let g = options.grid
    let count = 2 * output * input * g
    let inputScale = Double(input).squareRoot()
    let stds = (1...g).map { k in
      1 / (inputScale * (options.smoothInit ? Double(k * k) : Double(g).squareRoot()))
    }
    var values = [Float](repeating: 0, count: count)
    for e in values.indices { values[e] = Float(rng.normal() * stds[e % g]) }
    coefficients = Parameter(name: "fouriercoeffs", shape: [2, output, input, g], value: values)
    bias =
      options.bias
      ? Parameter(name: "bias", shape: [output], value: [Float](repeating: 0, count: output)) : nil
  }

  /// Shares nothing with `other`.
  private init(copying other: FourierKANLayer) {
    inputDim = other.inputDim
    outputDim = other.outputDim
    grid = other.grid
    smoothInit = other.smoothInit
    coefficients = other.coefficients.copy()
    bias = other.bias?.copy()
  }

  /// Throws unless a layer of these sizes and options can be built (see the initialisers).
  static func validate(
    input: Int, output: Int, options: Options, what: String = "kan layer"
  ) throws {
    try checkShape(
      input: input, output: output, key: "grid", value: options.grid, range: gridRange,
      what: what)
    guard parameterCount(input: input, output: output, options: options) <= Limits.maxParameters
    else {
      throw LaminaError(
        .outOfMemory,
        "\(what): 2 x \(output) x \(input) x \(options.grid) Fourier coefficients are over "
          + "the limit of \(Limits.maxParameters) parameters")
    }
  }

  // MARK: - Layer

  /// "fouriercoeffs", then "bias" when the layer has one.
  public var parameters: [Parameter] { bias.map { [coefficients, $0] } ?? [coefficients] }

  /// `{"type": "kan", "output": O, "basis": "fourier", "grid": G, "smooth_init": s,
  /// "bias": b}`.
  public var spec: JSONValue {
    Options(grid: grid, smoothInit: smoothInit, bias: bias != nil)
      .layerSpec(input: inputDim, output: outputDim)
  }

  /// A deep copy with its own coefficients and bias.
  public func copy() -> Layer { FourierKANLayer(copying: self) }

  // MARK: - Forward
  //
  // A basis row holds [cos(g x_i) | sin(g x_i)], each half frequency-major (index
  // (g - 1) * input + i), so the harmonic rotation runs over contiguous inputs and
  // vectorises. The coefficients are copied into the same order once per call
  // (2 * output * input * G values, small next to the n * input * G basis values).

  /// Basis values per row: 2 * input * G.
  var basisWidth: Int { 2 * inputDim * grid }

  /// Copies fouriercoeffs [2, out, in, G] into W [2, out, G, in]: each half is then the
  /// output x (input * G) matrix whose columns match the basis rows.
  private func weightMatrix(into w: UnsafeMutablePointer<Float>) {
    let (inp, g) = (inputDim, grid)
    coefficients.value.withUnsafeBufferPointer { cb in
      guard let c = cb.baseAddress else { return }
      for row in 0..<(2 * outputDim) {
        let src = c + row * inp * g
        let dst = w + row * inp * g
        for i in 0..<inp {
          for h in 0..<g { dst[h * inp + i] = src[i * g + h] }
        }
      }
    }
  }

  /// Adds a gradient laid out as `weightMatrix` into fouriercoeffs' gradient.
  private func addWeightGradient(_ gw: UnsafePointer<Float>) {
    let (inp, g) = (inputDim, grid)
    coefficients.gradient.withUnsafeMutableBufferPointer { gb in
      guard let grad = gb.baseAddress else { return }
      for row in 0..<(2 * outputDim) {
        let src = gw + row * inp * g
        let dst = grad + row * inp * g
        for i in 0..<inp {
          for h in 0..<g { dst[i * g + h] += src[h * inp + i] }
        }
      }
    }
  }

  /// Basis rows (see above) for `m` rows of `x`. `work` holds 4 * input Doubles (the first
  /// harmonic and the running one, per input).
  private func fillBasis(
    _ x: UnsafePointer<Float>, rows m: Int, into basis: UnsafeMutablePointer<Float>,
    work: UnsafeMutablePointer<Double>
  ) {
    let (inp, g, k) = (inputDim, grid, basisWidth)
    let half = inp * g
    for r in 0..<m {
      let xr = x + r * inp
      let c1 = work
      let s1 = c1 + inp
      let c = s1 + inp
      let s = c + inp
      for i in 0..<inp {
        let (sine, cosine) = sineCosine(Double(xr[i]))
        c1[i] = cosine
        s1[i] = sine
      }
      // The fast kernel reduces arguments below 1e6 only; libm takes the rare others.
      for i in 0..<inp where !(abs(xr[i]) < 1e6) {
        c1[i] = cos(Double(xr[i]))
        s1[i] = sin(Double(xr[i]))
      }
      c.update(from: c1, count: inp)
      s.update(from: s1, count: inp)
      let cosines = basis + r * k
      let sines = cosines + half
      for h in 0..<g {
        let oc = cosines + h * inp
        let os = sines + h * inp
        for i in 0..<inp {
          oc[i] = Float(c[i])
          os[i] = Float(s[i])
          // cos((h + 2) x), sin((h + 2) x) by adding the angle x.
          let nextCosine = c[i] * c1[i] - s[i] * s1[i]
          s[i] = s[i] * c1[i] + c[i] * s1[i]
          c[i] = nextCosine
        }
      }
    }
  }

  /// y = bias + cos-basis A^T + sin-basis B^T for `n` rows, in blocks. Reads the layer only.
  public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    guard n > 0 else { return }
    let (inp, out, k) = (inputDim, outputDim, basisWidth)
    let half = inp * grid
    let rows = blockRows(n)
    scratch.withBuffers(doubles: 4 * inp, floats: out * k + rows * k) { work, s in
      let w = s
      let basis = s + out * k
      weightMatrix(into: w)
      var start = 0
      while start < n {
        let m = min(rows, n - start)
        let ys = y + start * out
        if let bias {
          bias.value.withUnsafeBufferPointer { bb in
            guard let bp = bb.baseAddress else { return }
            for r in 0..<m { (ys + r * out).update(from: bp, count: out) }
          }
        }
        fillBasis(x + start * inp, rows: m, into: basis, work: work)
        BLAS.gemm(
          transA: false, transB: true, m: m, n: out, k: half, alpha: 1, basis, lda: k, w,
          ldb: half, beta: bias == nil ? 0 : 1, ys, ldc: out)
        BLAS.gemm(
          transA: false, transB: true, m: m, n: out, k: half, alpha: 1, basis + half, lda: k,
          w + out * half, ldb: half, beta: 1, ys, ldc: out)
        start += m
      }
    }
  }

  // MARK: - Backward

  /// dA += dy^T cos-basis, dB += dy^T sin-basis, dbias += column sums of dy;
  /// dx[r, i] = sum_g g (dS[r, i, g] cos(g x) - dC[r, i, g] sin(g x)) with dC = dy A and
  /// dS = dy B.
  public func backward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool
  ) {
    guard n > 0, parameterGradients || dx != nil else { return }
    let (inp, out, g, k) = (inputDim, outputDim, grid, basisWidth)
    let half = inp * g
    let rows = blockRows(n)
    // Both the parameter gradients and dx read the cos / sin values, so they are evaluated
    // once per block and shared. Layout: [W | dW | basis block | dbasis block], the parts
    // this call does not need left out.
    let wCount = dx != nil ? out * k : 0
    let gwCount = parameterGradients ? out * k : 0
    let dBasisCount = dx != nil ? rows * k : 0
    scratch.withBuffers(
      doubles: 4 * inp, floats: wCount + gwCount + rows * k + dBasisCount
    ) { work, s in
      let w = s
      let gw = w + wCount
      let basis = gw + gwCount
      let dBasis = basis + rows * k
      if dx != nil { weightMatrix(into: w) }
      var start = 0
      while start < n {
        let m = min(rows, n - start)
        let xs = x + start * inp
        let dys = dy + start * out
        fillBasis(xs, rows: m, into: basis, work: work)
        if parameterGradients {
          let beta: Float = start == 0 ? 0 : 1
          BLAS.gemm(
            transA: true, transB: false, m: out, n: half, k: m, alpha: 1, dys, lda: out,
            basis, ldb: k, beta: beta, gw, ldc: half)
          BLAS.gemm(
            transA: true, transB: false, m: out, n: half, k: m, alpha: 1, dys, lda: out,
            basis + half, ldb: k, beta: beta, gw + out * half, ldc: half)
          if let bias {
            bias.gradient.withUnsafeMutableBufferPointer { gb in
              guard let gbias = gb.baseAddress else { return }
              for r in 0..<m {
                let row = dys + r * out
                for j in 0..<out { gbias[j] += row[j] }
              }
            }
          }
        }
        if let dx {
          BLAS.gemm(
            transA: false, transB: false, m: m, n: half, k: out, alpha: 1, dys, lda: out, w,
            ldb: half, beta: 0, dBasis, ldc: k)
          BLAS.gemm(
            transA: false, transB: false, m: m, n: half, k: out, alpha: 1, dys, lda: out,
            w + out * half, ldb: half, beta: 0, dBasis + half, ldc: k)
          let dxs = dx + start * inp
          for r in 0..<m {
            let dxr = dxs + r * inp
            let cosines = basis + r * k
            let sines = cosines + half
            let dCosines = dBasis + r * k
            let dSines = dCosines + half
            dxr.update(repeating: 0, count: inp)
            for h in 0..<g {
              let frequency = Float(h + 1)
              let o = h * inp
              for i in 0..<inp {
                dxr[i] +=
                  frequency * (dSines[o + i] * cosines[o + i] - dCosines[o + i] * sines[o + i])
              }
            }
          }
        }
        start += m
      }
      if parameterGradients { addWeightGradient(gw) }
    }
  }
}

/// (sin v, cos v) to within 1 ulp of Double for |v| < 1e6 (callers use libm beyond),
/// about twice as fast as libm's sin and cos, and branch-free so loops calling it
/// vectorise. The reduction subtracts q * pi / 2 in three parts (fdlibm's split of pi / 2
/// into 33-bit pieces: exact products for |q| < 2^20); the polynomials are fdlibm's minimax
/// kernels for |r| <= pi / 4; the quadrant then picks signs and swaps.
@inline(__always)
private func sineCosine(_ v: Double) -> (sine: Double, cosine: Double) {
  // Adding 1.5 * 2^52 rounds to an integer, which then sits in the low mantissa bits.
  let shifter = 0x1.8p52
  let shifted = v * 0.636_619_772_367_581_343_08 + shifter
  let q = shifted - shifter
  let r =
    ((v - q * 1.570_796_326_734_125_614_17) - q * 6.077_100_506_506_192_249_32e-11)
    - q * 2.022_266_248_711_166_455_80e-21
  let z = r * r
  let sine =
    r + r * z
    * (-1.666_666_666_666_663_243_48e-01 + z
      * (8.333_333_333_322_489_461_24e-03 + z
        * (-1.984_126_982_985_794_931_34e-04 + z
          * (2.755_731_370_707_006_767_89e-06 + z
            * (-2.505_076_025_340_686_341_95e-08 + z * 1.589_690_995_211_550_102_21e-10)))))
  let cosine =
    1 - 0.5 * z + z * z
    * (4.166_666_666_666_660_190_37e-02 + z
      * (-1.388_888_888_887_410_957_49e-03 + z
        * (2.480_158_728_947_672_941_78e-05 + z
          * (-2.755_731_435_139_066_330_35e-07 + z
            * (2.087_572_321_298_174_827_90e-09 + z * -1.135_964_755_778_819_482_65e-11)))))
  // Quadrant q mod 4: sin v = sin r, cos r, -sin r, -cos r; cos v = cos r, -sin r, ...
  let quadrant = shifted.bitPattern
  let swapped = quadrant & 1 != 0
  let s = swapped ? cosine : sine
  let c = swapped ? sine : cosine
  return ((quadrant & 2) != 0 ? -s : s, ((quadrant &+ 1) & 2) != 0 ? -c : c)
}

// MARK: - Edge layout and edge curves

extension FourierKANLayer {
  /// "fouriercoeffs" is [2, out, in, G]; "bias" is per output.
  func edgeLayouts() throws -> [KANEdgeLayout?] {
    edgeLayouts([
      (coefficients, .edges(repeats: 2, outputMajor: true, inner: grid)), (bias, .outputs),
    ])
  }
}

extension FourierKANLayer: KANEdgeFunctions {
  /// phi_ij(x) = bias_j / in + sum_g a cos(g x) + b sin(g x) (see `KANSeparableEdges`).
  public func edgeValues(
    input i: Int, output j: Int, at x: UnsafePointer<Float>, count n: Int,
    into y: UnsafeMutablePointer<Float>
  ) {
    KANSeparableEdges.values(of: self, input: i, output: j, at: x, count: n, into: y)
  }
}
