#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A Kolmogorov-Arnold layer whose edge functions are Chebyshev series of the squashed
/// input (ChebyKAN, SynodicMonth/ChebyKAN):
///
///     y[j] = sum_i sum_{d=0...D} coef[i, j, d] * T_d(tanh(x[i]))
///
/// `T_d` is evaluated by the three-term recurrence T_0 = 1, T_1 = t,
/// T_{d+1} = 2 t T_d - T_{d-1}, never as cos(d * arccos t): arccos has an infinite
/// derivative at t = +-1, so the trigonometric form gives NaN gradients once tanh saturates
/// (|x| above about 9 in Float). The recurrence and its derivative d T_d / dt = d U_{d-1}(t)
/// are polynomials, finite everywhere; with the sech^2 factor the input gradient goes
/// smoothly to zero as tanh saturates.
///
/// The one tensor, "coef", is [input, output, degree + 1] exactly as ChebyKAN's
/// `cheby_coeffs`, so it moves to and from PyTorch unchanged. It starts at
/// N(0, std^2) with std = 1 / (input * (degree + 1)), ChebyKAN's initialisation. There is no
/// bias (ChebyKAN has none; T_0 = 1 already gives every edge a constant).
///
/// Forward and backward evaluate the basis of a block of rows into scratch memory and
/// contract it with the coefficients in one sgemm, so the cost is
/// about that of a dense layer with 1 + input * degree inputs. tanh and sech^2 are
/// evaluated in Double and rounded once, so they match Float `tanhf` to an ulp.
///
/// Building from a spec is two steps so that a model builder can check sizes before
/// allocating anything: `Options.parse` reads and checks the keys, `parameterCount` gives
/// the size for the model's budget, and `init(input:output:options:rng:)` allocates and
/// draws. `parse` (see `KANSeriesLayer`) does all three for one layer.
public final class ChebyshevKANLayer: Layer, KANSeriesLayer {
  /// The value of the spec's "basis" key for this layer.
  public static let basisName = "chebyshev"
  /// The degrees a spec may ask for.
  public static let degreeRange = 1...64
  /// The degree when the spec gives none.
  public static let defaultDegree = 4

  // MARK: - Options

  /// The basis-specific settings of a spec, parsed and checked before anything is allocated.
  public struct Options: Equatable, Sendable, KANBasisOptions {
    /// Highest polynomial degree D (spec key "degree"); each edge has D + 1 coefficients.
    public var degree: Int

    /// Settings with the spec's defaults.
    public init(degree: Int = ChebyshevKANLayer.defaultDegree) {
      self.degree = degree
    }

    /// "chebyshev".
    static var basisName: String { ChebyshevKANLayer.basisName }

    /// Reads this basis's keys from a layer or model spec object: "degree" (default 4,
    /// 1...64). It reads nothing else: the caller reads "type", "output", "basis" (or a KAN
    /// model's "widths") and calls `finish()`, so unknown keys are still refused.
    static func parse(_ reader: JSONObjectReader) throws -> Self {
      Options(
        degree: try reader.int(
          "degree", default: ChebyshevKANLayer.defaultDegree,
          min: ChebyshevKANLayer.degreeRange.lowerBound,
          max: ChebyshevKANLayer.degreeRange.upperBound))
    }

    /// See `ChebyshevKANLayer.validate`.
    func validate(input: Int, output: Int, what: String) throws {
      try ChebyshevKANLayer.validate(input: input, output: output, options: self, what: what)
    }

    /// in x out x (degree + 1) coefficients.
    func parameterBudget(input: Int, output: Int) -> [(Int, Int)] {
      [(input, output * (degree + 1))]
    }

    /// "degree".
    var specPairs: [(String, JSONValue)] { [("degree", .number(Double(degree)))] }

    /// `ChebyshevKANLayer(input:output:options:rng:)`.
    func makeLayer(input: Int, output: Int, rng: inout RandomSource) throws -> Layer {
      try ChebyshevKANLayer(input: input, output: output, options: self, rng: &rng)
    }
  }

  /// Features per input row.
  public let inputDim: Int
  /// Features per output row.
  public let outputDim: Int
  /// Highest polynomial degree D.
  public let degree: Int
  /// "coef", [inputDim, outputDim, degree + 1].
  public let coefficients: Parameter
  /// Per-call scratch (reordered coefficients, basis values, work arrays), reused across
  /// calls.
  private let scratch = ScratchPool()

  // MARK: - Construction

  /// Scalars a layer of these sizes would hold (exact: no overflow for widths up to
  /// `Limits.maxWidth`), for checking a model's budget before allocating.
  public static func parameterCount(input: Int, output: Int, options: Options) -> Int {
    input * output * (options.degree + 1)
  }

  /// An `input` -> `output` layer of the given degree, its coefficients drawn from `rng`
  /// (N(0, 1 / (input * (degree + 1))^2), in the tensor's row-major order).
  /// Throws `.invalidArgument` for sizes outside 1...`Limits.maxWidth` or a degree outside
  /// `degreeRange`, `.outOfMemory` when the layer is over `Limits.maxParameters`.
  public convenience init(
    input: Int, output: Int, degree: Int = ChebyshevKANLayer.defaultDegree,
    rng: inout RandomSource
  ) throws {
    try self.init(input: input, output: output, options: Options(degree: degree), rng: &rng)
  }

  /// An `input` -> `output` layer with `options`, coefficients drawn from `rng`.
  public init(input: Int, output: Int, options: Options, rng: inout RandomSource) throws {
    try ChebyshevKANLayer.validate(input: input, output: output, options: options)
    inputDim = input
    outputDim = output
    degree = options.degree
    let count = ChebyshevKANLayer.parameterCount(input: input, output: output, options: options)
    let std = 1 / (Double(input) * Double(options.degree + 1))
    var values = [Float](repeating: 0, count: count)
    for i in values.indices { values[i] = Float(rng.normal() * std) }
    coefficients = Parameter(
      name: "coef", shape: [input, output, options.degree + 1], value: values)
  }

  /// Shares nothing with `other`.
  private init(copying other: ChebyshevKANLayer) {
    inputDim = other.inputDim
    outputDim = other.outputDim
    degree = other.degree
    coefficients = other.coefficients.copy()
  }

  /// Throws unless a layer of these sizes and options can be built (see the initialisers).
  static func validate(
    input: Int, output: Int, options: Options, what: String = "kan layer"
  ) throws {
    try checkShape(
      input: input, output: output, key: "degree", value: options.degree, range: degreeRange,
      what: what)
    guard parameterCount(input: input, output: output, options: options) <= Limits.maxParameters
    else {
      throw LaminaError(
        .outOfMemory,
        "\(what): \(input) x \(output) x \(options.degree + 1) coefficients are over the "
          + "limit of \(Limits.maxParameters) parameters")
    }
  }

  // MARK: - Layer

  /// The one trainable tensor, "coef".
  public var parameters: [Parameter] { [coefficients] }

  /// `{"type": "kan", "output": O, "basis": "chebyshev", "degree": D}`.
  public var spec: JSONValue {
    Options(degree: degree).layerSpec(input: inputDim, output: outputDim)
  }

  /// A deep copy with its own coefficients.
  public func copy() -> Layer { ChebyshevKANLayer(copying: self) }

  // MARK: - Forward
  //
  // A basis row holds [1 | T_1(t_i) for every i | T_2(t_i) ... | T_D(t_i)]: degree-major,
  // so the recurrence runs over contiguous inputs (vectorised, no dependency chain), and
  // T_0 = 1 appears once per row instead of once per input (its coefficients are summed
  // over inputs in W's first row), which saves 1 / (D + 1) of the sgemm work.

  /// Basis values per row: 1 + input * degree.
  var basisWidth: Int { 1 + inputDim * degree }

  /// Writes the (1 + input * degree) x output matrix W that basis rows multiply:
  /// W[0, j] = sum_i coef[i, j, 0], W[1 + (d - 1) * input + i, j] = coef[i, j, d].
  private func weightMatrix(into w: UnsafeMutablePointer<Float>) {
    let (inp, out, terms) = (inputDim, outputDim, degree + 1)
    coefficients.value.withUnsafeBufferPointer { cb in
      guard let c = cb.baseAddress else { return }
      w.update(repeating: 0, count: out)
      for i in 0..<inp {
        for j in 0..<out {
          let src = c + (i * out + j) * terms
          w[j] += src[0]
          for d in 1..<terms { w[(1 + (d - 1) * inp + i) * out + j] = src[d] }
        }
      }
    }
  }

  /// Adds the gradient of W (laid out as `weightMatrix`) into coef's gradient.
  private func addWeightGradient(_ gw: UnsafePointer<Float>) {
    let (inp, out, terms) = (inputDim, outputDim, degree + 1)
    coefficients.gradient.withUnsafeMutableBufferPointer { gb in
      guard let grad = gb.baseAddress else { return }
      for i in 0..<inp {
        for j in 0..<out {
          let dst = grad + (i * out + j) * terms
          dst[0] += gw[j]
          for d in 1..<terms { dst[d] += gw[(1 + (d - 1) * inp + i) * out + j] }
        }
      }
    }
  }

  /// Basis rows (see above) for `m` rows of `x`.
  private func fillBasis(
    _ x: UnsafePointer<Float>, rows m: Int, into basis: UnsafeMutablePointer<Float>
  ) {
    let (inp, top, k) = (inputDim, degree, basisWidth)
    for r in 0..<m {
      let xr = x + r * inp
      let row = basis + r * k
      row[0] = 1
      let t = row + 1
      for i in 0..<inp { t[i] = Float(squashed(xr[i]).tanh) }
      if top >= 2 {
        let t2 = t + inp
        for i in 0..<inp { t2[i] = 2 * t[i] * t[i] - 1 }
      }
      var d = 3
      while d <= top {
        let current = t + (d - 1) * inp
        let previous = current - inp
        let before = previous - inp
        for i in 0..<inp { current[i] = 2 * t[i] * previous[i] - before[i] }
        d += 1
      }
    }
  }

  /// y = basis(x) W for `n` rows, in blocks of rows. Reads the layer only.
  public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    guard n > 0 else { return }
    let (inp, out, k) = (inputDim, outputDim, basisWidth)
    let rows = blockRows(n)
    scratch.withBuffer(count: k * out + rows * k) { s in
      let w = s
      let basis = s + k * out
      weightMatrix(into: w)
      var start = 0
      while start < n {
        let m = min(rows, n - start)
        fillBasis(x + start * inp, rows: m, into: basis)
        BLAS.gemm(
          transA: false, transB: false, m: m, n: out, k: k, alpha: 1, basis, lda: k, w,
          ldb: out, beta: 0, y + start * out, ldc: out)
        start += m
      }
    }
  }

  // MARK: - Backward

  /// dcoef[i, j, d] += sum_r T_d(t[r, i]) dy[r, j]; dx[r, i] = sech^2(x[r, i]) *
  /// sum_j dy[r, j] sum_{d>=1} coef[i, j, d] d U_{d-1}(t[r, i]), with t = tanh(x).
  public func backward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool
  ) {
    guard n > 0, parameterGradients || dx != nil else { return }
    let (inp, out, k, top) = (inputDim, outputDim, basisWidth, degree)
    let rows = blockRows(n)
    // Layout: [W | dW | basis block | dbasis block | work for one row (t, sech^2,
    // U_{d-2}, U_{d-1})], the parts this call does not need left out.
    let wCount = dx != nil ? k * out : 0
    let gwCount = parameterGradients ? k * out : 0
    let basisCount = parameterGradients ? rows * k : 0
    let dBasisCount = dx != nil ? rows * k : 0
    let workCount = dx != nil ? 4 * inp : 0
    scratch.withBuffer(count: wCount + gwCount + basisCount + dBasisCount + workCount) { s in
      let w = s
      let gw = w + wCount
      let basis = gw + gwCount
      let dBasis = basis + basisCount
      let work = dBasis + dBasisCount
      if dx != nil { weightMatrix(into: w) }
      var start = 0
      while start < n {
        let m = min(rows, n - start)
        let xs = x + start * inp
        let dys = dy + start * out
        if parameterGradients {
          fillBasis(xs, rows: m, into: basis)
          BLAS.gemm(
            transA: true, transB: false, m: k, n: out, k: m, alpha: 1, basis, lda: k, dys,
            ldb: out, beta: start == 0 ? 0 : 1, gw, ldc: out)
        }
        if let dx {
          BLAS.gemm(
            transA: false, transB: true, m: m, n: k, k: out, alpha: 1, dys, lda: out, w,
            ldb: out, beta: 0, dBasis, ldc: k)
          let dxs = dx + start * inp
          for r in 0..<m {
            let xr = xs + r * inp
            let dxr = dxs + r * inp
            let g = dBasis + r * k + 1
            let t = work
            let sech2 = t + inp
            let uPrevious = sech2 + inp
            let u = uPrevious + inp
            for i in 0..<inp {
              let v = squashed(xr[i])
              t[i] = Float(v.tanh)
              sech2[i] = Float(v.sech2)
              // d T_d / dt = d U_{d-1}(t); U_{-1} = 0, U_0 = 1, U_{d+1} = 2t U_d - U_{d-1}.
              uPrevious[i] = 0
              u[i] = 1
              dxr[i] = 0
            }
            for d in 1...top {
              let gd = g + (d - 1) * inp
              let factor = Float(d)
              for i in 0..<inp {
                dxr[i] += gd[i] * factor * u[i]
                let next = 2 * t[i] * u[i] - uPrevious[i]
                uPrevious[i] = u[i]
                u[i] = next
              }
            }
            for i in 0..<inp { dxr[i] *= sech2[i] }
          }
        }
        start += m
      }
      if parameterGradients { addWeightGradient(gw) }
    }
  }
}

/// tanh(x) and its derivative sech^2(x) = 1 - tanh^2(x), in Double, from one exponential
/// e = exp(-2|x|): tanh = (1 - e) / (1 + e), sech^2 = 4e / (1 + e)^2. Below |x| = 0.01,
/// where 1 - e would cancel, tanh is its Taylor series to x^7. Both are within 1e-10
/// relative, so once rounded to Float they match Float `tanhf` to an ulp, at a fraction of
/// its cost (no call; the loops over inputs vectorise). sech^2 keeps its relative accuracy
/// where tanh saturates: it is not 1 - t^2 of a rounded t, which is 0 from |x| of 9 on.
@inline(__always)
private func squashed(_ x: Float) -> (tanh: Double, sech2: Double) {
  let v = Double(x)
  let a = abs(v)
  let e = exponential(ofNonPositive: -2 * a)
  let inverse = 1 / (1 + e)
  let z = v * v
  let small = a * (1 + z * (-1.0 / 3 + z * (2.0 / 15 + z * (-17.0 / 315))))
  let t = a < 0.01 ? small : (1 - e) * inverse
  return (v < 0 ? -t : t, 4 * e * inverse * inverse)
}

/// exp(y) for y <= 0 (NaN stays NaN), within 1e-12 relative, branch-free so that loops
/// calling it vectorise: y = n ln 2 + r with |r| <= ln 2 / 2 (Cody-Waite, two-part ln 2),
/// exp(r) by its Taylor series to r^9, and 2^n built in the exponent bits. Below -700 it
/// returns exp(-700) (about 1e-304), which is 0 for every Float use here.
@inline(__always)
private func exponential(ofNonPositive y: Double) -> Double {
  let clamped = y < -700 ? -700 : y
  // Adding 1.5 * 2^52 rounds to an integer, which then sits in the low mantissa bits.
  let shifter = 0x1.8p52
  let shifted = clamped * 1.442_695_040_888_963_4 + shifter
  let n = shifted - shifter
  let r = (clamped - n * 6.931_471_803_691_238_164_90e-01) - n * 1.908_214_929_270_587_700_02e-10
  let p =
    1 + r
    * (1 + r
      * (1.0 / 2 + r
        * (1.0 / 6 + r
          * (1.0 / 24 + r
            * (1.0 / 120 + r
              * (1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362_880)))))))))
  let scale = Double(bitPattern: (shifted.bitPattern &+ 1023) << 52)
  return p * scale
}

// MARK: - Edge layout and edge curves

extension ChebyshevKANLayer {
  /// "coef" is [in, out, degree + 1].
  func edgeLayouts() throws -> [KANEdgeLayout?] {
    edgeLayouts([(coefficients, .edges(repeats: 1, outputMajor: false, inner: degree + 1))])
  }
}

extension ChebyshevKANLayer: KANEdgeFunctions {
  /// phi_ij(x) = sum_d coef[i, j, d] T_d(tanh x) (see `KANSeparableEdges`).
  public func edgeValues(
    input i: Int, output j: Int, at x: UnsafePointer<Float>, count n: Int,
    into y: UnsafeMutablePointer<Float>
  ) {
    KANSeparableEdges.values(of: self, input: i, output: j, at: x, count: n, into: y)
  }
}
