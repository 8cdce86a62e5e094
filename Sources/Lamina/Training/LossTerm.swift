/// One term of a loss made of several (`LossTerms`): what it measures, its weight, and the
/// points it is evaluated on. Terms on derivatives of the output (eikonal, normal, gradient,
/// laplacian) run jet passes (`JetLayer`); value terms run the ordinary passes.
public struct LossTerm {
  /// What a term measures. Means are over the term's points (and, for vectors, entries).
  public enum Kind: String, CaseIterable, Sendable {
    /// Mean squared (or absolute, with metric "l1") error of f(x) against targets y.
    case value
    /// The same as `value`, named apart so that histories tell boundary values from data.
    case boundary
    /// mean (|grad f| - 1)^2: a signed distance field has unit gradient (IGR, SIREN).
    case eikonal
    /// Alignment of grad f with given normals: mean (1 - cos) (metric "cosine", SIREN's),
    /// or the mean squared difference from the unit normals (metric "l2").
    case normal
    /// Mean squared error of grad f against given gradients (Sobolev training).
    case gradient
    /// Mean squared residual of a f + b . grad f + c * Laplacian(f) against given
    /// right-hand-side values (Poisson's equation with a = 0, b = 0, c = 1).
    case laplacian
  }

  /// The measure.
  public var kind: Kind
  /// Its factor in the total loss.
  public var weight: Double = 1
  /// Points drawn for each step (0: every point, every step). A step draws without
  /// replacement from the trainer's seeded generator.
  public var batchSize = 0
  /// Value terms: "mse" or "l1". Normal terms: "cosine" or "l2".
  public var metric: String
  /// The Laplacian term's operator a f + b . grad f + c * Laplacian(f).
  public var a: Double = 0
  public var b: [Double] = []
  public var c: Double = 1
  /// The points (n x inputDim) and the targets the kind needs (`targetColumns` per point).
  public internal(set) var points: [Float] = []
  public internal(set) var targets: [Float] = []
  /// Number of points set.
  public internal(set) var count = 0

  /// A term of `kind` with default settings.
  public init(kind: Kind) {
    self.kind = kind
    metric = kind == .normal ? "cosine" : "mse"
  }

  /// Target values per point for a model of `inputDim` inputs and `outputDim` outputs:
  /// value and boundary targets (outputDim), normals and gradients (inputDim), right-hand
  /// sides (1), none for eikonal.
  public func targetColumns(inputDim: Int, outputDim: Int) -> Int {
    switch kind {
    case .value, .boundary: return outputDim
    case .eikonal: return 0
    case .normal, .gradient: return inputDim
    case .laplacian: return 1
    }
  }

  /// The derivative order the term needs: 0 (values), 1 (gradients) or 2 (Laplacian).
  public var order: Int {
    switch kind {
    case .value, .boundary: return 0
    case .eikonal, .normal, .gradient: return 1
    case .laplacian: return c != 0 ? 2 : (b.contains { $0 != 0 } ? 1 : 0)
    }
  }

  /// The term's full config, every default filled in.
  public var json: JSONValue {
    var pairs: [(String, JSONValue)] = [
      ("loss", .string(kind.rawValue)), ("weight", .number(weight)),
      ("batch_size", .number(Double(batchSize))),
    ]
    switch kind {
    case .value, .boundary, .normal: pairs.append(("metric", .string(metric)))
    case .laplacian:
      pairs += [("a", .number(a)), ("b", .array(b.map { .number($0) })), ("c", .number(c))]
    case .eikonal, .gradient: break
    }
    return .object(pairs)
  }

  /// Reads one term's config for a model of `inputDim` inputs and `outputDim` outputs.
  static func parse(_ value: JSONValue, index: Int, inputDim: Int, outputDim: Int) throws
    -> LossTerm
  {
    let what = "loss term \(index)"
    let r = try JSONObjectReader(value, what: what)
    let name = try r.string("loss", default: "value")
    guard let kind = Kind(rawValue: name) else {
      throw LaminaError.invalid(
        "\(what): unknown loss \"\(name)\" (expected one of "
          + Kind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ") + ")")
    }
    var term = LossTerm(kind: kind)
    term.weight = try r.double("weight", default: 1, min: 0, max: 1e12)
    term.batchSize = try r.int("batch_size", default: 0, min: 0, max: Limits.maxBatchElements)
    switch kind {
    case .value, .boundary:
      term.metric = try r.string("metric", default: "mse")
      guard ["mse", "l1"].contains(term.metric) else {
        throw LaminaError.invalid(
          "\(what): metric must be \"mse\" or \"l1\", not \"\(term.metric)\"")
      }
    case .normal:
      term.metric = try r.string("metric", default: "cosine")
      guard ["cosine", "l2"].contains(term.metric) else {
        throw LaminaError.invalid(
          "\(what): metric must be \"cosine\" or \"l2\", not \"\(term.metric)\"")
      }
    case .laplacian:
      term.a = try r.double("a", default: 0, min: -1e12, max: 1e12)
      term.c = try r.double("c", default: 1, min: -1e12, max: 1e12)
      if let b = r.value("b") {
        guard case .array(let items) = b, items.count == inputDim else {
          throw LaminaError.shape(
            "\(what): \"b\" must be an array of \(inputDim) numbers (one per input)")
        }
        term.b = try items.enumerated().map { i, item in
          guard case .number(let v) = item, v.isFinite, abs(v) <= 1e12 else {
            throw LaminaError.invalid("\(what): b[\(i)] must be a finite number")
          }
          return v
        }
      } else {
        term.b = [Double](repeating: 0, count: inputDim)
      }
    case .eikonal, .gradient: break
    }
    try r.finish()
    if kind != .value && kind != .boundary && outputDim != 1 {
      throw LaminaError(
        .unsupported,
        "\(what): \"\(name)\" terms need a model with one output, not \(outputDim)")
    }
    return term
  }
}

/// The terms of one loss, with their points: what `Trainer.stepTerms` and `fitTerms`
/// train on. Made for one model's input and output widths.
public final class LossTerms {
  /// The terms, in config order.
  public private(set) var terms: [LossTerm]
  /// Their number, fixed when they are made (readable while `setPoints` runs elsewhere).
  public let termCount: Int
  /// Widths of the model the terms were made for.
  public let inputDim: Int
  public let outputDim: Int
  /// Which calls of the C interface are using the terms (`set_points` changes them, steps
  /// read them), so that overlapping calls are refused, not raced.
  public let useGuard = UseGuard()

  /// Terms read from JSON: an array of term objects, or `{"terms": [...]}`.
  public init(json: String, inputDim: Int, outputDim: Int) throws {
    var value = try JSONValue.parse(json, what: "loss terms")
    if case .object = value {
      let r = try JSONObjectReader(value, what: "loss terms")
      value = r.value("terms") ?? .array([])
      try r.finish()
    }
    guard case .array(let items) = value else {
      throw LaminaError.invalid("loss terms must be a JSON array of term objects")
    }
    guard !items.isEmpty else { throw LaminaError.invalid("loss terms: no terms given") }
    guard items.count <= 64 else {
      throw LaminaError.invalid("loss terms: \(items.count) terms is over the limit of 64")
    }
    terms = try items.enumerated().map {
      try LossTerm.parse($1, index: $0, inputDim: inputDim, outputDim: outputDim)
    }
    termCount = terms.count
    self.inputDim = inputDim
    self.outputDim = outputDim
  }

  /// The full config, every default filled in.
  public var json: JSONValue { .array(terms.map(\.json)) }

  /// Gives term `index` its `n` points (`x`, n x inputDim) and targets (`targetCount`
  /// values: n times the kind's `targetColumns`), copied. Normals are stored normalised and
  /// must not be zero. Throws, changing nothing, on a bad index, count or value.
  public func setPoints(
    _ index: Int, _ x: UnsafePointer<Float>, count n: Int, targets: UnsafePointer<Float>?,
    targetCount: Int
  ) throws {
    guard terms.indices.contains(index) else {
      throw LaminaError.invalid("loss term \(index) does not exist (there are \(terms.count))")
    }
    let what = "loss term \(index) (\(terms[index].kind.rawValue))"
    guard n > 0 else { throw LaminaError.invalid("\(what): no points given (n = 0)") }
    let columns = terms[index].targetColumns(inputDim: inputDim, outputDim: outputDim)
    let (elements, overflow) = n.multipliedReportingOverflow(by: max(inputDim, columns))
    guard !overflow, elements <= Limits.maxBatchElements else {
      throw LaminaError(.outOfMemory, "\(what): \(n) points is over the batch limit")
    }
    guard targetCount == n * columns else {
      throw LaminaError.shape(
        "\(what): needs \(n * columns) target values (\(n) x \(columns)), got \(targetCount)")
    }
    try Model.checkFinite(x, count: n * inputDim, what: "\(what) points")
    var values = [Float]()
    if columns > 0 {
      guard let targets else { throw LaminaError.invalid("\(what): targets must not be NULL") }
      try Model.checkFinite(targets, count: n * columns, what: "\(what) targets")
      values = Array(UnsafeBufferPointer(start: targets, count: n * columns))
      if terms[index].kind == .normal {
        for r in 0..<n {
          var s: Double = 0
          for d in 0..<columns {
            let v = Double(values[r * columns + d])
            s += v * v
          }
          guard s > 0 else { throw LaminaError.numeric("\(what): normal \(r) is zero") }
          let inverse = 1 / s.squareRoot()
          for d in 0..<columns {
            values[r * columns + d] = Float(Double(values[r * columns + d]) * inverse)
          }
        }
      }
    }
    terms[index].points = Array(UnsafeBufferPointer(start: x, count: n * inputDim))
    terms[index].targets = values
    terms[index].count = n
  }

  /// Throws unless every term has points.
  func checkReady() throws {
    if let i = terms.firstIndex(where: { $0.count == 0 }) {
      throw LaminaError.invalid("loss term \(i) (\(terms[i].kind.rawValue)) has no points yet")
    }
  }
}
