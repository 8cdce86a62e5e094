/// The training step of a model whose first layer (the head, a tri-plane encoding) is
/// followed only by small row-local layers (the tail: Dense and activation layers, the
/// "triplane" kind's MLP decoder), run so that the tail's activations never leave the cache.
///
/// Why: the whole-batch step writes and re-reads every tail activation for the whole batch
/// (65536 x 64 floats, 16 MB each, about ten of them per step for a 16-64-64-1 decoder), so
/// the decoder waits on DRAM; and its bias sums and loss run on one thread. Here the step
/// runs in row blocks of `blockRows` rows: the head's forward pass for the block's rows
/// (sampling a channel-last plane copy made once per step), forward through the tail, the
/// loss and its gradient for the block's rows, and backward through the tail to
/// d(features) for those rows, all in per-task scratch that stays in L2; only d(features)
/// (n x F) is written for the whole batch. Last, the head's backward pass (the plane
/// scatter, which needs every row's d(features)) runs once over the whole batch.
///
/// Determinism: the blocks are cut from the batch size alone and dealt to `tasks` fixed
/// tasks (contiguous runs of blocks), whatever the core count. Each task runs its blocks in
/// order through its own copy of the tail (`TaskState.tail`, values synced from the model at
/// the start of every step), so the tail's parameter gradients accumulate per task in a fixed
/// order; they are then added into the model's gradients task by task, and the loss sums of
/// the blocks are added in block order. So a step's results are bit-identical run to run and
/// on any number of cores. They equal the whole-batch step's up to float rounding: the
/// weight and bias gradients are summed block by block instead of by one long product, and
/// the loss in Double per block; the per-row operations are the same, on fewer rows.
///
/// The tail's layers are the model's own types, run through the same `Model` passes (a
/// tail-only `Model` per task), so the Dense layers' kernels and fused activation steps are
/// used block by block.
final class RowPipeline {
  /// Rows per block (`RowPlan.pipelineBlockRows`).
  static let blockRows = RowPlan.pipelineBlockRows

  /// Fixed task count (`RowPlan.pipelineTasks`): each task owns a contiguous run of blocks,
  /// one tail copy and its scratch.
  static let tasks = RowPlan.pipelineTasks

  /// Batches of fewer rows take the whole-batch path: a few blocks gain nothing.
  static let minimumRows = 4 * blockRows

  /// The model trained.
  let model: Model
  /// The head layer (index 0): its forward pass runs block by block in the tasks (on plane
  /// sources made once per step), its backward pass over the whole batch.
  let head: any EncodingHead
  /// The model's tail parameters, in the order of each task's tail model's parameters.
  let tailParameters: [Parameter]

  /// One task's copy of the tail and its scratch.
  final class TaskState {
    /// The tail layers as a model of their own (copies of the model's layers).
    let tail: Model
    /// The tail's scratch, `blockRows` rows.
    let workspace = Workspace()
    /// A block's features (the head's output), `blockRows` x F.
    let features: UnsafeMutablePointer<Float>

    init(tail: Model) {
      self.tail = tail
      workspace.wantInputGradient = true
      workspace.reserve(rows: RowPipeline.blockRows, for: tail)
      features = .allocate(capacity: RowPipeline.blockRows * max(tail.inputDim, 1))
    }

    deinit { features.deallocate() }
  }

  /// Per task.
  let states: [TaskState]
  /// n x F gradients of the features (the head's output); grown on demand. Allocated in
  /// `init` after its checks: a failable initializer that returns nil never runs `deinit`,
  /// so memory taken by property initializers would leak.
  private var featureGradients: UnsafeMutablePointer<Float>
  private var rows = 0
  /// Per block: the sum of its loss terms.
  private var blockLosses: UnsafeMutablePointer<Double>
  private var blockCapacity = 0

  /// A pipeline for `model`, or nil when the model does not have that shape: a head that
  /// shares its sources among chunks first (`EncodingHead`: a tri-plane encoding), then
  /// only `RowLocal` layers (Dense and activation layers; at least one).
  init?(model: Model) {
    guard model.layers.count >= 2, let head = model.head,
      model.layers.dropFirst().allSatisfy({ $0 is any RowLocal })
    else { return nil }
    self.model = model
    self.head = head
    let tailLayers = Array(model.layers.dropFirst())
    let features = head.outputDim
    func tailModel(_ layers: [Layer]) -> Model {
      Model(kind: "tail", spec: .null, layers: layers, inputDim: features)
    }
    tailParameters = tailModel(tailLayers).parameters
    states = (0..<RowPipeline.tasks).map { _ in
      TaskState(tail: tailModel(tailLayers.map { $0.copy() }))
    }
    featureGradients = .allocate(capacity: 1)
    blockLosses = .allocate(capacity: 1)
  }

  deinit {
    featureGradients.deallocate()
    blockLosses.deallocate()
  }

  /// Makes room for a batch of `n` rows.
  private func reserve(rows n: Int) {
    let blocks = (n + RowPipeline.blockRows - 1) / RowPipeline.blockRows
    if blocks > blockCapacity {
      blockLosses.deallocate()
      blockCapacity = blocks
      blockLosses = .allocate(capacity: blocks)
    }
    guard n > rows else { return }
    featureGradients.deallocate()
    rows = n
    featureGradients = .allocate(capacity: n * max(head.outputDim, 1))
  }

  /// Forward, loss and backward for `n` rows of `x` against targets `y`, as the trainer's
  /// whole-batch `lossAndGradient` does without regularisers: adds dL/dparameter into every
  /// parameter's gradient (zeroed by the caller) and returns the mean loss (truncated as
  /// `truncation` asks, see `Loss.evaluate`).
  func lossAndGradient(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int, loss: Loss,
    truncation: Float
  ) -> Float {
    reserve(rows: n)
    // Each task's tail starts from the model's current weights, with zero gradients.
    for state in states {
      for (mine, theirs) in zip(state.tail.parameters, tailParameters) {
        mine.value.withUnsafeMutableBufferPointer { dest in
          theirs.value.withUnsafeBufferPointer {
            dest.baseAddress!.update(from: $0.baseAddress!, count: $0.count)
          }
        }
        mine.gradient.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
      }
    }
    let blocks = (n + RowPipeline.blockRows - 1) / RowPipeline.blockRows
    let tasks = min(RowPipeline.tasks, blocks)
    // The planes' channel-last copy is made once for every block's gather.
    head.withSources(rows: n) { sources in
      var job = Blocks(
        pipeline: self, sources: sources, x: x, y: y, n: n,
        blocks: blocks, tasks: tasks, loss: loss, truncation: truncation)
      Parallel.run(tasks, &job)
    }

    // Fixed order: tasks in index order, blocks in row order.
    for (j, parameter) in tailParameters.enumerated() {
      parameter.gradient.withUnsafeMutableBufferPointer { g in
        for state in states {
          state.tail.parameters[j].gradient.withUnsafeBufferPointer { part in
            for i in g.indices { g[i] += part[i] }
          }
        }
      }
    }
    var total: Double = 0
    for b in 0..<blocks { total += blockLosses[b] }

    // The encoding's backward pass reads x and the features' gradients, not the features.
    head.backward(
      x, featureGradients, featureGradients, nil, count: n, parameterGradients: true)
    return Float(total / Double(loss.denominator(rows: n, columns: model.outputDim)))
  }

  /// The tail's blocks, as a pool job: task t runs blocks `t * blocks / tasks ..< (t + 1) *
  /// blocks / tasks` (as even a split as whole blocks allow) in order on its own tail copy.
  private struct Blocks: PoolJob {
    let pipeline: RowPipeline
    /// The head's plane sources for this step.
    let sources: PlaneSources
    let x: UnsafePointer<Float>
    let y: UnsafePointer<Float>
    let n: Int
    let blocks: Int
    let tasks: Int
    let loss: Loss
    let truncation: Float

    func run(_ task: Int) {
      let state = pipeline.states[task]
      let tail = state.tail
      let ws = state.workspace
      let (f, out) = (tail.inputDim, tail.outputDim)
      let size = RowPipeline.blockRows
      var block = task * blocks / tasks
      let end = (task + 1) * blocks / tasks
      while block < end {
        let start = block * size
        let m = min(size, n - start)
        // The block's features, gathered here so they are in cache for the tail.
        pipeline.head.forward(
          x + start * pipeline.head.inputDim, state.features, count: m, sources: sources)
        let input = UnsafePointer(state.features)
        let output = tail.forward(input, count: m, workspace: ws)
        pipeline.blockLosses[block] = loss.sum(
          output, y + start * out, rows: m, columns: out, truncation: truncation, of: n,
          gradient: ws.gradientOut)
        let dx = tail.backward(input, count: m, workspace: ws, parameterGradients: true)
        (pipeline.featureGradients + start * f).update(from: dx, count: m * f)
        block += 1
      }
    }
  }
}
