#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One elementwise activation function with its hyper-parameters, as PyTorch defines it.
///
/// Hyper-parameters are kept as the `Double`s the spec gave, so a spec written back out reads
/// exactly as it was written (`0.01`, not `0.009999999776`); kernels round them to `Float`.
/// Every kernel matches the PyTorch module of the same name to Float rounding, including the
/// derivative PyTorch uses at kinks (relu'(0) = 0, elu'(0) = alpha, hardtanh' = 0 at its
/// bounds, hardswish'(-3) = 0 and (3) = 1), so gradients agree. Where PyTorch loses digits
/// (GELU's far negative tail, tanh' and sigmoid' from the rounded output) Lamina uses forms
/// that stay accurate. Values and derivatives are finite for every finite input, except that
/// SELU overflows to inf near Float's largest values and sine needs omega_0 * x finite.
public enum Activation: Equatable, Sendable {
  /// y = x.
  case identity
  /// y = max(x, 0).
  case relu
  /// y = x for x > 0, `negativeSlope` * x otherwise (torch.nn.LeakyReLU; default 0.01).
  case leakyReLU(negativeSlope: Double)
  /// Leaky ReLU whose slope is learned: one scalar shared by every feature, as
  /// torch.nn.PReLU() with its default num_parameters=1. `initialSlope` (default 0.25) is
  /// where training starts; the current slope lives in the layer's "weight" parameter.
  case prelu(initialSlope: Double)
  /// y = x for x > 0, `alpha` * (exp(x) - 1) otherwise (torch.nn.ELU; default 1).
  case elu(alpha: Double)
  /// Scaled ELU with PyTorch's fixed constants `Activation.seluAlpha` and `.seluScale`.
  case selu
  /// y = max(0, x) + min(0, `alpha` * (exp(x / alpha) - 1)) (torch.nn.CELU; default 1).
  case celu(alpha: Double)
  /// y = x * Phi(x), with Phi the normal CDF, exact (erf) or by the tanh approximation.
  case gelu(approximate: GELUApproximation)
  /// y = x * sigmoid(x) (also known as swish).
  case silu
  /// y = x * tanh(softplus(x)).
  case mish
  /// y = log(1 + exp(`beta` * x)) / beta, or x where beta * x > `threshold`
  /// (torch.nn.Softplus; defaults 1 and 20).
  case softplus(beta: Double, threshold: Double)
  /// y = tanh(x).
  case tanh
  /// y = 1 / (1 + exp(-x)).
  case sigmoid
  /// y = x clamped to [`minVal`, `maxVal`] (torch.nn.Hardtanh; defaults -1 and 1).
  case hardtanh(minVal: Double, maxVal: Double)
  /// y = clamp(x / 6 + 1/2, 0, 1).
  case hardsigmoid
  /// y = x * hardsigmoid(x) = x * clamp(x + 3, 0, 6) / 6.
  case hardswish
  /// y = x / (1 + |x|).
  case softsign
  /// y = sin(`omega0` * x), the SIREN activation (default omega_0 = 30). omega_0 * x is
  /// rounded to Float before the sine, as torch.sin(30 * x) does.
  case sine(omega0: Double)

  /// How GELU evaluates the normal CDF, named as PyTorch's `approximate` argument.
  public enum GELUApproximation: String, Equatable, Sendable, CaseIterable {
    /// The exact form, with erf (PyTorch's approximate="none").
    case erf = "none"
    /// 0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))) (PyTorch's approximate="tanh").
    case tanh = "tanh"
  }

  /// SELU's alpha, as torch.nn.SELU.
  public static let seluAlpha = 1.6732632423543772848170429916717
  /// SELU's scale, as torch.nn.SELU.
  public static let seluScale = 1.0507009873554804934193349852946

  /// Every activation name `parse` accepts, canonical names first, then aliases.
  public static let knownNames = [
    "identity", "relu", "leaky_relu", "prelu", "elu", "selu", "celu", "gelu", "silu", "mish",
    "softplus", "tanh", "sigmoid", "hardtanh", "hardsigmoid", "hardswish", "softsign", "sine",
    "swish",
  ]

  /// Largest magnitude accepted for any hyper-parameter. Far beyond any useful setting, and
  /// it keeps every value (and its reciprocal, for the positive ones) a normal `Float`.
  public static let maxHyperParameter = 1e6
  /// Smallest value accepted for a hyper-parameter that must be positive (a divisor or a
  /// frequency), so that its `Float` reciprocal stays finite.
  public static let minPositiveHyperParameter = 1e-6

  /// The canonical name, as written in specs ("leaky_relu", "silu", ...).
  public var name: String {
    switch self {
    case .identity: return "identity"
    case .relu: return "relu"
    case .leakyReLU: return "leaky_relu"
    case .prelu: return "prelu"
    case .elu: return "elu"
    case .selu: return "selu"
    case .celu: return "celu"
    case .gelu: return "gelu"
    case .silu: return "silu"
    case .mish: return "mish"
    case .softplus: return "softplus"
    case .tanh: return "tanh"
    case .sigmoid: return "sigmoid"
    case .hardtanh: return "hardtanh"
    case .hardsigmoid: return "hardsigmoid"
    case .hardswish: return "hardswish"
    case .softsign: return "softsign"
    case .sine: return "sine"
    }
  }

  /// Whether the activation has a trainable parameter (only PReLU's slope).
  public var isLearnable: Bool {
    if case .prelu = self { return true }
    return false
  }

  /// The hyper-parameters as spec key-value pairs, in documentation order ([] for none).
  public var parameterPairs: [(String, JSONValue)] {
    switch self {
    case .identity, .relu, .selu, .silu, .mish, .tanh, .sigmoid, .hardsigmoid, .hardswish,
      .softsign:
      return []
    case .leakyReLU(let slope): return [("negative_slope", .number(slope))]
    case .prelu(let initial): return [("init", .number(initial))]
    case .elu(let alpha), .celu(let alpha): return [("alpha", .number(alpha))]
    case .gelu(let approximate): return [("approximate", .string(approximate.rawValue))]
    case .softplus(let beta, let threshold):
      return [("beta", .number(beta)), ("threshold", .number(threshold))]
    case .hardtanh(let low, let high):
      return [("min_val", .number(low)), ("max_val", .number(high))]
    case .sine(let omega): return [("omega_0", .number(omega))]
    }
  }

  /// The full object form, every parameter filled in, e.g.
  /// `{"name": "leaky_relu", "negative_slope": 0.01}`. `parse` reads it back unchanged.
  public var spec: JSONValue {
    .object([("name", .string(name))] + parameterPairs)
  }

  /// Reads an activation from a name (`"relu"`) or an object (`{"name": "elu", "alpha": 0.5}`),
  /// filling in PyTorch's defaults. `what` names the value in error messages
  /// ("hidden activation", "layer 3", ...).
  ///
  /// Ranges: every hyper-parameter within +-`maxHyperParameter`; elu alpha >= 0; celu alpha,
  /// softplus beta and threshold, and sine omega_0 >= `minPositiveHyperParameter`; hardtanh
  /// min_val < max_val; gelu approximate "none" or "tanh". A null value means the default.
  ///
  /// - Throws: `LaminaError` with code `.invalidArgument` for an unknown name, an unknown
  ///   key, a value of the wrong type or out of range.
  public static func parse(_ value: JSONValue, what: String) throws -> Activation {
    switch value {
    case .string(let name):
      // The short form is exactly the object form with no parameters given.
      return try parse(from: JSONObjectReader(.object([("name", .string(name))]), what: what))
    case .object:
      let reader = try JSONObjectReader(value, what: what)
      let activation = try parse(from: reader)
      try reader.finish()
      return activation
    default:
      throw LaminaError.invalid(
        "\(what) must be an activation name or an object with a \"name\", not \(value.typeName)")
    }
  }

  /// Reads "name" and the hyper-parameter keys of that activation from `reader`, without
  /// checking for unknown keys, so that a caller sharing the object (a sequential layer's
  /// `{"type": "activation", "name": ...}`) can read its own keys and then call `finish()`.
  static func parse(from reader: JSONObjectReader) throws -> Activation {
    let what = reader.what
    let name = try reader.string("name")
    let limit = maxHyperParameter
    let tiny = minPositiveHyperParameter
    switch name {
    case "identity": return .identity
    case "relu": return .relu
    case "leaky_relu":
      return .leakyReLU(
        negativeSlope: try reader.double("negative_slope", default: 0.01, min: -limit, max: limit))
    case "prelu":
      return .prelu(initialSlope: try reader.double("init", default: 0.25, min: -limit, max: limit))
    case "elu":
      // alpha = 0 is plain ReLU; a negative alpha would make ELU non-monotone.
      return .elu(alpha: try reader.double("alpha", default: 1, min: 0, max: limit))
    case "selu": return .selu
    case "celu":
      // CELU divides by alpha (PyTorch rejects 0 too).
      return .celu(alpha: try reader.double("alpha", default: 1, min: tiny, max: limit))
    case "gelu":
      let text = try reader.string("approximate", default: "none")
      guard let approximate = GELUApproximation(rawValue: text) else {
        throw LaminaError.invalid(
          "\(what): gelu \"approximate\" is \"\(text)\"; it must be \"none\" or \"tanh\"")
      }
      return .gelu(approximate: approximate)
    case "silu", "swish": return .silu
    case "mish": return .mish
    case "softplus":
      let beta = try reader.double("beta", default: 1, min: tiny, max: limit)
      let threshold = try reader.double("threshold", default: 20, min: tiny, max: limit)
      return .softplus(beta: beta, threshold: threshold)
    case "tanh": return .tanh
    case "sigmoid": return .sigmoid
    case "hardtanh":
      let low = try reader.double("min_val", default: -1, min: -limit, max: limit)
      let high = try reader.double("max_val", default: 1, min: -limit, max: limit)
      guard low < high else {
        throw LaminaError.invalid(
          "\(what): hardtanh \"min_val\" (\(low)) must be less than \"max_val\" (\(high))")
      }
      return .hardtanh(minVal: low, maxVal: high)
    case "hardsigmoid": return .hardsigmoid
    case "hardswish": return .hardswish
    case "softsign": return .softsign
    case "sine":
      return .sine(omega0: try reader.double("omega_0", default: 30, min: tiny, max: limit))
    default:
      throw LaminaError.invalid(
        "\(what): unknown activation \"\(name)\" (known: \(knownNames.joined(separator: ", ")))")
    }
  }
}

// MARK: - Kernels

/// log(1 + exp(z)) without overflow for any finite z (and exactly z for z beyond ~1e8).
@inline(__always)
func softplusStable(_ z: Float) -> Float {
  max(z, 0) + log1pf(expf(-abs(z)))
}

/// 1 / (1 + exp(-z)) without overflow: exp is only ever taken of a non-positive number.
@inline(__always)
private func sigmoidStable(_ z: Float) -> Float {
  if z >= 0 { return 1 / (1 + expf(-z)) }
  let e = expf(z)
  return e / (1 + e)
}

/// (sigmoid(z), 1 - sigmoid(z)) from one exp of a non-positive number, so that the smaller
/// of the two keeps its relative accuracy where the larger has rounded to 1.
@inline(__always)
func sigmoidPair(_ z: Float) -> (Float, Float) {
  let e = expf(-abs(z))
  let d = 1 + e
  return z >= 0 ? (1 / d, e / d) : (e / d, 1 / d)
}

/// sigmoid'(z) = sigmoid(z) (1 - sigmoid(z)) = e / (1 + e)^2 with e = exp(-|z|): accurate in
/// the tails, where y (1 - y) from a rounded y would be 0 or lose most digits.
@inline(__always)
private func sigmoidDerivative(_ z: Float) -> Float {
  let e = expf(-abs(z))
  let d = 1 + e
  return e / d / d
}

/// sech^2(s) = 1 - tanh^2(s) = 4e / (1 + e)^2 with e = exp(-2|s|), accurate where tanh(s) has
/// already rounded to +-1 (1 - y^2 from the rounded output loses digits from |s| ~ 2 on).
@inline(__always)
func sechSquared(_ s: Float) -> Float {
  let e = expf(-2 * abs(s))
  let d = 1 + e
  return 4 * e / d / d
}

/// sqrt(2 / pi), GELU's tanh-approximation factor.
let geluTanhBeta: Float = 0.797_884_560_802_865_4
/// GELU's tanh-approximation cubic coefficient.
let geluTanhKappa: Float = 0.044715
/// 1 / sqrt(2), to turn erf into the normal CDF.
let inverseSqrt2: Float = 0.707_106_781_186_547_5
/// 1 / sqrt(2 pi), the normal density's constant.
let inverseSqrt2Pi: Float = 0.398_942_280_401_432_7
/// Beyond this |x|, GELU-tanh's correction term x * sigmoid'(2u) * du/dx is below 1e-300, and
/// computing it would form inf * 0.
let geluTanhSaturation: Float = 20

extension Activation {
  /// Writes y = f(x) for `count` elements. `slope` is PReLU's current slope (the layer's
  /// parameter); it is ignored by every other activation. `y` may be `x` (in place).
  func forward(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, slope: Float = 0
  ) {
    switch self {
    case .identity:
      if UnsafePointer(y) != x { y.update(from: x, count: count) }
    case .relu:
      Activation.reluForward(x, y, count: count)
    case .leakyReLU(let negativeSlope):
      let a = Float(negativeSlope)
      for i in 0..<count { y[i] = x[i] > 0 ? x[i] : a * x[i] }
    case .prelu:
      for i in 0..<count { y[i] = x[i] > 0 ? x[i] : slope * x[i] }
    case .elu(let alpha):
      let a = Float(alpha)
      for i in 0..<count { y[i] = x[i] > 0 ? x[i] : a * expm1f(x[i]) }
    case .selu:
      let scale = Float(Activation.seluScale)
      let scaledAlpha = Float(Activation.seluScale * Activation.seluAlpha)
      for i in 0..<count { y[i] = x[i] > 0 ? scale * x[i] : scaledAlpha * expm1f(x[i]) }
    case .celu(let alpha):
      let a = Float(alpha)
      let inverse = Float(1 / alpha)
      for i in 0..<count { y[i] = x[i] > 0 ? x[i] : a * expm1f(x[i] * inverse) }
    case .gelu(.erf):
      // erfc keeps the far negative tail accurate where 1 + erf(...) would cancel.
      for i in 0..<count { y[i] = 0.5 * x[i] * erfcf(-x[i] * inverseSqrt2) }
    case .gelu(.tanh):
      // 0.5 * (1 + tanh(u)) == sigmoid(2u), which neither cancels nor overflows.
      for i in 0..<count {
        let v = x[i]
        let u = geluTanhBeta * (v + geluTanhKappa * v * v * v)
        y[i] = v * sigmoidStable(2 * u)
      }
    case .silu:
      for i in 0..<count { y[i] = x[i] * sigmoidStable(x[i]) }
    case .mish:
      for i in 0..<count { y[i] = x[i] * tanhf(softplusStable(x[i])) }
    case .softplus(let beta, let threshold):
      Activation.softplusForward(x, y, count: count, beta: Float(beta), threshold: Float(threshold))
    case .tanh:
      for i in 0..<count { y[i] = tanhf(x[i]) }
    case .sigmoid:
      for i in 0..<count { y[i] = sigmoidStable(x[i]) }
    case .hardtanh(let minVal, let maxVal):
      let low = Float(minVal)
      let high = Float(maxVal)
      for i in 0..<count { y[i] = min(max(x[i], low), high) }
    case .hardsigmoid:
      for i in 0..<count { y[i] = min(max(x[i] + 3, 0), 6) / 6 }
    case .hardswish:
      // Dividing the clamp first keeps x * 6 from overflowing near Float's largest values.
      for i in 0..<count { y[i] = x[i] * (min(max(x[i] + 3, 0), 6) / 6) }
    case .softsign:
      for i in 0..<count { y[i] = x[i] / (1 + abs(x[i])) }
    case .sine(let omega0):
      let w = Float(omega0)
      for i in 0..<count { y[i] = sinf(w * x[i]) }
    }
  }

  /// Writes dx = f'(x) * dy for `count` elements (`dx` may be `dy`: each element is read
  /// before it is written). Every derivative is computed from `x`, which is more accurate in
  /// the tails than from the rounded output; `y` is taken so callers need not care which.
  /// `slope` is PReLU's current slope. Returns d(loss)/d(slope) = sum(dy * x where x <= 0)
  /// for PReLU, 0 for the rest; pass `dx: nil` to compute only that.
  @discardableResult
  func backward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count: Int, slope: Float = 0
  ) -> Double {
    if case .prelu = self {
      // Double, so that a large batch's sum keeps Float precision.
      var slopeGradient = 0.0
      for i in 0..<count where !(x[i] > 0) { slopeGradient += Double(dy[i]) * Double(x[i]) }
      if let dx {
        for i in 0..<count { dx[i] = x[i] > 0 ? dy[i] : slope * dy[i] }
      }
      return slopeGradient
    }
    guard let dx else { return 0 }
    switch self {
    case .identity, .prelu:
      if UnsafePointer(dx) != dy { dx.update(from: dy, count: count) }
    case .relu:
      Activation.scaleWhereNotPositive(x, dy, dx, count: count, by: 0)
    case .leakyReLU(let negativeSlope):
      Activation.scaleWhereNotPositive(x, dy, dx, count: count, by: Float(negativeSlope))
    case .elu(let alpha):
      let a = Float(alpha)
      for i in 0..<count { dx[i] = x[i] > 0 ? dy[i] : a * expf(x[i]) * dy[i] }
    case .selu:
      let scale = Float(Activation.seluScale)
      let scaledAlpha = Float(Activation.seluScale * Activation.seluAlpha)
      for i in 0..<count { dx[i] = x[i] > 0 ? scale * dy[i] : scaledAlpha * expf(x[i]) * dy[i] }
    case .celu(let alpha):
      let inverse = Float(1 / alpha)
      for i in 0..<count { dx[i] = x[i] > 0 ? dy[i] : expf(x[i] * inverse) * dy[i] }
    case .gelu(.erf):
      for i in 0..<count {
        let v = x[i]
        // Phi(x) + x * phi(x); for huge |x|, v * v is inf and exp gives 0, never inf * 0.
        let cdf = 0.5 * erfcf(-v * inverseSqrt2)
        let density = inverseSqrt2Pi * expf(-0.5 * v * v)
        dx[i] = (cdf + v * density) * dy[i]
      }
    case .gelu(.tanh):
      for i in 0..<count {
        let v = x[i]
        let u = geluTanhBeta * (v + geluTanhKappa * v * v * v)
        let (s, complement) = sigmoidPair(2 * u)
        var derivative = s
        if abs(v) < geluTanhSaturation {
          let du = geluTanhBeta * (1 + 3 * geluTanhKappa * v * v)
          derivative += v * 2 * s * complement * du
        }
        dx[i] = derivative * dy[i]
      }
    case .silu:
      for i in 0..<count {
        let (s, complement) = sigmoidPair(x[i])
        // s + x s (1 - s); at x = -1e30, s is 0 and the product stays finite.
        dx[i] = s * (1 + x[i] * complement) * dy[i]
      }
    case .mish:
      for i in 0..<count {
        let v = x[i]
        let sp = softplusStable(v)
        // d/dx x tanh(sp(x)) = tanh(sp) + x sech^2(sp) sigmoid(x).
        dx[i] = (tanhf(sp) + v * sechSquared(sp) * sigmoidStable(v)) * dy[i]
      }
    case .softplus(let beta, let threshold):
      Activation.softplusBackward(
        x, dy, dx, count: count, beta: Float(beta), threshold: Float(threshold))
    case .tanh:
      // From x rather than PyTorch's 1 - y^2: one exp buys full accuracy in the tails.
      for i in 0..<count { dx[i] = sechSquared(x[i]) * dy[i] }
    case .sigmoid:
      for i in 0..<count { dx[i] = sigmoidDerivative(x[i]) * dy[i] }
    case .hardtanh(let minVal, let maxVal):
      let low = Float(minVal)
      let high = Float(maxVal)
      // Zero at the bounds themselves, as PyTorch's hardtanh_backward.
      for i in 0..<count { dx[i] = x[i] > low && x[i] < high ? dy[i] : 0 }
    case .hardsigmoid:
      for i in 0..<count { dx[i] = x[i] > -3 && x[i] < 3 ? dy[i] / 6 : 0 }
    case .hardswish:
      // PyTorch's branches: 0 up to -3, x/3 + 1/2 inside, 1 from 3 on.
      for i in 0..<count {
        let v = x[i]
        dx[i] = v <= -3 ? 0 : (v < 3 ? (v / 3 + 0.5) * dy[i] : dy[i])
      }
    case .softsign:
      for i in 0..<count {
        let d = 1 + abs(x[i])
        // Divide twice rather than by d * d, which overflows for |x| > 1.8e19.
        dx[i] = dy[i] / d / d
      }
    case .sine(let omega0):
      let w = Float(omega0)
      for i in 0..<count { dx[i] = w * cosf(w * x[i]) * dy[i] }
    }
    return 0
  }
}

extension Activation {
  /// y = max(x, 0), eight lanes at a time. A NaN stays NaN (as in PyTorch), so a diverged
  /// network shows as non-finite; -0 gives +0, as `max` does. The scalar loop did not
  /// vectorise (`max` is a branch on NaN-ordered compares) and cost about 1 ns per element,
  /// a tenth of a one-sample 3-64-64-1 prediction.
  @inline(__always)
  static func reluForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    let zero = SIMD8<Float>(repeating: 0)
    while i + 8 <= count {
      let xv = load8(x + i)
      let r = xv.replacing(with: zero, where: xv .<= zero)
      store8(r, y + i)
      i += 8
    }
    while i < count {
      y[i] = max(x[i], 0)
      i += 1
    }
  }

  /// dx = dy where x > 0, a * dy elsewhere (NaN x counts as not positive, as the scalar
  /// `x > 0 ? ...` does). Eight lanes at a time with a select instead of a branch: the
  /// signs of pre-activations are random, so the scalar branch mispredicts about half the
  /// time and made ReLU's backward five times slower than its forward.
  @inline(__always)
  static func scaleWhereNotPositive(
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
    count: Int, by a: Float
  ) {
    var i = 0
    let zero = SIMD8<Float>(repeating: 0)
    while i + 8 <= count {
      let xv = load8(x + i)
      let g = load8(dy + i)
      // a = 0 selects a literal 0, as the scalar path does even for an infinite dy.
      let r = g.replacing(with: a == 0 ? zero : g * a, where: .!(xv .> zero))
      store8(r, dx + i)
      i += 8
    }
    while i < count {
      dx[i] = x[i] > 0 ? dy[i] : a * dy[i]
      i += 1
    }
  }
}
