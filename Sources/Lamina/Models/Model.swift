/// A model: an architecture (its spec) and its weights, as a chain of layers.
///
/// Reading calls (`predict`, `inputGradient`, `tensor(named:)` reads, saving) never change
/// the model and may run on many threads at once. Training and tensor writes change it and
/// need exclusive access.
public final class Model {
  /// The model family named by the spec ("mlp", "sequential", ...).
  public let kind: String
  /// The full spec, every default filled in; building it again gives the same architecture.
  public let spec: JSONValue
  /// The layers, applied in order.
  public let layers: [Layer]
  /// Features per input sample.
  public let inputDim: Int
  /// Outputs per sample.
  public let outputDim: Int
  /// Named tensors in a fixed order, named "<layer index>.<parameter>" as in PyTorch's
  /// `nn.Sequential` ("0.weight", "0.bias", "2.weight", ...): each layer's parameters, then
  /// its buffers.
  public let tensors: [(name: String, parameter: Parameter)]
  /// The trainable tensors, in tensor order (what optimizers update).
  public let parameters: [Parameter]
  /// The widest row any layer reads or writes.
  let widest: Int
  /// Which calls of the C interface are using the model (reading or changing it), so that
  /// overlapping calls that break its thread-safety rule are refused, not raced.
  public let useGuard = UseGuard()
  /// For each layer index, the layer there that runs the activation after it in its own
  /// passes, and that activation, which forward and backward passes run as one fused step
  /// (`ActivationFusing`); nil elsewhere. Found once here, so passes do no dynamic casts.
  let fused: [(dense: any ActivationFusing, activation: any FusableActivation)?]
  /// For each layer index, the layer when it can keep its training forward pass's work for
  /// the backward pass (`ForwardReusingLayer`), else nil. Found once here, as `fused`.
  let reusing: [(any ForwardReusingLayer)?]
  /// For each layer index, the layer when it runs jet passes (`JetLayer`, derivative
  /// losses), else nil. Found once here, as `fused`.
  let jets: [(any JetLayer)?]
  /// Every layer as a `GradientPassLayer` when all are, each where it sits
  /// (`supportsGradientPass(at:)`), and the model has one output (the reverse-over-reverse
  /// path of first-order derivative losses), else nil. Found once.
  let gradientLayers: [any GradientPassLayer]?
  /// Layer 0 when it can share sources prepared once among a call's row chunks
  /// (`EncodingHead`), else nil.
  let head: (any EncodingHead)?
  /// `parallelPredictRows()`, found once (see `parallelRows(_:chunkRows:)`).
  private let parallelRows: Int?
  /// The tri-plane encoding layers, with their layer indices (tensor name prefixes). Found
  /// once here: every prediction and training step checks the first one's field indices,
  /// and building the list per call would allocate.
  public let triplaneEncodings: [(index: Int, layer: TriplaneEncoding)]
  /// Workspaces lent to `inputGradient` calls, one per concurrent caller and reused, so
  /// that a warm call allocates nothing (the call only reads the model, so callers on
  /// several threads cannot share one workspace).
  let gradientWorkspaces = ObjectPool<Workspace>()
  /// Jet workspaces lent to `inputDerivatives` calls, as `gradientWorkspaces`.
  let jetWorkspaces = ObjectPool<JetWorkspace>()

  /// Builds a model from a spec, drawing its initial weights from the spec's seed.
  public convenience init(spec: JSONValue) throws {
    let built = try ModelBuilder.build(spec)
    self.init(
      kind: built.kind, spec: built.fullSpec, layers: built.layers, inputDim: built.inputDim)
  }

  /// Builds a model from spec JSON text.
  public convenience init(json: String) throws {
    try self.init(spec: JSONValue.parse(json, what: "model spec"))
  }

  init(kind: String, spec: JSONValue, layers: [Layer], inputDim: Int) {
    self.kind = kind
    self.spec = spec
    self.layers = layers
    self.inputDim = inputDim
    self.outputDim = layers.last?.outputDim ?? inputDim
    var named: [(String, Parameter)] = []
    for (i, layer) in layers.enumerated() {
      for p in layer.parameters + layer.buffers { named.append(("\(i).\(p.name)", p)) }
    }
    tensors = named
    parameters = layers.flatMap(\.parameters)
    widest = layers.reduce(inputDim) { max($0, $1.outputDim) }
    fused = layers.indices.map { i in
      guard i + 1 < layers.count, let dense = layers[i] as? any ActivationFusing,
        let activation = layers[i + 1] as? any FusableActivation
      else { return nil }
      return (dense, activation)
    }
    reusing = layers.map { $0 as? any ForwardReusingLayer }
    jets = layers.map { $0 as? any JetLayer }
    let passes = layers.enumerated().compactMap { i, layer in
      (layer as? any GradientPassLayer).flatMap { $0.supportsGradientPass(at: i) ? $0 : nil }
    }
    gradientLayers =
      passes.count == layers.count && !layers.isEmpty && outputDim == 1 ? passes : nil
    head = layers.first as? any EncodingHead
    triplaneEncodings = TriplaneEncoding.indexed(in: layers)
    parallelRows = Model.parallelRows(layers, chunkRows: Model.chunkRows(widest: widest))
  }

  /// Number of trainable scalars (buffers are not counted, as in PyTorch).
  public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

  /// The parameter called `name`, or nil.
  public func tensor(named name: String) -> Parameter? {
    tensors.first { $0.name == name }?.parameter
  }

  /// A deep copy: same spec, its own weights.
  public func copy() -> Model {
    Model(kind: kind, spec: spec, layers: layers.map { $0.copy() }, inputDim: inputDim)
  }

  // MARK: - Checks shared by every entry point

  /// Rows per chunk when evaluating large batches, so scratch memory stays bounded (~1 MB
  /// per buffer) whatever `n` is.
  var chunkRows: Int { Model.chunkRows(widest: widest) }

  /// `chunkRows` for a model whose widest row is `widest` floats.
  static func chunkRows(widest: Int) -> Int { max(1, 262_144 / widest) }

  /// Throws unless `n` rows of this model fit the batch limit.
  func checkBatch(_ n: Int) throws {
    let (elements, overflow) = n.multipliedReportingOverflow(by: widest)
    guard n >= 0, !overflow, elements <= Limits.maxBatchElements else {
      throw LaminaError(
        .outOfMemory,
        "batch of \(n) samples is over the limit of \(Limits.maxBatchElements / widest)")
    }
  }

  /// Throws `.numeric` if any of `count` values is NaN or infinite.
  static func checkFinite(_ p: UnsafePointer<Float>, count: Int, what: String) throws {
    for i in 0..<count where !p[i].isFinite {
      throw LaminaError.numeric("\(what) holds a non-finite value (\(p[i])) at element \(i)")
    }
  }

  // MARK: - Inference

  /// y = model(x) for `n` rows; `x` is n x inputDim, `y` n x outputDim.
  public func predict(_ x: UnsafePointer<Float>, count n: Int, into y: UnsafeMutablePointer<Float>)
    throws
  {
    try checkBatch(n)
    try Model.checkFinite(x, count: n * inputDim, what: "input x")
    try checkTriplaneInput(x, count: n)
    guard n > 0 else { return }
    if let rows = parallelPredictRows(), n >= 2 * rows {
      predictInParallel(x, count: n, rows: rows, into: y)
      return
    }
    let rows = min(n, chunkRows)
    // Two ping-pong buffers; small ones live on the stack, so one-sample calls allocate
    // nothing.
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * rows * widest) { scratch in
      let (a, b) = (scratch.baseAddress!, scratch.baseAddress! + rows * widest)
      if n > rows, let encoding = head {
        // The encoding's channel-last plane copy is made once for all chunks.
        encoding.withSources(rows: n) { sources in
          predictChunks(
            x, count: n, rows: rows, a: a, b: b, into: y, head: (encoding, sources))
        }
      } else {
        predictChunks(x, count: n, rows: rows, a: a, b: b, into: y)
      }
    }
  }

  /// Rows per chunk when a plain MLP predicts a large batch chunk-parallel: as many as keep
  /// every product and activation pass of a chunk under `RowPlan.chunkWork`, so a chunk runs
  /// whole on one thread and stays in its cache, instead of each layer splitting its own
  /// product (which left the narrow first and last layers of a 3-64-64-1 net on one
  /// thread). Nil for models with layers that are not `RowLocal` (those parallelise
  /// themselves) or products so wide that such a chunk would be too short for an efficient
  /// product.
  func parallelPredictRows() -> Int? { parallelRows }

  /// `parallelPredictRows()` for `layers` with chunks of at most `chunkRows` rows. Found once
  /// in `init`: a dynamic cast to a protocol per layer costs more than a one-row prediction.
  private static func parallelRows(_ layers: [Layer], chunkRows: Int) -> Int? {
    var widestWork = 1
    for layer in layers {
      guard let local = layer as? any RowLocal else { return nil }
      widestWork = max(widestWork, local.rowWork)
    }
    let rows = min(chunkRows, (RowPlan.chunkWork - 1) / widestWork)
    return rows >= 64 ? rows : nil
  }

  /// `predictChunks` over `RowPlan.predictTasks` contiguous runs of whole chunks of `rows`
  /// rows, in parallel, each with its own ping-pong buffers. Chunk boundaries are the same
  /// multiples of `rows` as one thread would use.
  private func predictInParallel(
    _ x: UnsafePointer<Float>, count n: Int, rows: Int, into y: UnsafeMutablePointer<Float>
  ) {
    let chunks = (n + rows - 1) / rows
    let tasks = min(RowPlan.predictTasks, chunks)
    var job = PredictTasks(
      model: self, x: x, y: y, n: n, rows: rows, chunksPerTask: (chunks + tasks - 1) / tasks)
    Parallel.run(tasks, &job)
  }

  /// `predictInParallel`'s tasks, as a pool job: task i predicts chunks
  /// `i * chunksPerTask ..< (i + 1) * chunksPerTask`.
  private struct PredictTasks: PoolJob {
    let model: Model
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let n: Int
    let rows: Int
    let chunksPerTask: Int

    func run(_ task: Int) {
      let first = task * chunksPerTask * rows
      guard first < n else { return }
      let count = min(chunksPerTask * rows, n - first)
      let (rows, widest) = (self.rows, model.widest)
      withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * rows * widest) { scratch in
        model.predictChunks(
          x + first * model.inputDim, count: count, rows: rows, a: scratch.baseAddress!,
          b: scratch.baseAddress! + rows * widest, into: y + first * model.outputDim)
      }
    }
  }

  /// Runs the layers over chunks of `rows` rows with ping-pong buffers `a` and `b`. With
  /// `head`, layer 0 (that encoding) samples the given plane sources.
  private func predictChunks(
    _ x: UnsafePointer<Float>, count n: Int, rows: Int, a: UnsafeMutablePointer<Float>,
    b: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>,
    head: (any EncodingHead, PlaneSources)? = nil
  ) {
    var start = 0
    while start < n {
      let m = min(rows, n - start)
      var input = UnsafePointer(x + start * inputDim)
      var (cur, other) = (a, b)
      var i = 0
      while i < layers.count {
        let dest = i == layers.count - 1 ? y + start * outputDim : cur
        if let pair = fused[i] {
          // Dense into `cur` (or y when its activation is last), the activation in place
          // there: `other` holds the input, which later row blocks are still reading.
          let out = i + 1 == layers.count - 1 ? y + start * outputDim : cur
          pair.dense.forward(input, out, count: m, then: pair.activation, out)
          input = UnsafePointer(out)
          swap(&cur, &other)
          i += 2
          continue
        }
        if i == 0, let (encoding, sources) = head {
          encoding.forward(input, dest, count: m, sources: sources)
        } else {
          layers[i].forward(input, dest, count: m)
        }
        input = UnsafePointer(dest)
        swap(&cur, &other)
        i += 1
      }
      if layers.isEmpty { (y + start * outputDim).update(from: input, count: m * outputDim) }
      start += m
    }
  }

  /// Convenience: predictions for rows packed in an array.
  public func predict(_ x: [Float]) throws -> [Float] {
    guard x.count % inputDim == 0 else {
      throw LaminaError.shape("input has \(x.count) values, not a multiple of \(inputDim)")
    }
    let n = x.count / inputDim
    try checkBatch(n)  // before taking memory for the outputs
    var y = [Float](repeating: 0, count: n * outputDim)
    try x.withUnsafeBufferPointer { xb in
      try y.withUnsafeMutableBufferPointer { yb in
        try predict(xb.baseAddress!, count: n, into: yb.baseAddress!)
      }
    }
    return y
  }

  /// The exact Jacobian dy/dx by back-propagation: `dydx` is n x outputDim x inputDim.
  public func inputGradient(
    _ x: UnsafePointer<Float>, count n: Int, into dydx: UnsafeMutablePointer<Float>
  ) throws {
    try checkBatch(n)
    try Model.checkFinite(x, count: n * inputDim, what: "input x")
    try checkTriplaneInput(x, count: n)
    guard n > 0 else { return }
    let rows = min(n, max(1, chunkRows / max(1, layers.count)))
    gradientWorkspaces.with(make: Workspace.init) { scratch in
      scratch.reserve(rows: rows, for: self)
      if n > rows, let encoding = head {
        // The encoding's channel-last plane copy is made once for every chunk's passes.
        encoding.withSources(rows: n) { sources in
          scratch.headSources = sources
          inputGradientChunks(x, count: n, rows: rows, into: dydx, scratch: scratch)
          scratch.headSources = nil
        }
      } else {
        inputGradientChunks(x, count: n, rows: rows, into: dydx, scratch: scratch)
      }
    }
  }

  /// `inputGradient`'s work over chunks of `rows` rows.
  private func inputGradientChunks(
    _ x: UnsafePointer<Float>, count n: Int, rows: Int, into dydx: UnsafeMutablePointer<Float>,
    scratch: Workspace
  ) {
    var start = 0
    while start < n {
      let m = min(rows, n - start)
      let xs = x + start * inputDim
      // Layers keep what backward can reuse only when there are several backward passes.
      forward(xs, count: m, workspace: scratch, keep: outputDim > 1)
      for k in 0..<outputDim {
        let seed = scratch.gradientOut
        seed.update(repeating: 0, count: m * outputDim)
        for r in 0..<m { seed[r * outputDim + k] = 1 }
        let dx = backward(xs, count: m, workspace: scratch, parameterGradients: false)
        for r in 0..<m {
          (dydx + ((start + r) * outputDim + k) * inputDim).update(
            from: dx + r * inputDim, count: inputDim)
        }
      }
      start += m
    }
  }

  // MARK: - Training passes

  /// Forward pass keeping every layer's output in `workspace`; returns the output rows.
  ///
  /// With `keep`, layers that can (`ForwardReusingLayer`) also leave work for the
  /// `backward` that follows in their caches in `workspace` (the same outputs to the bit).
  /// Every call starts a new workspace generation, so caches of an earlier pass are never
  /// read by a later backward.
  @discardableResult
  func forward(
    _ x: UnsafePointer<Float>, count n: Int, workspace ws: Workspace, keep: Bool = false
  ) -> UnsafeMutablePointer<Float> {
    ws.reserve(rows: n, for: self)
    ws.generation &+= 1
    var input = x
    var i = 0
    while i < layers.count {
      if let pair = fused[i] {
        pair.dense.forward(input, ws.outputs[i], count: n, then: pair.activation, ws.outputs[i + 1])
        input = UnsafePointer(ws.outputs[i + 1])
        i += 2
      } else {
        if i == 0, let sources = ws.headSources, let encoding = head {
          encoding.forward(input, ws.outputs[0], count: n, sources: sources)
        } else if keep, let reusing = reusing[i] {
          let cache = ws.cache(i, layers: layers.count)
          reusing.forward(input, ws.outputs[i], count: n, keeping: cache)
          cache.generation = ws.generation
        } else {
          layers[i].forward(input, ws.outputs[i], count: n)
        }
        input = UnsafePointer(ws.outputs[i])
        i += 1
      }
    }
    return ws.outputs[layers.count - 1]
  }

  /// Backward pass from `workspace.gradientOut` (dL/dy, n x outputDim, filled by the
  /// caller after `forward`); returns dL/dx (n x inputDim, valid until the next pass).
  @discardableResult
  func backward(
    _ x: UnsafePointer<Float>, count n: Int, workspace ws: Workspace, parameterGradients: Bool
  ) -> UnsafeMutablePointer<Float> {
    var dy = UnsafePointer(ws.gradientOut)
    var (cur, other) = (ws.gradientA, ws.gradientB)
    var i = layers.count - 1
    while i >= 0 {
      if i >= 1, let pair = fused[i - 1],
        pair.activation.parameters.isEmpty || !parameterGradients
      {
        // Activation layer i and Dense layer i - 1 in one step: dz into `cur`, dx into
        // `other`, as the two separate steps would leave them.
        let input = i == 1 ? x : UnsafePointer(ws.outputs[i - 2])
        let needDx = i > 1 || ws.wantInputGradient
        pair.dense.backward(
          then: pair.activation, input, ws.outputs[i - 1], ws.outputs[i], dy, dz: cur,
          needDx ? other : nil, count: n, parameterGradients: parameterGradients)
        dy = UnsafePointer(other)
        i -= 2
        continue
      }
      let input = i == 0 ? x : UnsafePointer(ws.outputs[i - 1])
      let needDx = i > 0 || ws.wantInputGradient
      backwardLayer(
        i, input, dy, needDx ? cur : nil, count: n, workspace: ws,
        parameterGradients: parameterGradients)
      dy = UnsafePointer(cur)
      swap(&cur, &other)
      i -= 1
    }
    return UnsafeMutablePointer(mutating: dy)
  }

  /// `layers[i].backward` on the workspace's rows, reading the layer's forward cache when
  /// the last forward pass on `ws` filled it (`ForwardReusingLayer`; same results).
  func backwardLayer(
    _ i: Int, _ input: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, workspace ws: Workspace,
    parameterGradients: Bool
  ) {
    if i == 0, let sources = ws.headSources, let encoding = head {
      encoding.backward(
        input, ws.outputs[0], dy, dx, count: n, parameterGradients: parameterGradients,
        sources: sources)
    } else if let reusing = reusing[i], let cache = ws.currentCache(i) {
      reusing.backward(
        input, ws.outputs[i], dy, dx, count: n, parameterGradients: parameterGradients,
        reusing: cache)
    } else {
      layers[i].backward(
        input, ws.outputs[i], dy, dx, count: n, parameterGradients: parameterGradients)
    }
  }
}

/// Scratch memory for training and gradient passes: each layer's output and two gradient
/// buffers, grown on demand and reused, so steady-state steps allocate nothing.
final class Workspace {
  private(set) var rows = 0
  private(set) var outputs: [UnsafeMutablePointer<Float>] = []
  private(set) var gradientOut = UnsafeMutablePointer<Float>.allocate(capacity: 1)
  private(set) var gradientA = UnsafeMutablePointer<Float>.allocate(capacity: 1)
  private(set) var gradientB = UnsafeMutablePointer<Float>.allocate(capacity: 1)
  /// Whether `backward` should compute dL/dx of the first layer.
  var wantInputGradient = true
  /// Plane sources a tri-plane encoding at layer 0 samples in this workspace's passes
  /// (set by `Model.inputGradient` for the duration of a call, so the planes are copied
  /// channel-last once, not per chunk); nil: the encoding makes its own per pass.
  var headSources: PlaneSources?
  /// Scratch of the KAN sparsity regulariser (lamb > 0), kept so that steps reuse it.
  let regularizationScratch = ScratchPool()
  /// Number of the current forward pass (bumped by every `Model.forward` on the workspace).
  var generation: UInt64 = 0
  /// Per-layer forward caches (`ForwardCache`), made on first use.
  private var caches: [ForwardCache] = []

  /// Layer i's cache, for a model of `layers` layers.
  func cache(_ i: Int, layers: Int) -> ForwardCache {
    if caches.count != layers {
      caches = (0..<layers).map { _ in ForwardCache() }
    }
    return caches[i]
  }

  /// Layer i's cache when the current forward pass filled it, else nil.
  func currentCache(_ i: Int) -> ForwardCache? {
    guard i < caches.count, caches[i].generation == generation else { return nil }
    return caches[i]
  }

  /// Makes room for `rows` rows of `model`.
  func reserve(rows need: Int, for model: Model) {
    guard need > rows || outputs.count != model.layers.count else { return }
    release()
    rows = max(need, 1)
    outputs = model.layers.map { .allocate(capacity: rows * max($0.outputDim, 1)) }
    gradientOut = .allocate(capacity: rows * max(model.outputDim, 1))
    gradientA = .allocate(capacity: rows * model.widest)
    gradientB = .allocate(capacity: rows * model.widest)
  }

  private func release() {
    for output in outputs { output.deallocate() }
    gradientOut.deallocate()
    gradientA.deallocate()
    gradientB.deallocate()
  }

  deinit { release() }
}
