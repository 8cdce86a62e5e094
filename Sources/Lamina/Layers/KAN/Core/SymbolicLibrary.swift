#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The library of candidate edge functions for KAN symbolic regression, as pykan's
/// `SYMBOLIC_LIB` (kan/utils.py): each with its value, derivative, textual form and
/// complexity (pykan's third column, used by `suggestSymbolic`'s score).
///
/// Singular functions are evaluated in pykan's singularity-avoiding forms with the
/// threshold `SymbolicFunction.yThreshold` (|f| is capped near poles, e.g. 1/x is linear for
/// |x| < 1/y_th, log is -y_th below e^-y_th, exp is capped at y_th, arcsin is clamped to
/// ±pi/2 outside [-1, 1]); the derivative is the derivative of that safe form, so values and
/// gradients stay finite for every finite input.
public struct SymbolicFunction: Sendable {
  /// Name as in pykan's library ("sin", "x^2", "1/sqrt(x)", ...).
  public let name: String
  /// Complexity (pykan's value) for the simplicity-weighted score.
  public let complexity: Int
  /// Text with "#" standing for the argument, e.g. "sin(#)".
  public let template: String
  /// f(u) and f'(u) in the singularity-avoiding form.
  let evaluate: @Sendable (Double) -> (Double, Double)

  /// Cap on |f| near singularities (pykan's y_th; pykan's fit_params / forward use 10..1000
  /// depending on the call; Lamina uses one value everywhere).
  public static let yThreshold = 1000.0

  /// f(u).
  public func value(_ u: Double) -> Double { evaluate(u).0 }
  /// f'(u).
  public func derivative(_ u: Double) -> Double { evaluate(u).1 }
  /// The text of f applied to `argument`.
  public func text(_ argument: String) -> String {
    template.split(separator: "#", omittingEmptySubsequences: false).joined(separator: argument)
  }
}

/// The standard library and look-ups by name.
public enum SymbolicLibrary {
  private static let yth = SymbolicFunction.yThreshold

  /// 1/x^p with pykan's linear patch for |x| < x_th = y_th^(-1/p).
  private static func inversePower(_ p: Double) -> @Sendable (Double) -> (Double, Double) {
    let xth = pow(yth, -1 / p)
    return { x in
      if abs(x) < xth { return (yth / xth * x, yth / xth) }
      return (1 / pow(x, p), -p / pow(x, p + 1))
    }
  }

  /// Every function, in pykan's SYMBOLIC_LIB order plus "cosh" and "sigmoid".
  public static let functions: [SymbolicFunction] = {
    let pi = Double.pi
    var f: [SymbolicFunction] = []
    func add(
      _ n: String, _ c: Int, _ t: String, _ e: @escaping @Sendable (Double) -> (Double, Double)
    ) {
      f.append(SymbolicFunction(name: n, complexity: c, template: t, evaluate: e))
    }
    add("x", 1, "#") { ($0, 1) }
    add("x^2", 2, "(#)^2") { ($0 * $0, 2 * $0) }
    add("x^3", 3, "(#)^3") { ($0 * $0 * $0, 3 * $0 * $0) }
    add("x^4", 3, "(#)^4") { (pow($0, 4), 4 * $0 * $0 * $0) }
    add("x^5", 3, "(#)^5") { (pow($0, 5), 5 * pow($0, 4)) }
    add("1/x", 2, "1/(#)", inversePower(1))
    add("1/x^2", 2, "1/(#)^2", inversePower(2))
    add("1/x^3", 3, "1/(#)^3", inversePower(3))
    add("1/x^4", 4, "1/(#)^4", inversePower(4))
    add("1/x^5", 5, "1/(#)^5", inversePower(5))
    // sqrt as pykan: sign(x) sqrt|x| beyond x_th = 1/y_th^2, linear inside.
    let sqrtEval: @Sendable (Double) -> (Double, Double) = { x in
      let xth = 1 / (yth * yth)
      if abs(x) < xth { return (yth * x, yth) }
      let r = sqrt(abs(x))
      return (x < 0 ? -r : r, 0.5 / r)
    }
    add("sqrt", 2, "sqrt(#)", sqrtEval)
    add("x^0.5", 2, "(#)^0.5", sqrtEval)
    add("x^1.5", 4, "(#)^1.5") { x in
      let r = sqrt(abs(x))
      return (x < 0 ? -abs(x) * r : x * r, 1.5 * r)
    }
    // 1/sqrt(x) as pykan: linear for |x| < x_th = 1/y_th^2, else 1/sqrt|x|.
    add("1/sqrt(x)", 2, "1/sqrt(#)") { x in
      let xth = 1 / (yth * yth)
      if abs(x) < xth { return (yth / xth * x, yth / xth) }
      let r = sqrt(abs(x))
      return (1 / r, (x < 0 ? 0.5 : -0.5) / (abs(x) * r))
    }
    add("1/x^0.5", 2, "1/sqrt(#)") { x in
      let xth = 1 / (yth * yth)
      if abs(x) < xth { return (yth / xth * x, yth / xth) }
      let r = sqrt(abs(x))
      return (1 / r, (x < 0 ? 0.5 : -0.5) / (abs(x) * r))
    }
    add("exp", 2, "exp(#)") { x in
      let xth = log(yth)
      return x > xth ? (yth, 0) : (exp(x), exp(x))
    }
    add("log", 2, "log(#)") { x in
      let xth = max(exp(-yth), 1e-300)  // e^-1000 underflows to 0 in Double
      return abs(x) < xth ? (-yth, 0) : (log(abs(x)), 1 / x)
    }
    add("abs", 3, "abs(#)") { (abs($0), $0 < 0 ? -1 : 1) }
    add("sin", 2, "sin(#)") { (sin($0), cos($0)) }
    add("cos", 2, "cos(#)") { (cos($0), -sin($0)) }
    // tan as pykan: the argument reduced mod pi; linear through the pole within delta.
    add("tan", 3, "tan(#)") { x in
      var clip = fmod(x, pi)
      if clip < 0 { clip += pi }
      let delta = pi / 2 - atan(yth)
      if abs(clip - pi / 2) < delta {
        return (-yth / delta * (clip - pi / 2), -yth / delta)
      }
      let t = tan(clip)
      return (t, 1 + t * t)
    }
    add("tanh", 3, "tanh(#)") { x in
      let t = tanh(x)
      return (t, 1 - t * t)
    }
    add("sgn", 3, "sign(#)") { ($0 > 0 ? 1 : $0 < 0 ? -1 : 0, 0) }
    add("arcsin", 4, "asin(#)") { x in
      abs(x) > 1 ? (pi / 2 * (x < 0 ? -1 : 1), 0) : (asin(x), 1 / sqrt(max(1 - x * x, 1e-300)))
    }
    add("arccos", 4, "acos(#)") { x in
      abs(x) > 1 ? (x < 0 ? pi : 0, 0) : (acos(x), -1 / sqrt(max(1 - x * x, 1e-300)))
    }
    add("arctan", 4, "atan(#)") { (atan($0), 1 / (1 + $0 * $0)) }
    add("arctanh", 4, "atanh(#)") { x in
      let xth = 1 - tanh(yth)
      if abs(x) >= 1 - xth { return (yth * (x < 0 ? -1 : 1), 0) }
      return (atanh(x), 1 / (1 - x * x))
    }
    add("0", 0, "0") { _ in (0, 0) }
    add("gaussian", 3, "exp(-(#)^2)") { x in
      let g = exp(-x * x)
      return (g, -2 * x * g)
    }
    // cosh capped at y_th like exp (pykan has no cap; this keeps it finite).
    add("cosh", 2, "cosh(#)") { x in
      abs(x) > log(2 * yth) ? (yth, 0) : (cosh(x), sinh(x))
    }
    add("sigmoid", 4, "sigmoid(#)") { x in
      let s = 1 / (1 + exp(-x))
      return (s, s * (1 - s))
    }
    return f
  }()

  /// The index of `name` in `functions`, or nil.
  public static func index(of name: String) -> Int? { functions.firstIndex { $0.name == name } }

  /// The function at `index` when it is a whole number in range (indices are stored as
  /// floats in the "symbolic_fn" buffer), else nil.
  static func function(at index: Float) -> SymbolicFunction? {
    guard index.isFinite, index >= 0, index < Float(functions.count), index.rounded() == index
    else { return nil }
    return functions[Int(index)]
  }
}

/// The fitted affine map of one symbolic edge: y = c * f(a * x + b) + d.
public struct SymbolicFit: Sendable {
  /// Function name.
  public var name: String
  /// (a, b, c, d).
  public var a: Double, b: Double, c: Double, d: Double
  /// R^2 of the fit (pykan's: squared correlation of f(a x + b) and y).
  public var r2: Double
  /// Complexity of the function.
  public var complexity: Int
  /// pykan's suggest_symbolic score (lower is better): weight_simple * complexity +
  /// (1 - weight_simple) * log2(1 + 1e-5 - r2).
  public var score: Double

  /// A fit with these values.
  public init(
    name: String, a: Double, b: Double, c: Double, d: Double, r2: Double, complexity: Int,
    score: Double
  ) {
    (self.name, self.a, self.b, self.c, self.d) = (name, a, b, c, d)
    (self.r2, self.complexity, self.score) = (r2, complexity, score)
  }
}

extension SymbolicLibrary {
  /// Fits y ≈ c * f(a x + b) + d as pykan's `fit_params`: `iterations` rounds of a
  /// `gridNumber` x `gridNumber` search over (a, b) maximising the squared correlation of
  /// f(a x + b) with y (denominator + 1e-4 as pykan), each round zooming to the
  /// neighbours of the best point (or to the boundary cell), then (c, d) by least squares.
  /// Computed in Double; rows of the (a, b) grid run in parallel, the arg-max is taken in
  /// a fixed order, so results are deterministic.
  public static func fit(
    x: [Double], y: [Double], function fn: SymbolicFunction,
    aRange: (Double, Double) = (-10, 10), bRange: (Double, Double) = (-10, 10),
    gridNumber: Int = 101, iterations: Int = 3
  ) -> (a: Double, b: Double, c: Double, d: Double, r2: Double) {
    let n = x.count
    guard n > 0, gridNumber >= 2 else { return (1, 0, 0, 0, 0) }
    let yMean = y.reduce(0, +) / Double(n)
    var syy = 0.0
    for v in y { syy += (v - yMean) * (v - yMean) }
    var (aLo, aHi) = aRange
    var (bLo, bHi) = bRange
    let g = gridNumber
    var best = (a: 0.0, b: 0.0, r2: -1.0)
    for _ in 0..<max(1, iterations) {
      let aS = (0..<g).map { aLo + (aHi - aLo) * Double($0) / Double(g - 1) }
      let bS = (0..<g).map { bLo + (bHi - bLo) * Double($0) / Double(g - 1) }
      var r2 = [Double](repeating: 0, count: g * g)
      r2.withUnsafeMutableBufferPointer { rb in
        let out = rb.baseAddress!
        BSplineKANLayer.parallel(g, work: g * g * n) { ia in
          var p = [Double](repeating: 0, count: n)
          for ib in 0..<g {
            var mean = 0.0
            for s in 0..<n {
              var v = fn.value(aS[ia] * x[s] + bS[ib])
              if !v.isFinite { v = 0 }
              p[s] = v
              mean += v
            }
            mean /= Double(n)
            var num = 0.0
            var spp = 0.0
            for s in 0..<n {
              num += (p[s] - mean) * (y[s] - yMean)
              spp += (p[s] - mean) * (p[s] - mean)
            }
            let r = num * num / (spp * syy + 1e-4)
            out[ia * g + ib] = r.isFinite ? r : 0
          }
        }
      }
      var id = 0
      for t in 1..<(g * g) where r2[t] > r2[id] { id = t }
      let (ia, ib) = (id / g, id % g)
      best = (aS[ia], bS[ib], r2[id])
      if ia == 0 || ia == g - 1 || ib == 0 || ib == g - 1 {
        if ia == 0 { (aLo, aHi) = (aS[0], aS[1]) }
        if ia == g - 1 { (aLo, aHi) = (aS[g - 2], aS[g - 1]) }
        if ib == 0 { (bLo, bHi) = (bS[0], bS[1]) }
        if ib == g - 1 { (bLo, bHi) = (bS[g - 2], bS[g - 1]) }
      } else {
        (aLo, aHi) = (aS[ia - 1], aS[ia + 1])
        (bLo, bHi) = (bS[ib - 1], bS[ib + 1])
      }
    }
    // (c, d): ordinary least squares of y on f(a x + b).
    var p = [Double](repeating: 0, count: n)
    for s in 0..<n {
      let v = fn.value(best.a * x[s] + best.b)
      p[s] = v.isFinite ? v : 0
    }
    let pMean = p.reduce(0, +) / Double(n)
    var spy = 0.0
    var spp = 0.0
    for s in 0..<n {
      spy += (p[s] - pMean) * (y[s] - yMean)
      spp += (p[s] - pMean) * (p[s] - pMean)
    }
    let c = spp > 0 ? spy / spp : 0
    let d = yMean - c * pMean
    return (best.a, best.b, c, d, best.r2)
  }

  /// Fits every function of `names` (default: all) and returns them best first by pykan's
  /// score (`weightSimple` 0.8 as pykan; 0 ranks by R^2 alone).
  public static func suggest(
    x: [Double], y: [Double], names: [String]? = nil, weightSimple: Double = 0.8
  ) throws -> [SymbolicFit] {
    var fits: [SymbolicFit] = []
    for name in names ?? functions.map(\.name) {
      guard let k = index(of: name) else {
        throw LaminaError.invalid("suggest_symbolic: unknown function \"\(name)\"")
      }
      let fn = functions[k]
      let r = fit(x: x, y: y, function: fn)
      let r2Loss = log2(1 + 1e-5 - min(max(r.r2, 0), 1))
      let score = weightSimple * Double(fn.complexity) + (1 - weightSimple) * r2Loss
      fits.append(
        SymbolicFit(
          name: name, a: r.a, b: r.b, c: r.c, d: r.d, r2: r.r2, complexity: fn.complexity,
          score: score))
    }
    // Stable: ties keep library order.
    return fits.enumerated().sorted {
      ($0.element.score, $0.offset) < ($1.element.score, $1.offset)
    }.map(\.element)
  }
}
