// Exports: KAN symbolic regression (pykan's suggest_symbolic, fix_symbolic, auto_symbolic,
// symbolic_formula) for B-spline KAN layers built with "symbolic": true.
import CLaminaABI
import Lamina

/// n x input_dim samples as an array, after the usual checks.
private func samples(_ m: Model, _ x: UnsafePointer<Float>?, _ n: Int, in f: String) throws
  -> [Float]
{
  let n = try sampleCount(n, in: f)
  guard n > 0 else { throw LaminaError(.shape, "\(f): needs at least one sample; n is 0") }
  // n x input_dim can overflow before any check downstream sees it.
  let (total, overflow) = n.multipliedReportingOverflow(by: m.inputDim)
  guard !overflow, total <= Limits.maxBatchElements else {
    throw LaminaError(
      .outOfMemory,
      "\(f): n = \(n) samples is over the limit of \(Limits.maxBatchElements / m.inputDim)")
  }
  return Array(UnsafeBufferPointer(start: try require(x, "x", in: f), count: n * m.inputDim))
}

/// A fit as a JSON object.
private func json(_ fit: SymbolicFit) -> JSONValue {
  .object([
    ("name", .string(fit.name)), ("r2", .number(fit.r2)), ("a", .number(fit.a)),
    ("b", .number(fit.b)), ("c", .number(fit.c)), ("d", .number(fit.d)),
    ("complexity", .number(Double(fit.complexity))), ("score", .number(fit.score)),
  ])
}

/// An upper bound on the length of suggest_symbolic's text, known without fitting: the text
/// for every library function with each fitted number as wide as JSON numbers get.
private let suggestLengthBound: Int = {
  let w = JSONValue.widestNumber
  let widest = SymbolicLibrary.functions.map {
    SymbolicFit(name: $0.name, a: w, b: w, c: w, d: w, r2: w, complexity: $0.complexity, score: w)
  }
  return JSONValue.array(widest.map(json)).text.utf8.count
}()

@_cdecl("lamina_model_kan_suggest_symbolic")
public func laminaModelKanSuggestSymbolic(
  _ model: OpaquePointer?, _ layer: Int, _ i: Int, _ j: Int, _ x: UnsafePointer<Float>?,
  _ n: Int, _ weightSimple: Float, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int,
  _ len: UnsafeMutablePointer<Int>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_kan_suggest_symbolic"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    guard weightSimple.isFinite, weightSimple >= 0, weightSimple <= 1 else {
      throw LaminaError(.invalidArgument, "\(f): weight_simple must be in [0, 1]")
    }
    let xs = try samples(m, x, n, in: f)
    if buf == nil {
      // The sizing call: the arguments are checked, nothing is fitted, and *len is a bound.
      let length = try require(len, "len", in: f)
      guard cap == 0 else {
        throw LaminaError(.invalidArgument, "\(f): buf is NULL but cap is \(capacity(cap))")
      }
      try m.kanCheckSuggestSymbolic(layer: layer, input: i, output: j, samples: xs)
      length.pointee = suggestLengthBound
      return
    }
    let fits = try m.kanSuggestSymbolic(
      layer: layer, input: i, output: j, samples: xs, weightSimple: Double(weightSimple))
    try copyOut(JSONValue.array(fits.map(json)).text, buf, cap, len, in: f)
  }
}

@_cdecl("lamina_model_kan_fix_symbolic")
public func laminaModelKanFixSymbolic(
  _ model: OpaquePointer?, _ layer: Int, _ i: Int, _ j: Int, _ function: UnsafePointer<CChar>?,
  _ x: UnsafePointer<Float>?, _ n: Int, _ r2: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_kan_fix_symbolic"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginChanging(m, in: f)
    defer { m.useGuard.endExclusive() }
    let name = try string(function, "function", in: f, limit: 64)
    let fit = try m.kanFixSymbolic(
      layer: layer, input: i, output: j, function: name, samples: try samples(m, x, n, in: f))
    r2?.pointee = Float(fit.r2)
  }
}

@_cdecl("lamina_model_kan_auto_symbolic")
public func laminaModelKanAutoSymbolic(
  _ model: OpaquePointer?, _ library: UnsafePointer<CChar>?, _ x: UnsafePointer<Float>?,
  _ n: Int, _ r2Threshold: Float, _ weightSimple: Float
) -> lamina_status {
  guarded {
    let f = "lamina_model_kan_auto_symbolic"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginChanging(m, in: f)
    defer { m.useGuard.endExclusive() }
    guard r2Threshold.isFinite, weightSimple.isFinite, weightSimple >= 0, weightSimple <= 1
    else {
      throw LaminaError(
        .invalidArgument, "\(f): r2_threshold must be finite and weight_simple in [0, 1]")
    }
    var names: [String]? = nil
    if library != nil {
      let text = try string(library, "library", in: f, limit: 4096)
      names = text.split(separator: ",").map {
        String($0.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
      }
    }
    try m.kanAutoSymbolic(
      library: names, samples: try samples(m, x, n, in: f), r2Threshold: Double(r2Threshold),
      weightSimple: Double(weightSimple))
  }
}

@_cdecl("lamina_model_kan_symbolic_formula")
public func laminaModelKanSymbolicFormula(
  _ model: OpaquePointer?, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int,
  _ len: UnsafeMutablePointer<Int>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_kan_symbolic_formula"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    try copyOut(try m.kanSymbolicFormula().joined(separator: "\n"), buf, cap, len, in: f)
  }
}

@_cdecl("lamina_model_kan_symbolic_search")
public func laminaModelKanSymbolicSearch(
  _ model: OpaquePointer?, _ layer: Int, _ i: Int, _ j: Int, _ x: UnsafePointer<Float>?,
  _ n: Int, _ options: UnsafePointer<CChar>?, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int,
  _ len: UnsafeMutablePointer<Int>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_kan_symbolic_search"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    let settings =
      options == nil
      ? SymbolicSearchOptions()
      : try SymbolicSearchOptions(
        json: JSONValue.parse(try string(options, "options_json", in: f), what: "options_json"),
        what: "\(f): options_json")
    let xs = try samples(m, x, n, in: f)
    if buf == nil {
      // The sizing call: the arguments are checked, nothing is fitted, and *len is a bound.
      let length = try require(len, "len", in: f)
      guard cap == 0 else {
        throw LaminaError(.invalidArgument, "\(f): buf is NULL but cap is \(capacity(cap))")
      }
      try m.kanCheckSymbolicSearch(
        layer: layer, input: i, output: j, samples: xs, options: settings, what: f)
      length.pointee = suggestLengthBound
      return
    }
    let fits = try m.kanSymbolicSearch(
      layer: layer, input: i, output: j, samples: xs, options: settings, what: f)
    try copyOut(JSONValue.array(fits.map(json)).text, buf, cap, len, in: f)
  }
}

@_cdecl("lamina_model_kan_set_symbolic")
public func laminaModelKanSetSymbolic(
  _ model: OpaquePointer?, _ layer: Int, _ i: Int, _ j: Int, _ function: UnsafePointer<CChar>?,
  _ affine: UnsafePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_kan_set_symbolic"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginChanging(m, in: f)
    defer { m.useGuard.endExclusive() }
    var name: String? = nil
    var values: [Float] = []
    if function != nil {
      name = try string(function, "function", in: f, limit: 64)
      values = Array(UnsafeBufferPointer(start: try require(affine, "affine", in: f), count: 4))
    }
    try m.kanSetSymbolic(layer: layer, input: i, output: j, function: name, affine: values)
  }
}

@_cdecl("lamina_kan_symbolic_library")
public func laminaKanSymbolicLibrary(
  _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int, _ len: UnsafeMutablePointer<Int>?
) -> lamina_status {
  guarded {
    let text = JSONValue.array(
      SymbolicLibrary.functions.map {
        .object([("name", .string($0.name)), ("complexity", .number(Double($0.complexity)))])
      }
    ).text
    try copyOut(text, buf, cap, len, in: "lamina_kan_symbolic_library")
  }
}
