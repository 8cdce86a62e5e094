import XCTest

@testable import Lamina

/// How `checkGradients` probes a layer.
struct GradientCheckOptions {
  /// Central-difference step relative to the probed value: h = step * max(1, |v|). 1e-3
  /// balances truncation error (~h^2 f''' / 6) against Float rounding of the outputs
  /// (~6e-8 |y| / h); lower it for fast-oscillating layers, raise it for noisy ones.
  var step = 1e-3
  /// Relative part of the tolerance: a check passes when
  /// |analytic - numeric| <= absoluteTolerance + relativeTolerance * max(|analytic|, |numeric|).
  var relativeTolerance = 5e-3
  /// Absolute part of the tolerance, in units of the loss (whose weights are in [-1, 1]).
  var absoluteTolerance = 1e-3
  /// At most this many entries of the input and of each parameter are differenced; larger
  /// tensors are sampled at random (the seed fixes which), so wide layers stay fast.
  var maxEntriesPerTensor = 256
  /// Seeds the input, the loss weights and the sampling.
  var seed: UInt64 = 1
}

/// What `checkGradients` found.
struct GradientCheckResult {
  /// One message per failed check, naming the layer, the entry and both values.
  var failures: [String] = []
  /// Number of entries compared against finite differences.
  var checkedEntries = 0
  /// Largest |analytic - numeric| / (absoluteTolerance + relativeTolerance * scale) seen;
  /// <= 1 means every check passed with that much room.
  var worstRatio = 0.0
}

/// Checks any `Layer`'s `backward` against central finite differences of `forward`, and the
/// protocol's promises around it, on a batch of `n` rows made by `input(row, column, &rng)`.
///
/// The scalar loss is L = sum(r * y) for fixed random r in [-1, 1], so dL/dy = r. It checks:
/// - forward is deterministic (bit-identical twice) and changes no parameter;
/// - copy() gives the same outputs and parameters that share nothing with the original;
/// - backward with parameterGradients false changes no parameter value or gradient;
/// - dx is overwritten (it is pre-filled with NaN) and is the same with or without
///   parameter gradients;
/// - parameter gradients are added to what was there, and do not depend on dx being asked for;
/// - every checked entry of dL/dx and of each parameter's gradient matches
///   (L(v + h) - L(v - h)) / (2h), differenced in Double from Float forwards, with the step
///   measured as the Float values actually used.
/// Inputs should keep away from kinks by more than the step. The layer is left as it was
/// found (values and gradients).
func checkGradients(
  of layer: Layer, label: String, batch n: Int, options: GradientCheckOptions = .init(),
  input: (_ row: Int, _ column: Int, _ rng: inout RandomSource) -> Float
) -> GradientCheckResult {
  var result = GradientCheckResult()
  func fail(_ message: String) { result.failures.append("\(label): \(message)") }

  let inCount = n * layer.inputDim
  let outCount = n * layer.outputDim
  var rng = RandomSource(seed: options.seed)
  var x = [Float](repeating: 0, count: inCount)
  for row in 0..<n {
    for column in 0..<layer.inputDim {
      x[row * layer.inputDim + column] = input(row, column, &rng)
    }
  }
  let r = (0..<outCount).map { _ in Float(rng.uniform(-1, 1)) }
  let parameters = layer.parameters
  let savedValues = parameters.map { $0.value }
  let savedGradients = parameters.map { $0.gradient }  // put back at the end

  func forward(_ input: [Float]) -> [Float] {
    var out = [Float](repeating: .nan, count: outCount)
    input.withUnsafeBufferPointer { xp in
      out.withUnsafeMutableBufferPointer { yp in
        if let xb = xp.baseAddress, let yb = yp.baseAddress { layer.forward(xb, yb, count: n) }
      }
    }
    return out
  }
  func backward(_ y: [Float], wantDx: Bool, parameterGradients: Bool) -> [Float] {
    var dx = [Float](repeating: .nan, count: inCount)
    x.withUnsafeBufferPointer { xp in
      y.withUnsafeBufferPointer { yp in
        r.withUnsafeBufferPointer { rp in
          dx.withUnsafeMutableBufferPointer { dxp in
            guard let xb = xp.baseAddress, let yb = yp.baseAddress, let rb = rp.baseAddress
            else { return }
            layer.backward(
              xb, yb, rb, wantDx ? dxp.baseAddress : nil, count: n,
              parameterGradients: parameterGradients)
          }
        }
      }
    }
    return dx
  }
  func bits(_ a: [Float]) -> [UInt32] { a.map(\.bitPattern) }
  /// Numeric dL/dv from two perturbed forwards, differenced output by output so that the
  /// outputs the perturbation did not touch cancel exactly.
  func difference(_ plus: [Float], _ minus: [Float], over width: Double) -> Double {
    var sum = 0.0
    for k in 0..<outCount { sum += Double(r[k]) * (Double(plus[k]) - Double(minus[k])) }
    return sum / width
  }
  func compare(_ analytic: Double, _ numeric: Double, _ what: String) {
    result.checkedEntries += 1
    let scale = max(abs(analytic), abs(numeric))
    let ratio =
      abs(analytic - numeric) / (options.absoluteTolerance + options.relativeTolerance * scale)
    if !(ratio <= 1) {
      fail("\(what): analytic \(analytic) vs numeric \(numeric)")
    }
    if ratio.isFinite {
      result.worstRatio = max(result.worstRatio, ratio)
    } else {
      result.worstRatio = .infinity
    }
  }
  func sample(_ count: Int) -> [Int] {
    guard count > options.maxEntriesPerTensor else { return Array(0..<count) }
    var indices = Array(0..<count)
    for i in 0..<options.maxEntriesPerTensor {
      indices.swapAt(i, i + rng.index(below: count - i))
    }
    return Array(indices.prefix(options.maxEntriesPerTensor)).sorted()
  }
  func perturbed(_ v: Float, _ sign: Double) -> Float {
    Float(Double(v) + sign * options.step * max(1, abs(Double(v))))
  }

  // Forward: deterministic, finite, and read-only.
  let y = forward(x)
  if bits(forward(x)) != bits(y) { fail("forward is not deterministic") }
  if let bad = y.firstIndex(where: { !$0.isFinite }) {
    fail("forward gave \(y[bad]) at output \(bad)")
  }
  for (p, saved) in zip(parameters, savedValues) where bits(p.value) != bits(saved) {
    fail("forward changed parameter \"\(p.name)\"")
  }

  // copy(): same function, independent storage.
  let twin = layer.copy()
  let twinParameters = twin.parameters
  if twinParameters.map(\.name) != parameters.map(\.name)
    || twinParameters.map(\.shape) != parameters.map(\.shape)
  {
    fail("copy() has different parameter names or shapes")
  } else {
    for (a, b) in zip(parameters, twinParameters) {
      if a === b { fail("copy() shares parameter \"\(a.name)\"") }
      if bits(a.value) != bits(b.value) { fail("copy() has different \"\(a.name)\" values") }
    }
    var twinY = [Float](repeating: .nan, count: outCount)
    x.withUnsafeBufferPointer { xp in
      twinY.withUnsafeMutableBufferPointer { yp in
        if let xb = xp.baseAddress, let yb = yp.baseAddress { twin.forward(xb, yb, count: n) }
      }
    }
    if bits(twinY) != bits(y) { fail("copy() computes different outputs") }
    for (i, (a, b)) in zip(parameters, twinParameters).enumerated() where b.count > 0 && a !== b {
      b.value[0] = b.value[0] == 1 ? 2 : 1
      if a.value[0].bitPattern != savedValues[i][0].bitPattern {
        fail("changing the copy's \"\(b.name)\" changed the original")
      }
    }
  }
  if twin.spec != layer.spec { fail("copy() has a different spec") }
  if case .string = layer.spec["type"] {} else { fail("spec has no string \"type\"") }

  // Backward without parameter gradients must leave the layer alone. Gradients start at a
  // recognisable non-zero pattern so that a stray write shows.
  var pattern = RandomSource(seed: options.seed &+ 7)
  let startGradients = parameters.map { p in p.value.map { _ in Float(pattern.uniform(-1, 1)) } }
  for (p, g) in zip(parameters, startGradients) { p.gradient = g }
  let dxOnly = backward(y, wantDx: true, parameterGradients: false)
  for (i, p) in parameters.enumerated() {
    if bits(p.gradient) != bits(startGradients[i]) {
      fail("backward(parameterGradients: false) changed the gradient of \"\(p.name)\"")
    }
    if bits(p.value) != bits(savedValues[i]) {
      fail("backward(parameterGradients: false) changed the value of \"\(p.name)\"")
    }
  }
  if let bad = dxOnly.firstIndex(where: { !$0.isFinite }) {
    fail("dx[\(bad)] is \(dxOnly[bad]) (not written, or not finite)")
  }

  // With parameter gradients: from zero gives the analytic gradient; dx must not change.
  for p in parameters { p.gradient = [Float](repeating: 0, count: p.count) }
  let dx = backward(y, wantDx: true, parameterGradients: true)
  if bits(dx) != bits(dxOnly) { fail("dx differs with and without parameter gradients") }
  let analytic = parameters.map { $0.gradient }

  // Gradients accumulate: starting from the pattern gives pattern + analytic.
  for (p, g) in zip(parameters, startGradients) { p.gradient = g }
  _ = backward(y, wantDx: true, parameterGradients: true)
  for (i, p) in parameters.enumerated() {
    for j in 0..<p.count {
      let expected = Double(startGradients[i][j]) + Double(analytic[i][j])
      let slack = 1e-5 * (abs(Double(startGradients[i][j])) + abs(Double(analytic[i][j]))) + 1e-30
      if !(abs(Double(p.gradient[j]) - expected) <= slack) {
        fail(
          "\"\(p.name)\"[\(j)] gradient \(p.gradient[j]) is not the previous "
            + "\(startGradients[i][j]) plus \(analytic[i][j]): backward must add"
        )
        break
      }
    }
  }

  // Parameter gradients must not depend on whether dx was asked for.
  for p in parameters { p.gradient = [Float](repeating: 0, count: p.count) }
  _ = backward(y, wantDx: false, parameterGradients: true)
  for (i, p) in parameters.enumerated() {
    for j in 0..<p.count
    where
      !(abs(Double(p.gradient[j]) - Double(analytic[i][j]))
      <= 1e-5 * abs(Double(analytic[i][j])) + 1e-30)
    {
      fail(
        "\"\(p.name)\"[\(j)] gradient is \(p.gradient[j]) with dx = nil "
          + "but \(analytic[i][j]) with dx"
      )
      break
    }
  }
  for (p, g) in zip(parameters, savedGradients) { p.gradient = g }

  // dL/dx against central differences.
  for i in sample(inCount) {
    var probe = x
    let plus = perturbed(x[i], 1)
    let minus = perturbed(x[i], -1)
    probe[i] = plus
    let yPlus = forward(probe)
    probe[i] = minus
    let yMinus = forward(probe)
    let numeric = difference(yPlus, yMinus, over: Double(plus) - Double(minus))
    let row = i / max(layer.inputDim, 1)
    let column = i % max(layer.inputDim, 1)
    compare(Double(dx[i]), numeric, "dL/dx[row \(row), column \(column)] at x = \(x[i])")
  }

  // dL/dparameter against central differences, restoring each value bit for bit.
  for (pi, p) in parameters.enumerated() {
    for j in sample(p.count) {
      let original = p.value[j]
      let plus = perturbed(original, 1)
      let minus = perturbed(original, -1)
      p.value[j] = plus
      let yPlus = forward(x)
      p.value[j] = minus
      let yMinus = forward(x)
      p.value[j] = original
      let numeric = difference(yPlus, yMinus, over: Double(plus) - Double(minus))
      compare(Double(analytic[pi][j]), numeric, "dL/d\(p.name)[\(j)] at \(original)")
    }
  }
  for (p, saved) in zip(parameters, savedValues) where bits(p.value) != bits(saved) {
    fail("parameter \"\(p.name)\" was not restored")
  }
  return result
}

/// `checkGradients`, reporting every failure through XCTest (at most `maxReported` of them,
/// then a count) and failing if nothing at all was checked.
func assertGradientsCorrect(
  of layer: Layer, label: String, batch n: Int, options: GradientCheckOptions = .init(),
  maxReported: Int = 10, file: StaticString = #filePath, line: UInt = #line,
  input: (_ row: Int, _ column: Int, _ rng: inout RandomSource) -> Float
) {
  let result = checkGradients(of: layer, label: label, batch: n, options: options, input: input)
  for message in result.failures.prefix(maxReported) {
    XCTFail(message, file: file, line: line)
  }
  if result.failures.count > maxReported {
    XCTFail(
      "\(label): \(result.failures.count - maxReported) more gradient-check failures",
      file: file, line: line)
  }
  XCTAssertGreaterThan(
    result.checkedEntries, 0, "\(label): the gradient check compared nothing", file: file,
    line: line)
}

/// Test wrapper: a layer whose first input column is a field index, seen as a layer without
/// it whose row r takes field `field(r)`, so the gradient checker never perturbs the index.
final class IndexPinned: Layer {
  let inner: Layer
  let field: (Int) -> Int
  init(_ inner: Layer, field: @escaping (Int) -> Int) {
    self.inner = inner
    self.field = field
  }
  var inputDim: Int { inner.inputDim - 1 }
  var outputDim: Int { inner.outputDim }
  var parameters: [Parameter] { inner.parameters }
  var spec: JSONValue { inner.spec }
  func copy() -> Layer { IndexPinned(inner.copy(), field: field) }

  func withIndexed<R>(_ x: UnsafePointer<Float>, _ n: Int, _ body: (UnsafePointer<Float>) -> R) -> R
  {
    let d = inputDim
    var xi = [Float](repeating: 0, count: n * (d + 1))
    for r in 0..<n {
      xi[r * (d + 1)] = Float(field(r))
      for a in 0..<d { xi[r * (d + 1) + 1 + a] = x[r * d + a] }
    }
    return xi.withUnsafeBufferPointer { body($0.baseAddress!) }
  }

  func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    withIndexed(x, n) { inner.forward($0, y, count: n) }
  }

  func backward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool
  ) {
    let d = inputDim
    withIndexed(x, n) { xi in
      var dxi = [Float](repeating: .nan, count: n * (d + 1))
      dxi.withUnsafeMutableBufferPointer { db in
        inner.backward(
          xi, y, dy, dx == nil ? nil : db.baseAddress!, count: n,
          parameterGradients: parameterGradients)
      }
      if let dx {
        for r in 0..<n {
          XCTAssertEqual(dxi[r * (d + 1)], 0, "index column gradient")
          for a in 0..<d { dx[r * d + a] = dxi[r * (d + 1) + 1 + a] }
        }
      }
    }
  }
}
