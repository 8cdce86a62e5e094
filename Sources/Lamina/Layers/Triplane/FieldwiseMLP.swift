/// N independent MLP decoders, one per field, behind a field-indexed encoding: the
/// `"triplane"` kind's decoder when `"decoder_per_field"` is true.
///
/// Input rows are `field, f_0, ..., f_{F-1}`: the field index (a whole number 0 ..< fields
/// stored as a float, as `TriplaneEncoding` passes it on) and F features. Row r goes through
/// field `x[r, 0]`'s own MLP: dense stages `widths[0] -> widths[1] -> ... -> widths.last`,
/// `activations[s]` after hidden stage s and `outputActivation` after the last, exactly the
/// `"mlp"` kind's layers. A row whose index names no field gets all-zero outputs and passes
/// no gradient (as the encoding gives such a row zero features).
///
/// **Tensors.** Per dense stage s, `"s.weight"` of shape [fields, out, in] and `"s.bias"`
/// [fields, out] (in a model after the encoding: `"1.0.weight"`, `"1.0.bias"`,
/// `"1.1.weight"`, ...). Slice k of each is field k's `nn.Linear` weight and bias, so
/// `torch.nn.Linear(in, out)` loaded with `weight[k]` and `bias[k]` is field k's stage.
///
/// **Initialisation** (`initialize(seed:)`): one `RandomSource(seed)` stream draws field 0's
/// whole decoder, then field 1's, and so on, each exactly as the `"mlp"` kind draws its
/// dense layers (`ModelBuilder.initialize`, same initialiser resolution). So field 0 starts
/// as the shared decoder of the same seed, and field k's start does not depend on how many
/// fields follow it.
///
/// **Passes.** The rows are grouped by field with a stable counting sort into pooled scratch
/// (no allocation per call once warm); each field's rows run through its stages as one sgemm
/// per stage, the activations run over all rows at once, and the outputs are scattered back.
/// Backward recomputes the forward pass the same way, then adds each field's dW += dZ^T A
/// and db += column sums of dZ into its own slice and writes dL/dx (0 for the index column).
/// Everything runs on the calling thread in a fixed order, so results are bit-identical run
/// to run.
///
/// Learnable activations (PReLU) are not supported: their slope would need a per-field
/// tensor; the initialiser refuses them.
public final class FieldwiseMLP: Layer {
  /// Number of decoders.
  public let fields: Int
  /// Feature widths through one decoder: [F] + hidden + [output].
  public let widths: [Int]
  /// The activation after each hidden stage (`widths.count - 2` of them).
  public let activations: [Activation]
  /// The activation after the last stage.
  public let outputActivation: Activation
  /// How the weights are drawn (as the `"mlp"` kind's `init`).
  public let initializer: Initializer
  /// How the biases are drawn (as the `"mlp"` kind's `bias_init`).
  public let biasInitializer: Initializer
  /// Per stage, [fields, out, in].
  public let weights: [Parameter]
  /// Per stage, [fields, out].
  public let biases: [Parameter]
  /// Scratch for the sorted rows and every stage's values.
  let scratch = ScratchPool()

  /// Decoders with zero weights; call `initialize(seed:)` to draw them. Throws
  /// `.invalidArgument` for fewer than two widths, a width or field count out of range, a
  /// wrong number of activations or a learnable activation, and `.outOfMemory` when the
  /// weights would exceed `Limits.maxParameters`, before allocating them.
  public init(
    fields: Int, widths: [Int], activations: [Activation], outputActivation: Activation,
    initializer: Initializer = .auto, biasInitializer: Initializer = .auto
  ) throws {
    let what = "per-field decoder (\"decoder_per_field\")"
    guard (1...TriplaneOptions.maxFields).contains(fields) else {
      throw LaminaError.invalid(
        "\(what): \"fields\" must be between 1 and \(TriplaneOptions.maxFields)")
    }
    guard widths.count >= 2, widths.count <= Limits.maxLayers,
      widths.allSatisfy({ (1...Limits.maxWidth).contains($0) })
    else {
      throw LaminaError.invalid(
        "\(what): needs 2 to \(Limits.maxLayers) widths, each 1...\(Limits.maxWidth)")
    }
    guard activations.count == widths.count - 2 else {
      throw LaminaError.invalid(
        "\(what): \(activations.count) activations for \(widths.count - 2) hidden layers")
    }
    guard !(activations + [outputActivation]).contains(where: \.isLearnable) else {
      throw LaminaError.invalid(
        "\(what): a learnable activation (prelu) is not supported with \"decoder_per_field\"; "
          + "use leaky_relu, or a shared decoder")
    }
    try ModelBuilder.checkParameterBudget(Self.parameterBudget(fields: fields, widths: widths))
    self.fields = fields
    self.widths = widths
    self.activations = activations
    self.outputActivation = outputActivation
    self.initializer = initializer
    self.biasInitializer = biasInitializer
    var w: [Parameter] = []
    var b: [Parameter] = []
    for s in 0..<(widths.count - 1) {
      let (inp, out) = (widths[s], widths[s + 1])
      w.append(
        Parameter(
          name: "\(s).weight", shape: [fields, out, inp],
          value: [Float](repeating: 0, count: fields * out * inp)))
      b.append(
        Parameter(
          name: "\(s).bias", shape: [fields, out], value: [Float](repeating: 0, count: fields * out)
        ))
    }
    weights = w
    biases = b
  }

  /// Shares nothing with `other`.
  private init(copying other: FieldwiseMLP) {
    fields = other.fields
    widths = other.widths
    activations = other.activations
    outputActivation = other.outputActivation
    initializer = other.initializer
    biasInitializer = other.biasInitializer
    weights = other.weights.map { $0.copy() }
    biases = other.biases.map { $0.copy() }
  }

  /// The scalars as factor pairs for `ModelBuilder.checkParameterBudget`: per stage,
  /// (fields * (in + 1)) x out.
  static func parameterBudget(fields: Int, widths: [Int]) -> [(Int, Int)] {
    zip(widths, widths.dropFirst()).map { (fields * ($0.0 + 1), $0.1) }
  }

  /// Number of dense stages.
  var stages: Int { widths.count - 1 }

  /// The activation applied after stage `s`.
  @inline(__always)
  func activation(after s: Int) -> Activation {
    s == stages - 1 ? outputActivation : activations[s]
  }

  /// Draws every field's weights from one stream started at `seed`: field 0's stages in
  /// order (weight, then bias, as `ModelBuilder.buildMLP` does), then field 1's, and so on.
  public func initialize(seed: UInt64) {
    var rng = RandomSource(seed: seed)
    // One Dense per stage serves as the template the shared initialiser fills.
    let templates = (0..<stages).map {
      Dense(
        input: widths[$0], output: widths[$0 + 1], initializer: initializer,
        biasInitializer: biasInitializer)
    }
    for k in 0..<fields {
      for (s, dense) in templates.enumerated() {
        let next = activation(after: s)
        let resolved = ModelBuilder.resolve(initializer, next: next, hidden: activations.last)
        let omega = ModelBuilder.omega0(next.name == "sine" ? next : activations.first)
        ModelBuilder.initialize(
          dense, resolved: resolved, firstLayer: s == 0, omega0: omega, rng: &rng)
        let (wc, bc) = (dense.weight.count, dense.outputDim)
        weights[s].value.replaceSubrange(k * wc..<(k + 1) * wc, with: dense.weight.value)
        if let bias = dense.bias {
          biases[s].value.replaceSubrange(k * bc..<(k + 1) * bc, with: bias.value)
        }
      }
    }
  }

  /// 1 (the field index) + `widths[0]`.
  public var inputDim: Int { 1 + widths[0] }
  /// `widths.last`.
  public var outputDim: Int { widths[widths.count - 1] }
  /// Weight and bias of stage 0, then of stage 1, ...
  public var parameters: [Parameter] {
    zip(weights, biases).flatMap { [$0.0, $0.1] }
  }

  /// `{"type": "fieldwise_mlp", "fields", "widths", "activation", "output_activation",
  /// "init", "bias_init"}`.
  public var spec: JSONValue {
    .object([
      ("type", .string("fieldwise_mlp")), ("fields", .number(Double(fields))),
      ("widths", .array(widths.map { .number(Double($0)) })),
      ("activation", .array(activations.map(\.spec))),
      ("output_activation", outputActivation.spec),
      ("init", .string(initializer.rawValue)), ("bias_init", .string(biasInitializer.rawValue)),
    ])
  }

  /// A deep copy with its own weights.
  public func copy() -> Layer { FieldwiseMLP(copying: self) }

  // MARK: - The shared pass

  /// Where a call's values live, rows in field order (`order[i]` is the input row of
  /// sorted row i; field k's rows are `start[k] ..< start[k + 1]`).
  struct Work {
    /// Sorted row i's input row; `valid` entries.
    var order: UnsafeMutablePointer<Int>
    /// fields + 1 offsets into `order`.
    var start: UnsafeMutablePointer<Int>
    /// Rows with a valid field index.
    var valid: Int
    /// Stage s's input (s = 0: the gathered features), valid x widths[s]; the last one is
    /// the output. (Pointer lists in scratch too, not arrays: a warm call allocates nothing.)
    var inputs: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    /// Stage s's pre-activation output, valid x widths[s + 1].
    var z: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    /// The decoder's output, valid x widths.last (the output activation applied).
    var output: UnsafeMutablePointer<Float>
    /// Backward's work areas, valid x max(widths) each (nil in forward).
    var grad:
      (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)?
  }

  /// Sorts the rows by field, runs every stage, and calls `body` with the values; scratch
  /// comes from the pool (with room for backward's work areas when `backward` is true).
  private func run<R>(
    _ x: UnsafePointer<Float>, count n: Int, backward: Bool, _ body: (Work) -> R
  ) -> R {
    let maxWidth = widths.max() ?? 1
    var bytes = ScratchPool.bytes(Int.self, n) + ScratchPool.bytes(Int.self, fields + 1)
    bytes += ScratchPool.bytes(UnsafeMutablePointer<Float>.self, widths.count)  // inputs
    bytes += ScratchPool.bytes(UnsafeMutablePointer<Float>.self, stages)  // z
    for w in widths { bytes += ScratchPool.bytes(Float.self, n * w) }  // inputs + output
    for w in widths.dropFirst() { bytes += ScratchPool.bytes(Float.self, n * w) }  // z
    if backward { bytes += 3 * ScratchPool.bytes(Float.self, n * maxWidth) }
    return scratch.withBytes(bytes) { raw in
      var cursor = ScratchCursor(raw)
      let order = cursor.take(Int.self, n)
      let start = cursor.take(Int.self, fields + 1)
      let inputs = cursor.take(UnsafeMutablePointer<Float>.self, widths.count)
      let z = cursor.take(UnsafeMutablePointer<Float>.self, stages)
      for (s, w) in widths.enumerated() {
        (inputs + s).initialize(to: cursor.take(Float.self, n * w))
      }
      for s in 0..<stages { (z + s).initialize(to: cursor.take(Float.self, n * widths[s + 1])) }
      let grad =
        backward
        ? (
          cursor.take(Float.self, n * maxWidth), cursor.take(Float.self, n * maxWidth),
          cursor.take(Float.self, n * maxWidth)
        ) : nil

      // Stable counting sort by field; bad indices are left out.
      let inp = inputDim
      start.update(repeating: 0, count: fields + 1)
      for r in 0..<n {
        let k = fieldIndex(x[r * inp], fields: fields)
        if k >= 0 { start[k + 1] += 1 }
      }
      for k in 0..<fields { start[k + 1] += start[k] }
      let valid = start[fields]
      // `start[k]` is advanced while placing field k's rows, then restored below.
      for r in 0..<n {
        let k = fieldIndex(x[r * inp], fields: fields)
        guard k >= 0 else { continue }
        order[start[k]] = r
        start[k] += 1
      }
      for k in stride(from: fields, to: 0, by: -1) { start[k] = start[k - 1] }
      start[0] = 0

      let f = widths[0]
      for i in 0..<valid { (inputs[0] + i * f).update(from: x + order[i] * inp + 1, count: f) }
      for s in 0..<stages {
        let (win, wout) = (widths[s], widths[s + 1])
        weights[s].value.withUnsafeBufferPointer { wb in
          biases[s].value.withUnsafeBufferPointer { bb in
            for k in 0..<fields {
              let (lo, hi) = (start[k], start[k + 1])
              guard hi > lo else { continue }
              let zk = z[s] + lo * wout
              let bk = bb.baseAddress! + k * wout
              for i in 0..<(hi - lo) { (zk + i * wout).update(from: bk, count: wout) }
              BLAS.gemm(
                transA: false, transB: true, m: hi - lo, n: wout, k: win, alpha: 1,
                inputs[s] + lo * win, lda: win, wb.baseAddress! + k * wout * win, ldb: win,
                beta: 1, zk, ldc: wout)
            }
          }
        }
        activation(after: s).forward(z[s], inputs[s + 1], count: valid * wout)
      }
      return body(
        Work(
          order: order, start: start, valid: valid, inputs: inputs, z: z,
          output: inputs[stages], grad: grad))
    }
  }

  // MARK: - Forward

  /// y = decoder_{x[r, 0]}(x[r, 1...]) for each row r; rows naming no field give 0.
  public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    guard n > 0 else { return }
    let out = outputDim
    run(x, count: n, backward: false) { w in
      if w.valid < n { y.update(repeating: 0, count: n * out) }
      for i in 0..<w.valid { (y + w.order[i] * out).update(from: w.output + i * out, count: out) }
    }
  }

  // MARK: - Backward

  /// Back-propagates `dy`; see `Layer.backward`. Field k's rows add only into slice k of
  /// each weight and bias gradient.
  public func backward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool
  ) {
    guard n > 0, dx != nil || parameterGradients else { return }
    run(x, count: n, backward: true) { w in
      guard let (bufA, bufB, dz) = w.grad else { return }
      let out = outputDim
      // dA: dL/d(stage s's activated output), sorted rows.
      var da = bufA
      var daPrev = bufB
      for i in 0..<w.valid { (da + i * out).update(from: dy + w.order[i] * out, count: out) }
      for s in stride(from: stages - 1, through: 0, by: -1) {
        let (win, wout) = (widths[s], widths[s + 1])
        let act = activation(after: s)
        _ = act.backward(w.z[s], w.inputs[s + 1], da, dz, count: w.valid * wout)
        let needInput = s > 0 || dx != nil
        for k in 0..<fields {
          let (lo, hi) = (w.start[k], w.start[k + 1])
          guard hi > lo else { continue }
          let m = hi - lo
          let dzk = UnsafePointer(dz + lo * wout)
          if parameterGradients {
            weights[s].gradient.withUnsafeMutableBufferPointer { g in
              BLAS.gemm(
                transA: true, transB: false, m: wout, n: win, k: m, alpha: 1, dzk, lda: wout,
                w.inputs[s] + lo * win, ldb: win, beta: 1, g.baseAddress! + k * wout * win,
                ldc: win)
            }
            biases[s].gradient.withUnsafeMutableBufferPointer { g in
              let gb = g.baseAddress! + k * wout
              for i in 0..<m {
                let row = dzk + i * wout
                for j in 0..<wout { gb[j] += row[j] }
              }
            }
          }
          if needInput {
            weights[s].value.withUnsafeBufferPointer { wb in
              BLAS.gemm(
                transA: false, transB: false, m: m, n: win, k: wout, alpha: 1, dzk, lda: wout,
                wb.baseAddress! + k * wout * win, ldb: win, beta: 0, daPrev + lo * win, ldc: win)
            }
          }
        }
        swap(&da, &daPrev)
      }
      guard let dx else { return }
      let (inp, f) = (inputDim, widths[0])
      if w.valid < n { dx.update(repeating: 0, count: n * inp) }
      for i in 0..<w.valid {
        let row = dx + w.order[i] * inp
        row[0] = 0
        (row + 1).update(from: da + i * f, count: f)
      }
    }
  }
}
