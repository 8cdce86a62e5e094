import CLaminaKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The library of candidate edge functions for KAN symbolic regression, as pykan's
/// `SYMBOLIC_LIB` (kan/utils.py): each with its value, derivative, textual form and
/// complexity (pykan's third column, used by `suggestSymbolic`'s score).
///
/// Functions are the plain ones, as pykan's search (`fit_params`) and its default forward
/// (`singularity_avoiding=False`) use them: outside its domain a function is NaN (sqrt and
/// log of negative numbers, arcsin beyond [-1, 1]), at a pole infinite, and exp overflows
/// only where Double does. pykan's singularity-avoiding forms (`protected(_:yTh:)`) are used
/// only by training with the trainer config's "singularity_avoiding" (pykan's
/// `fit(singularity_avoiding=True, y_th=...)`).
public struct SymbolicFunction: Sendable {
  /// Name as in pykan's library ("sin", "x^2", "1/sqrt(x)", ...).
  public let name: String
  /// Complexity (pykan's value) for the simplicity-weighted score.
  public let complexity: Int
  /// Text with "#" standing for the argument, e.g. "sin(#)".
  public let template: String
  /// The form the C kernels evaluate (`lamina_symbolic_form`).
  let form: lamina_symbolic_form
  /// f'(u).
  let slope: @Sendable (Double) -> Double

  /// f(u).
  public func value(_ u: Double) -> Double { lamina_symbolic_value(Int32(form.rawValue), u) }
  /// f'(u).
  public func derivative(_ u: Double) -> Double { slope(u) }
  /// (f(u), f'(u)).
  func evaluate(_ u: Double) -> (Double, Double) { (value(u), slope(u)) }
  /// (f(u), f'(u)) in pykan's singularity-avoiding form with threshold `yTh` when it is
  /// given (`protected`), else the plain form.
  @inline(__always)
  func evaluate(_ u: Double, yTh: Double?) -> (Double, Double) {
    guard let yTh else { return evaluate(u) }
    return protected(u, yTh: yTh)
  }

  /// pykan's singularity-avoiding form of f with threshold `yTh` (kan/utils.py's f_inv,
  /// f_inv2 ... f_inv5, f_sqrt, f_power1d5, f_invsqrt, f_log, f_tan, f_arctanh, f_arcsin,
  /// f_arccos, f_exp; the plain function for the rest, and for Lamina's "cosh" and
  /// "sigmoid"), with its exact derivative: (value, derivative) at u.
  ///
  /// - 1/x^p, p odd: y_th / x_th * u for |u| < x_th = y_th^(-1/p), else 1/u^p; p even:
  ///   y_th for |u| < x_th, else 1/u^p.
  /// - sqrt, x^0.5: x_th / y_th * u for |u| < x_th = 1/y_th^2, else sign(u) sqrt|u|.
  /// - x^1.5: |u|^1.5. 1/sqrt(x), 1/x^0.5: y_th for |u| < 1/y_th^2, else 1/sqrt|u|.
  /// - log: -y_th for |u| < e^-y_th, else log|u|. exp: y_th for u > log(y_th), else e^u.
  /// - tan: with c = u mod pi in [0, pi) and delta = pi/2 - atan(y_th), -y_th / delta
  ///   (c - pi/2) where |c - pi/2| < delta, else tan(c).
  /// - arctanh: y_th sign(u) for |u| > 1 - delta, delta = 1 - tanh(y_th) + 1e-4, else
  ///   atanh(u). arcsin: pi/2 sign(u) for |u| > 1, else asin(u). arccos: pi/2 (1 - sign(u))
  ///   for |u| > 1, else acos(u).
  ///
  /// pykan's nan_to_num on the outer branch is kept: a NaN there is 0 and an infinity
  /// float32's largest magnitude, with derivative 0 (torch's gradient of nan_to_num there).
  /// The derivative is that of the piecewise form (0 on the constant patches); at a patch
  /// boundary it is the outer branch's. Thresholds are computed in Double.
  public func protected(_ u: Double, yTh: Double) -> (Double, Double) {
    @inline(__always) func outer(_ r: (Double, Double)) -> (Double, Double) {
      if r.0.isNaN { return (0, 0) }
      if r.0.isInfinite { return (r.0 < 0 ? -Self.float32Max : Self.float32Max, 0) }
      return r
    }
    @inline(__always) func sign(_ v: Double) -> Double { v > 0 ? 1 : v < 0 ? -1 : 0 }
    switch form {
    case LAMINA_SYM_INV, LAMINA_SYM_INV3, LAMINA_SYM_INV5:
      let p: Double = form == LAMINA_SYM_INV ? 1 : form == LAMINA_SYM_INV3 ? 3 : 5
      let xth = 1 / pow(yTh, 1 / p)
      if abs(u) < xth { return (yTh / xth * u, yTh / xth) }
      return outer(evaluate(u))
    case LAMINA_SYM_INV2, LAMINA_SYM_INV4:
      let p: Double = form == LAMINA_SYM_INV2 ? 2 : 4
      let xth = 1 / pow(yTh, 1 / p)
      if abs(u) < xth { return (yTh, 0) }
      return outer(evaluate(u))
    case LAMINA_SYM_SQRT:
      let xth = 1 / (yTh * yTh)
      if abs(u) < xth { return (xth / yTh * u, xth / yTh) }
      let r = sqrt(abs(u))
      return outer((sign(u) * r, 0.5 / r))
    case LAMINA_SYM_X1_5:
      let r = sqrt(abs(u))
      return (abs(u) * r, 1.5 * r * sign(u))
    case LAMINA_SYM_INVSQRT:
      let xth = 1 / (yTh * yTh)
      if abs(u) < xth { return (yTh, 0) }
      let r = sqrt(abs(u))
      return outer((1 / r, -0.5 * sign(u) / (abs(u) * r)))
    case LAMINA_SYM_LOG:
      let xth = exp(-yTh)
      if abs(u) < xth { return (-yTh, 0) }
      return outer((log(abs(u)), 1 / u))
    case LAMINA_SYM_EXP:
      if u > log(yTh) { return (yTh, 0) }
      let e = exp(u)
      return (e, e)
    case LAMINA_SYM_TAN:
      var clip = fmod(u, Double.pi)
      if clip < 0 { clip += Double.pi }
      if clip >= Double.pi { clip = 0 }
      let delta = Double.pi / 2 - atan(yTh)
      if abs(clip - Double.pi / 2) < delta {
        return (-yTh / delta * (clip - Double.pi / 2), -yTh / delta)
      }
      let t = tan(clip)
      return outer((t, 1 + t * t))
    case LAMINA_SYM_ARCTANH:
      let delta = 1 - tanh(yTh) + 1e-4
      if abs(u) > 1 - delta { return (yTh * sign(u), 0) }
      return outer((atanh(u), 1 / (1 - u * u)))
    case LAMINA_SYM_ARCSIN:
      if abs(u) > 1 { return (Double.pi / 2 * sign(u), 0) }
      return (asin(u), 1 / sqrt(1 - u * u))
    case LAMINA_SYM_ARCCOS:
      if abs(u) > 1 { return (Double.pi / 2 * (1 - sign(u)), 0) }
      return (acos(u), -1 / sqrt(1 - u * u))
    default:
      return evaluate(u)
    }
  }

  /// float32's largest magnitude, pykan's nan_to_num of an infinity (its default dtype).
  static let float32Max = Double(Float.greatestFiniteMagnitude)

  /// The text of f applied to `argument`.
  public func text(_ argument: String) -> String {
    template.split(separator: "#", omittingEmptySubsequences: false).joined(separator: argument)
  }
}

/// The standard library and look-ups by name.
public enum SymbolicLibrary {
  /// Every function, in pykan's SYMBOLIC_LIB order plus "cosh" and "sigmoid" (the index of
  /// a function here is what "symbolic_fn" stores).
  public static let functions: [SymbolicFunction] = {
    var f: [SymbolicFunction] = []
    func add(
      _ n: String, _ c: Int, _ t: String, _ form: lamina_symbolic_form,
      _ d: @escaping @Sendable (Double) -> Double
    ) {
      f.append(SymbolicFunction(name: n, complexity: c, template: t, form: form, slope: d))
    }
    add("x", 1, "#", LAMINA_SYM_X) { _ in 1 }
    add("x^2", 2, "(#)^2", LAMINA_SYM_X2) { 2 * $0 }
    add("x^3", 3, "(#)^3", LAMINA_SYM_X3) { 3 * $0 * $0 }
    add("x^4", 3, "(#)^4", LAMINA_SYM_X4) { 4 * $0 * $0 * $0 }
    add("x^5", 3, "(#)^5", LAMINA_SYM_X5) { 5 * ($0 * $0) * ($0 * $0) }
    add("1/x", 2, "1/(#)", LAMINA_SYM_INV) { -1 / ($0 * $0) }
    add("1/x^2", 2, "1/(#)^2", LAMINA_SYM_INV2) { -2 / ($0 * $0 * $0) }
    add("1/x^3", 3, "1/(#)^3", LAMINA_SYM_INV3) { -3 / (($0 * $0) * ($0 * $0)) }
    add("1/x^4", 4, "1/(#)^4", LAMINA_SYM_INV4) { -4 / (($0 * $0) * ($0 * $0) * $0) }
    add("1/x^5", 5, "1/(#)^5", LAMINA_SYM_INV5) { -5 / (($0 * $0 * $0) * ($0 * $0 * $0)) }
    add("sqrt", 2, "sqrt(#)", LAMINA_SYM_SQRT) { 0.5 / sqrt($0) }
    add("x^0.5", 2, "(#)^0.5", LAMINA_SYM_SQRT) { 0.5 / sqrt($0) }
    add("x^1.5", 4, "(#)^1.5", LAMINA_SYM_X1_5) { 1.5 * sqrt($0) }
    add("1/sqrt(x)", 2, "1/sqrt(#)", LAMINA_SYM_INVSQRT) { -0.5 / ($0 * sqrt($0)) }
    add("1/x^0.5", 2, "1/sqrt(#)", LAMINA_SYM_INVSQRT) { -0.5 / ($0 * sqrt($0)) }
    add("exp", 2, "exp(#)", LAMINA_SYM_EXP) { exp($0) }
    add("log", 2, "log(#)", LAMINA_SYM_LOG) { 1 / $0 }
    add("abs", 3, "abs(#)", LAMINA_SYM_ABS) { $0 > 0 ? 1 : $0 < 0 ? -1 : 0 }
    add("sin", 2, "sin(#)", LAMINA_SYM_SIN) { cos($0) }
    add("cos", 2, "cos(#)", LAMINA_SYM_COS) { -sin($0) }
    add("tan", 3, "tan(#)", LAMINA_SYM_TAN) { 1 + tan($0) * tan($0) }
    add("tanh", 3, "tanh(#)", LAMINA_SYM_TANH) { 1 - tanh($0) * tanh($0) }
    add("sgn", 3, "sign(#)", LAMINA_SYM_SGN) { _ in 0 }
    add("arcsin", 4, "asin(#)", LAMINA_SYM_ARCSIN) { 1 / sqrt(1 - $0 * $0) }
    add("arccos", 4, "acos(#)", LAMINA_SYM_ARCCOS) { -1 / sqrt(1 - $0 * $0) }
    add("arctan", 4, "atan(#)", LAMINA_SYM_ARCTAN) { 1 / (1 + $0 * $0) }
    add("arctanh", 4, "atanh(#)", LAMINA_SYM_ARCTANH) { 1 / (1 - $0 * $0) }
    add("0", 0, "0", LAMINA_SYM_ZERO) { _ in 0 }
    add("gaussian", 3, "exp(-(#)^2)", LAMINA_SYM_GAUSSIAN) { -2 * $0 * exp(-$0 * $0) }
    add("cosh", 2, "cosh(#)", LAMINA_SYM_COSH) { sinh($0) }
    add("sigmoid", 4, "sigmoid(#)", LAMINA_SYM_SIGMOID) { u in
      let s = 1 / (1 + exp(-u))
      return s * (1 - s)
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

/// The settings of a symbolic search (pykan's suggest_symbolic / fit_params arguments).
public struct SymbolicSearchOptions: Sendable {
  /// Function names to try (nil: the whole library).
  public var library: [String]? = nil
  /// Range of a and of b in the first round of the grid search (pykan: (-10, 10) each).
  public var aRange: (Double, Double) = (-10, 10)
  public var bRange: (Double, Double) = (-10, 10)
  /// Grid points per axis (pykan's grid_number, 101), at least 2.
  public var gridNumber = 101
  /// Rounds of the search, each zooming in (pykan's iteration, 3), at least 1.
  public var iterations = 3
  /// pykan's weight_simple (0.8) in the score; 0 ranks by R^2 alone.
  public var weightSimple = 0.8

  /// The defaults.
  public init() {}

  /// Options from a JSON object (every key optional): "library" (array of names),
  /// "a_range", "b_range" ([lo, hi]), "grid_number", "iterations", "weight_simple". Throws
  /// `.invalidArgument` for a wrong type, a value out of range (see
  /// `SymbolicLibrary.check`), an unknown function or an unknown key.
  public init(json: JSONValue, what: String) throws {
    let r = try JSONObjectReader(json, what: what)
    if let v = r.value("library") {
      guard case .array(let items) = v else {
        throw LaminaError.invalid("\(what): \"library\" must be an array of names")
      }
      library = try items.map {
        guard case .string(let name) = $0 else {
          throw LaminaError.invalid("\(what): \"library\" must hold strings, not \($0.typeName)")
        }
        return name
      }
    }
    for key in ["a_range", "b_range"] {
      guard let v = r.value(key) else { continue }
      guard case .array(let pair) = v, pair.count == 2, case .number(let lo) = pair[0],
        case .number(let hi) = pair[1]
      else {
        throw LaminaError.invalid("\(what): \"\(key)\" must be [lo, hi], two numbers")
      }
      if key == "a_range" { aRange = (lo, hi) } else { bRange = (lo, hi) }
    }
    gridNumber = try r.int("grid_number", default: 101, min: 2, max: 1001)
    iterations = try r.int("iterations", default: 3, min: 1, max: 100)
    weightSimple = try r.double("weight_simple", default: 0.8, min: 0, max: 1)
    try r.finish()
    try SymbolicLibrary.check(self, what: what)
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
  /// `gridNumber` x `gridNumber` search over (a, b) (pykan's float32 grid, `linspace`)
  /// maximising pykan's score, the squared
  /// correlation of f(a x + b) with y (denominator + 1e-4; 0 where a sample is outside f's
  /// domain or pykan's float32 sums overflow), each round zooming to the neighbours of the
  /// best point (or to the boundary cell), then (c, d) by least squares on f(a x + b) with
  /// NaN as 0 (pykan's nan_to_num). Computed in double by `lamina_symbolic_r2_rows`; rows
  /// of the (a, b) grid run in parallel, each score depends on its (a, b) alone and the
  /// arg-max is taken in a fixed order (the first maximum, as torch.argmax), so results are
  /// the same on any thread count.
  public static func fit(
    x: [Double], y: [Double], function fn: SymbolicFunction,
    aRange: (Double, Double) = (-10, 10), bRange: (Double, Double) = (-10, 10),
    gridNumber: Int = 101, iterations: Int = 3
  ) -> (a: Double, b: Double, c: Double, d: Double, r2: Double) {
    fit(
      x: x, y: y, function: fn, aRange: aRange, bRange: bRange, gridNumber: gridNumber,
      iterations: iterations, pool: nil)
  }

  /// `count` points from `lo` to `hi` as pykan's grid, torch.linspace in float32: step =
  /// (hi - lo) / (count - 1) in float, point i = lo + i step below count / 2 and hi -
  /// (count - 1 - i) step from there, each rounded once to float (as torch's CPU kernel).
  /// The float grid matters: its middle point of [-10, 10] is -1.49e-7, not 0, which decides
  /// pykan's choice on ridges such as x^2's, where R^2 depends on b / a alone.
  static func linspace(_ lo: Double, _ hi: Double, _ count: Int) -> [Double] {
    let (start, end) = (Float(lo), Float(hi))
    let step = Double((end - start) / Float(count - 1))
    let half = count / 2
    return (0..<count).map { i in
      i < half
        ? Double(Float(Double(start) + step * Double(i)))
        : Double(Float(Double(end) - step * Double(count - 1 - i)))
    }
  }

  /// `fit` with the rows of the grid on `pool` (nil: the shared pool when the work pays).
  static func fit(
    x: [Double], y: [Double], function fn: SymbolicFunction, aRange: (Double, Double),
    bRange: (Double, Double), gridNumber: Int, iterations: Int, pool: WorkerPool?
  ) -> (a: Double, b: Double, c: Double, d: Double, r2: Double) {
    let n = min(x.count, y.count)
    guard n > 0, gridNumber >= 2 else { return (1, 0, 0, 0, 0) }
    let yMean = y[..<n].reduce(0, +) / Double(n)
    let yc = y[..<n].map { $0 - yMean }
    var syy = 0.0
    for v in yc { syy += v * v }
    let (xMin, xMax) = (x[..<n].min()!, x[..<n].max()!)
    var (aLo, aHi) = aRange
    var (bLo, bHi) = bRange
    let g = gridNumber
    let avx2 = CPUFeatures.hasAVX2FMA
    let form = Int32(fn.form.rawValue)
    var best = (a: 0.0, b: 0.0, r2: 0.0)
    var r2 = [Double](repeating: 0, count: g * g)
    for _ in 0..<max(1, iterations) {
      let aS = linspace(aLo, aHi, g)
      let bS = linspace(bLo, bHi, g)
      r2.withUnsafeMutableBufferPointer { rb in
        let out = rb.baseAddress!
        let row = { (ia: Int) in
          var scratch = [Double](repeating: 0, count: 3 * n)
          scratch.withUnsafeMutableBufferPointer { sb in
            aS.withUnsafeBufferPointer { ab in
              (avx2 ? lamina_symbolic_r2_rows_avx2 : lamina_symbolic_r2_rows)(
                form, x, yc, n, syy, xMin, xMax, ab.baseAddress! + ia, 1, bS, g,
                sb.baseAddress!, out + ia * g)
            }
          }
        }
        if let pool {
          pool.run(g, row)
        } else {
          BSplineKANLayer.parallel(g, work: g * g * n, row)
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
    // (c, d): ordinary least squares of y on f(a x + b), NaN as 0 and infinities at the
    // float32 extremes (pykan's nan_to_num of its float32 values).
    let big = Double(Float.greatestFiniteMagnitude)
    var p = [Double](repeating: 0, count: n)
    for s in 0..<n {
      let v = fn.value(best.a * x[s] + best.b)
      p[s] = v.isNaN ? 0 : min(max(v, -big), big)
    }
    let pMean = p.reduce(0, +) / Double(n)
    var spy = 0.0
    var spp = 0.0
    for s in 0..<n {
      spy += (p[s] - pMean) * yc[s]
      spp += (p[s] - pMean) * (p[s] - pMean)
    }
    let c = spp > 0 && spy.isFinite && spp.isFinite ? spy / spp : 0
    let d = yMean - c * pMean
    return (best.a, best.b, c, d.isFinite ? d : yMean, best.r2)
  }

  /// Fits every function of `names` (default: all) and returns them best first by pykan's
  /// score (`weightSimple` 0.8 as pykan; 0 ranks by R^2 alone).
  public static func suggest(
    x: [Double], y: [Double], names: [String]? = nil, weightSimple: Double = 0.8
  ) throws -> [SymbolicFit] {
    var options = SymbolicSearchOptions()
    options.library = names
    options.weightSimple = weightSimple
    return try search(x: x, y: y, options: options, what: "suggest_symbolic")
  }

  /// Throws unless `options` are in range: known function names, finite ranges with
  /// lo < hi, gridNumber 2 ... 1001 (the grid holds gridNumber^2 doubles), iterations
  /// 1 ... 100, weightSimple in [0, 1].
  public static func check(_ options: SymbolicSearchOptions, what: String) throws {
    for name in options.library ?? [] where index(of: name) == nil {
      throw LaminaError.invalid("\(what): unknown function \"\(name)\"")
    }
    for (key, r) in [("a_range", options.aRange), ("b_range", options.bRange)] {
      guard r.0.isFinite, r.1.isFinite, r.0 < r.1 else {
        throw LaminaError.invalid("\(what): \(key) must be [lo, hi] with finite lo < hi")
      }
    }
    guard (2...1001).contains(options.gridNumber) else {
      throw LaminaError.invalid("\(what): grid_number must be 2 ... 1001")
    }
    guard (1...100).contains(options.iterations) else {
      throw LaminaError.invalid("\(what): iterations must be 1 ... 100")
    }
    guard options.weightSimple.isFinite, (0...1).contains(options.weightSimple) else {
      throw LaminaError.invalid("\(what): weight_simple must be in [0, 1]")
    }
  }

  /// pykan's suggest_symbolic search on samples (x, y): every function of
  /// `options.library` fitted by `fit`, best first by pykan's score (ties keep library
  /// order).
  public static func search(
    x: [Double], y: [Double], options: SymbolicSearchOptions, what: String = "symbolic_search"
  ) throws -> [SymbolicFit] {
    try search(x: x, y: y, options: options, what: what, pool: nil)
  }

  /// `search` with the grid rows on `pool` (nil: the shared pool when the work pays).
  static func search(
    x: [Double], y: [Double], options: SymbolicSearchOptions, what: String, pool: WorkerPool?
  ) throws -> [SymbolicFit] {
    try check(options, what: what)
    var fits: [SymbolicFit] = []
    for name in options.library ?? functions.map(\.name) {
      let fn = functions[index(of: name)!]
      let r = fit(
        x: x, y: y, function: fn, aRange: options.aRange, bRange: options.bRange,
        gridNumber: options.gridNumber, iterations: options.iterations, pool: pool)
      let r2Loss = log2(1 + 1e-5 - min(max(r.r2, 0), 1))
      let w = options.weightSimple
      let score = w * Double(fn.complexity) + (1 - w) * r2Loss
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
