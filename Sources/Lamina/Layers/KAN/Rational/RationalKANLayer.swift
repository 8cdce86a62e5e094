/// A group-rational Kolmogorov-Arnold layer (GR-KAN) of the Kolmogorov-Arnold Transformer
/// (X. Yang and X. Wang, "Kolmogorov-Arnold Transformer", 2024; github.com/Adamdad/kat and
/// its kernels github.com/Adamdad/rational_kat_cu): a learned rational activation per group
/// of input channels, then a linear map.
///
///     F_g(x) = P_g(x) / Q_g(x),  P_g(x) = a_0 + a_1 x + ... + a_5 x^5,
///                                Q_g(x) = 1 + |b_1 x + b_2 x^2 + b_3 x^3 + b_4 x^4|
///     y = linear(F(x)),  with F_g applied to every channel of group g
///
/// This is the paper's "safe Padé" form, which is also what KAT's `fit.py` fits its initial
/// coefficients with. KAT's CUDA and Triton kernels compute Q = 1 + sum_j |b_j| |x|^j and its
/// PyTorch CPU fallback 1 + sum_j |b_j| x^j instead (REFERENCES.md); those are different
/// functions of the same coefficients, so weights do not carry over between them and Lamina.
/// Q >= 1 everywhere, so F is finite for every finite x. |s| has no derivative at s = 0; the
/// input gradient takes sign(0) = 0 (PyTorch's abs), but the coefficient gradient takes
/// sign(0) = +1, as KAT's kernel does (copysign): otherwise an identity start (b = 0, so
/// s = 0 everywhere) would give dL/db = 0 forever and the denominator could never train.
///
/// Groups: input channel i belongs to group i / (in / groups) (contiguous blocks, as KAT's
/// kernel indexes them). "groups" must divide the input width; when the spec leaves it out
/// (or gives 0) it is the largest divisor of the input width not above 8 (KAT's default of 8
/// when the width allows, otherwise one rational per channel or per small block: 2 inputs
/// give 2 groups, 12 give 6). A layer's spec records the number used; a "kan" model with one
/// rational basis for all layers keeps 0 in its spec, so every layer picks its own again.
///
/// Tensors: "numerator" [groups, 6] (a_0..a_5), "denominator" [groups, 4] (b_1..b_4),
/// "linear.weight" [out, in], "linear.bias" [out] (with "bias"). KAT's `KAT_Group` shares one
/// numerator across groups ([1, 6]); here each group has its own (as KAT's `KAT_1DGroup`).
///
/// Initialisation ("init"): every group starts as the same function — "identity"
/// (a = (0, 1, 0, 0, 0, 0), b = 0, exact), or KAT's fitted "gelu" or "swish" coefficients
/// (`RationalInit`). The linear map follows KAT's variance-preserving rule: weights from
/// N(0, gain^2 / in) with gain^2 = 1 / E[F(x)^2] for x ~ N(0, 1) (1 for identity, KAT's
/// 2.3567850379928976 for GELU and 2.8178205270359653 for swish), so unit-variance inputs give
/// unit-variance outputs; the bias starts at 0, as in KAT.
public final class RationalKANLayer: Layer, KANBasisLayer {
  /// The function the rationals start as, with coefficients hard-coded from KAT.
  public enum RationalInit: String, CaseIterable, Sendable {
    /// F(x) = x exactly.
    case identity
    /// GELU (erf form): `init.json` key "gelu" of github.com/Adamdad/rational_kat_cu
    /// (`kat_rational/init.json`), a least-squares fit on [-3, 3] in the paper's form; max
    /// error about 3e-3 there (checked by Tests/Reference/rbf_rational_kan_reference.py).
    case gelu
    /// Swish / SiLU: the same file's key "swish"; max error about 1.3e-4 on [-3, 3].
    case swish

    /// a_0..a_5.
    public var numerator: [Double] {
      switch self {
      case .identity: return [0, 1, 0, 0, 0, 0]
      case .gelu:
        return [-0.00153969, 0.51692871, 0.44075827, 0.0972553, -0.00884418, -0.00378675]
      case .swish:
        return [
          3.054879741161051e-07, 0.5000007853744493, 0.24999783422824703, 0.05326628273219478,
          0.005803034571292244, 0.0002751961022402342,
        ]
      }
    }

    /// b_1..b_4.
    public var denominator: [Double] {
      switch self {
      case .identity: return [0, 0, 0, 0]
      case .gelu: return [-0.14171056, -0.06481231, -0.0444695, 0.01283776]
      case .swish:
        return [
          -4.111554955950634e-06, 0.10652899335007572, -1.2690007399796238e-06,
          0.0005502331264140556,
        ]
      }
    }

    /// gain^2 = 1 / E[F(x)^2], x ~ N(0, 1), as KAT's `calculate_gain` gives it.
    public var gainSquared: Double {
      switch self {
      case .identity: return 1
      case .gelu: return 2.3567850379928976
      case .swish: return 2.8178205270359653
      }
    }
  }

  // MARK: - Options

  /// One layer's settings: the basis keys (`Options`) and the output width, everything
  /// but the input width.
  public struct LayerOptions: KANLayerOptions, Sendable {
    /// Output features.
    public var output: Int
    /// Channel groups sharing one rational (spec "groups"); nil picks the largest divisor of
    /// the input width not above 8.
    public var groups: Int?
    /// What the rationals start as (spec "init", default "identity").
    public var initialization: RationalInit
    /// Whether the linear map has a bias (spec "bias", default true).
    public var bias: Bool

    /// Settings with the defaults.
    public init(
      output: Int, groups: Int? = nil, initialization: RationalInit = .identity, bias: Bool = true
    ) {
      self.output = output
      self.groups = groups
      self.initialization = initialization
      self.bias = bias
    }

    /// The number of groups for `input` channels: `groups`, or the default rule.
    public func resolvedGroups(input: Int) -> Int {
      if let groups { return groups }
      return (1...max(1, min(8, input))).last { input % $0 == 0 } ?? 1
    }

    /// Throws `.invalidArgument` naming the spec key at fault (or `.outOfMemory` for the
    /// parameter budget) unless a layer with `input` features can be built from these.
    public func validate(input: Int, what: String = "kan layer") throws {
      guard input >= 1, input <= Limits.maxWidth else {
        throw LaminaError.invalid(
          "\(what): input width \(input) must be between 1 and \(Limits.maxWidth)")
      }
      guard output >= 1, output <= Limits.maxWidth else {
        throw LaminaError.invalid(
          "\(what): \"output\" is \(output); it must be between 1 and \(Limits.maxWidth)")
      }
      let g = resolvedGroups(input: input)
      guard g >= 1, g <= input, input % g == 0 else {
        throw LaminaError.invalid(
          "\(what): \"groups\" is \(g); it must divide the input width \(input)")
      }
      // in, out <= 65536 and groups <= in: (in + 1) * out + 10 * groups cannot overflow.
      guard (input + 1) * output + 10 * g <= Limits.maxParameters else {
        throw LaminaError(
          .outOfMemory, "\(what): the layer would have more than \(Limits.maxParameters) parameters"
        )
      }
    }

    /// The basis keys of these settings (all but the output width; unresolved groups are 0).
    public var basisOptions: RationalKANLayer.Options {
      RationalKANLayer.Options(groups: groups ?? 0, initialization: initialization, bias: bias)
    }
  }

  /// The spec keys of a rational basis, without the widths: what a "kan" model's "basis"
  /// entry (or its keys beside "basis": "rational") gives for every layer.
  public struct Options: Equatable, Sendable, KANLayerOptionsSource {
    /// Channel groups (spec "groups"); 0, the default, picks per layer the largest divisor
    /// of its input width not above 8.
    public var groups: Int
    /// What the rationals start as (spec "init", default "identity").
    public var initialization: RationalInit
    /// Whether the linear map has a bias (spec "bias", default true).
    public var bias: Bool

    /// Options with the defaults.
    public init(groups: Int = 0, initialization: RationalInit = .identity, bias: Bool = true) {
      self.groups = groups
      self.initialization = initialization
      self.bias = bias
    }

    /// The settings of a layer with `output` features.
    public func options(output: Int) -> LayerOptions {
      LayerOptions(
        output: output, groups: groups == 0 ? nil : groups, initialization: initialization,
        bias: bias)
    }

    /// "rational".
    static var basisName: String { "rational" }

    /// Reads "groups" (default 0: per layer), "init" ("identity", "gelu" or "swish"; "silu" is
    /// read as "swish"; default "identity") and "bias" (default true).
    static func parse(_ reader: JSONObjectReader) throws -> Self {
      let groups = try reader.int("groups", default: 0, min: 0, max: Limits.maxWidth)
      let name = try reader.string("init", default: "identity")
      guard let start = RationalKANLayer.RationalInit(rawValue: name == "silu" ? "swish" : name)
      else {
        let known = RationalKANLayer.RationalInit.allCases.map(\.rawValue).joined(separator: ", ")
        throw LaminaError.invalid(
          "\(reader.what): unknown \"init\" \"\(name)\" (known: \(known), silu)")
      }
      return Self(
        groups: groups, initialization: start, bias: try reader.bool("bias", default: true))
    }

    /// "groups" 0 made explicit: the largest divisor of `input` not above 8.
    func resolved(input: Int) -> Self {
      var o = self
      o.groups = options(output: 1).resolvedGroups(input: input)
      return o
    }

    /// The layer's tensors as factor pairs.
    func parameterBudget(input: Int, output: Int) -> [(Int, Int)] {
      [
        (bias ? input + 1 : input, output),
        (10, options(output: output).resolvedGroups(input: input)),
      ]
    }

    /// The basis keys in spec order.
    var specPairs: [(String, JSONValue)] {
      [
        ("groups", .number(Double(groups))), ("init", .string(initialization.rawValue)),
        ("bias", .bool(bias)),
      ]
    }

    /// `RationalKANLayer(input:output:options:rng:)`.
    func makeLayer(input: Int, output: Int, rng: inout RandomSource) throws -> Layer {
      try RationalKANLayer(input: input, output: output, options: self, rng: &rng)
    }
  }

  // MARK: - Construction

  public let inputDim: Int
  public let outputDim: Int
  /// The settings, with `groups` resolved.
  public let options: LayerOptions
  /// Number of groups.
  public let groups: Int
  /// "numerator" [groups, 6].
  public let numerator: Parameter
  /// "denominator" [groups, 4].
  public let denominator: Parameter
  /// "linear.weight" [out, in].
  public let weight: Parameter
  /// "linear.bias" [out], or nil without "bias".
  public let bias: Parameter?
  /// numerator, denominator, linear.weight, linear.bias.
  public let parameters: [Parameter]
  /// Scratch for F(x) and its gradient, reused across calls.
  private let scratch = ScratchPool()
  /// Floats of scratch memory one chunk of rows aims at (4 MB); large batches are processed
  /// in chunks of rows so scratch stays bounded. Tests lower it to exercise chunking.
  var scratchBudget = 1 << 20

  /// A layer of `input` features starting as `options.initialization`, its linear weights
  /// drawn from `rng`. Throws if `options` do not validate.
  public init(input: Int, options: LayerOptions, rng: inout RandomSource) throws {
    try options.validate(input: input)
    let g = options.resolvedGroups(input: input)
    inputDim = input
    outputDim = options.output
    groups = g
    var resolved = options
    resolved.groups = g
    self.options = resolved
    let start = options.initialization
    numerator = Parameter(
      name: "numerator", shape: [g, 6],
      value: (0..<g).flatMap { _ in start.numerator.map { Float($0) } })
    denominator = Parameter(
      name: "denominator", shape: [g, 4],
      value: (0..<g).flatMap { _ in start.denominator.map { Float($0) } })
    let std = (start.gainSquared / Double(input)).squareRoot()
    weight = Parameter(
      name: "linear.weight", shape: [options.output, input],
      value: (0..<(options.output * input)).map { _ in Float(rng.normal() * std) })
    bias =
      options.bias
      ? Parameter(
        name: "linear.bias", shape: [options.output],
        value: [Float](repeating: 0, count: options.output))
      : nil
    parameters = [numerator, denominator, weight, bias].compactMap { $0 }
  }

  /// An `input` -> `output` layer of the basis keys `options`, drawn from `rng` as
  /// `init(input:options:rng:)` with `options.options(output:)`.
  public convenience init(
    input: Int, output: Int, options: Options, rng: inout RandomSource
  ) throws {
    try self.init(input: input, options: options.options(output: output), rng: &rng)
  }

  /// A deep copy of `other`.
  private init(copying other: RationalKANLayer) {
    inputDim = other.inputDim
    outputDim = other.outputDim
    options = other.options
    groups = other.groups
    numerator = other.numerator.copy()
    denominator = other.denominator.copy()
    weight = other.weight.copy()
    bias = other.bias?.copy()
    parameters = [numerator, denominator, weight, bias].compactMap { $0 }
  }

  /// A deep copy with its own parameters and scratch.
  public func copy() -> Layer { RationalKANLayer(copying: self) }

  // MARK: - Layer

  /// `{"type": "kan", "output": O, "basis": "rational", "groups": G, "init": "identity",
  /// "bias": true}`, with the groups actually used.
  public var spec: JSONValue {
    options.basisOptions.layerSpec(input: inputDim, output: outputDim)
  }

  // MARK: - Forward

  /// Rows per chunk so that one chunk's scratch stays near `scratchBudget` floats.
  private func chunkRows(_ n: Int, floatsPerRow: Int) -> Int {
    min(n, max(1, scratchBudget / max(floatsPerRow, 1)))
  }

  /// y = F(x) W^T + b for `n` rows. Reads the layer only.
  public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    guard n > 0 else { return }
    let inp = inputDim
    let out = outputDim
    let rows = chunkRows(n, floatsPerRow: inp)
    scratch.withBuffer(count: rows * inp) { f in
      var start = 0
      while start < n {
        let m = min(rows, n - start)
        rationals(x + start * inp, rows: m, into: f)
        let ys = y + start * out
        if let bias {
          bias.value.withUnsafeBufferPointer { b in
            guard let bp = b.baseAddress else { return }
            for r in 0..<m { (ys + r * out).update(from: bp, count: out) }
          }
        }
        weight.value.withUnsafeBufferPointer { w in
          guard let wp = w.baseAddress else { return }
          BLAS.gemm(
            transA: false, transB: true, m: m, n: out, k: inp, alpha: 1, f, lda: inp, wp, ldb: inp,
            beta: bias == nil ? 0 : 1, ys, ldc: out)
        }
        start += m
      }
    }
  }

  /// f = F(x) elementwise for `m` rows by Horner's rule, a group's coefficients held in
  /// registers while its channels of every row are evaluated.
  private func rationals(
    _ x: UnsafePointer<Float>, rows m: Int, into f: UnsafeMutablePointer<Float>
  ) {
    let inp = inputDim
    let width = inp / groups
    numerator.value.withUnsafeBufferPointer { nb in
      denominator.value.withUnsafeBufferPointer { db in
        guard let a = nb.baseAddress, let b = db.baseAddress else { return }
        for g in 0..<groups {
          let (a0, a1, a2, a3, a4, a5) = (
            a[6 * g], a[6 * g + 1], a[6 * g + 2], a[6 * g + 3], a[6 * g + 4], a[6 * g + 5]
          )
          let (b1, b2, b3, b4) = (b[4 * g], b[4 * g + 1], b[4 * g + 2], b[4 * g + 3])
          for r in 0..<m {
            let row = r * inp + g * width
            for k in row..<(row + width) {
              let v = x[k]
              let p = a0 + v * (a1 + v * (a2 + v * (a3 + v * (a4 + v * a5))))
              let s = v * (b1 + v * (b2 + v * (b3 + v * b4)))
              f[k] = p / (1 + abs(s))
            }
          }
        }
      }
    }
  }

  // MARK: - Backward

  /// Rows whose coefficient-gradient terms are summed per channel in Float before being
  /// added into Double: short runs keep Float's rounding small, Double keeps long batches'.
  static let accumulationBlock = 64

  /// Recomputes F(x), back-propagates `dy` through the linear map and the rationals.
  /// Parameter gradients are added (the rationals' summed in a fixed order, partly in
  /// Double); `dx` is overwritten.
  public func backward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool
  ) {
    guard n > 0, dx != nil || parameterGradients else { return }
    let inp = inputDim
    let out = outputDim
    let rows = chunkRows(n, floatsPerRow: 2 * inp)
    // Double totals (10 per channel), then F and dL/dF (rows * in each).
    scratch.withBuffers(doubles: 10 * inp, floats: 2 * rows * inp) { totals, s in
      let f = s
      let df = f + rows * inp
      totals.update(repeating: 0, count: 10 * inp)
      var start = 0
      while start < n {
        let m = min(rows, n - start)
        let xs = x + start * inp
        let dys = dy + start * out
        if parameterGradients {
          rationals(xs, rows: m, into: f)
          weight.gradient.withUnsafeMutableBufferPointer { g in
            guard let gp = g.baseAddress else { return }
            BLAS.gemm(
              transA: true, transB: false, m: out, n: inp, k: m, alpha: 1, dys, lda: out, f,
              ldb: inp, beta: 1, gp, ldc: inp)
          }
          bias?.gradient.withUnsafeMutableBufferPointer { g in
            guard let gp = g.baseAddress else { return }
            for r in 0..<m {
              let row = dys + r * out
              for j in 0..<out { gp[j] += row[j] }
            }
          }
        }
        weight.value.withUnsafeBufferPointer { w in
          guard let wp = w.baseAddress else { return }
          BLAS.gemm(
            transA: false, transB: false, m: m, n: inp, k: out, alpha: 1, dys, lda: out, wp,
            ldb: inp, beta: 0, df, ldc: inp)
        }
        rationalGradients(xs, df: df, dx: dx.map { $0 + start * inp }, rows: m, totals: totals)
        start += m
      }
      if parameterGradients { addCoefficientGradients(totals) }
    }
  }

  /// Given dL/dF in `df` for `m` rows: dx = dL/dF * F'(x), and adds to `totals` the
  /// per-channel sums of dL/dF * x^k / Q (at k * in + i, k = 0...5) and of
  /// dL/dF * (-P / Q^2) * sign(s) * x^j (at (5 + j) * in + i, j = 1...4), where
  /// s = sum_j b_j x^j and sign(0) = 0. Channel by channel within blocks of rows, so the ten
  /// sums live in registers.
  private func rationalGradients(
    _ x: UnsafePointer<Float>, df: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?,
    rows m: Int, totals: UnsafeMutablePointer<Double>
  ) {
    let inp = inputDim
    let width = inp / groups
    numerator.value.withUnsafeBufferPointer { nb in
      denominator.value.withUnsafeBufferPointer { db in
        guard let a = nb.baseAddress, let b = db.baseAddress else { return }
        var block = 0
        while block < m {
          let end = min(block + RationalKANLayer.accumulationBlock, m)
          for i in 0..<inp {
            let g = i / width
            let (a0, a1, a2, a3, a4, a5) = (
              a[6 * g], a[6 * g + 1], a[6 * g + 2], a[6 * g + 3], a[6 * g + 4], a[6 * g + 5]
            )
            let (b1, b2, b3, b4) = (b[4 * g], b[4 * g + 1], b[4 * g + 2], b[4 * g + 3])
            var (s0, s1, s2, s3, s4, s5): (Float, Float, Float, Float, Float, Float) = (
              0, 0, 0, 0, 0, 0
            )
            var (t1, t2, t3, t4): (Float, Float, Float, Float) = (0, 0, 0, 0)
            for r in block..<end {
              let k = r * inp + i
              let v = x[k]
              let p = a0 + v * (a1 + v * (a2 + v * (a3 + v * (a4 + v * a5))))
              let dp = a1 + v * (2 * a2 + v * (3 * a3 + v * (4 * a4 + v * (5 * a5))))
              let s = v * (b1 + v * (b2 + v * (b3 + v * b4)))
              let ds = b1 + v * (2 * b2 + v * (3 * b3 + v * (4 * b4)))
              let sign: Float = s > 0 ? 1 : (s < 0 ? -1 : 0)
              let invQ = 1 / (1 + abs(s))
              let f = p * invQ
              let grad = df[k]
              // F' = (P' - F * sign(s) * s') / Q.
              dx?[k] = grad * (dp - f * sign * ds) * invQ
              let gq = grad * invQ
              let v2 = v * v
              let v4 = v2 * v2
              s0 += gq
              s1 += gq * v
              s2 += gq * v2
              s3 += gq * v2 * v
              s4 += gq * v4
              s5 += gq * v4 * v
              // Coefficient subgradient with sign(0) = +1 (see the type's doc comment).
              let gb = -gq * f * (s < 0 ? -1 : 1)
              t1 += gb * v
              t2 += gb * v2
              t3 += gb * v2 * v
              t4 += gb * v4
            }
            totals[i] += Double(s0)
            totals[inp + i] += Double(s1)
            totals[2 * inp + i] += Double(s2)
            totals[3 * inp + i] += Double(s3)
            totals[4 * inp + i] += Double(s4)
            totals[5 * inp + i] += Double(s5)
            totals[6 * inp + i] += Double(t1)
            totals[7 * inp + i] += Double(t2)
            totals[8 * inp + i] += Double(t3)
            totals[9 * inp + i] += Double(t4)
          }
          block = end
        }
      }
    }
  }

  /// Sums the per-channel totals over each group's channels (in channel order) and adds them
  /// to the numerator's and denominator's gradients.
  private func addCoefficientGradients(_ totals: UnsafeMutablePointer<Double>) {
    let inp = inputDim
    let width = inp / groups
    numerator.gradient.withUnsafeMutableBufferPointer { na in
      denominator.gradient.withUnsafeMutableBufferPointer { da in
        for g in 0..<groups {
          for k in 0..<10 {
            var sum = 0.0
            for i in (g * width)..<((g + 1) * width) { sum += totals[k * inp + i] }
            if k < 6 { na[6 * g + k] += Float(sum) } else { da[4 * g + k - 6] += Float(sum) }
          }
        }
      }
    }
  }
}

// MARK: - Edge layout and edge curves

extension RationalKANLayer {
  /// "weight" is [out, in]; "bias" is per output.
  func edgeLayouts() throws -> [KANEdgeLayout?] {
    edgeLayouts([(weight, .edges(repeats: 1, outputMajor: true, inner: 1)), (bias, .outputs)])
  }
}

extension RationalKANLayer: KANEdgeFunctions {
  /// phi_ij(x) = W[j, i] F_g(i)(x) + b_j / in (see `KANSeparableEdges`).
  public func edgeValues(
    input i: Int, output j: Int, at x: UnsafePointer<Float>, count n: Int,
    into y: UnsafeMutablePointer<Float>
  ) {
    KANSeparableEdges.values(of: self, input: i, output: j, at: x, count: n, into: y)
  }
}
