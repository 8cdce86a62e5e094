/// The row tasks of a KAN layer's jet passes (`KANEdgeJet`): the derivative streams of
/// `RowPlan.kanJetTaskRows` rows each, on the worker pool when the batch is large enough.
///
/// The tasks depend on the row count only, never on the thread count, and each row's
/// outputs and input adjoints are computed by one task from that row alone; gradient sums
/// are per task and reduced in task order by the caller. So a pass gives the same bits on
/// one thread as on many.
enum KANEdgeJetTasks {
  /// Tasks for `rows` rows (at least one).
  static func count(rows: Int) -> Int {
    max(1, (rows + RowPlan.kanJetTaskRows - 1) / RowPlan.kanJetTaskRows)
  }

  /// The rows of task `index` of a pass over `rows` rows.
  @inline(__always)
  static func rows(_ index: Int, of rows: Int) -> Range<Int> {
    let start = index * RowPlan.kanJetTaskRows
    return start..<min(rows, start + RowPlan.kanJetTaskRows)
  }

  /// Runs `job`'s tasks: on the pool when there is more than one and the pass has at
  /// least `RowPlan.kanJetParallelWork` of work (rows x inputs x (outputs + the basis's
  /// share) x streams), else one after another on the calling thread, as always with
  /// `serial` (a basis that adds into its parameters directly).
  static func run<Job: PoolJob>(
    _ job: inout Job, shape: JetShape, inputs: Int, outputs: Int, serial: Bool
  ) {
    let tasks = count(rows: shape.rows)
    let work = serial ? 0 : shape.rows &* inputs &* (outputs + 4) &* shape.streams
    Parallel.run(tasks, work: work, threshold: RowPlan.kanJetParallelWork, &job)
  }

  /// `KANEdgeJet.edgeJetForwardRows` of every task.
  struct Forward<L: KANEdgeJet>: PoolJob {
    let layer: L
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let shape: JetShape

    func run(_ index: Int) {
      layer.edgeJetForwardRows(
        x, y, shape: shape, rows: KANEdgeJetTasks.rows(index, of: shape.rows))
    }
  }

  /// `KANEdgeJet.edgeJetBackwardRows` of every task, task t's gradient sums at
  /// `sums + t * sumCount` (zeroed here) when `sums` is non-nil.
  struct Backward<L: KANEdgeJet>: PoolJob {
    let layer: L
    let x: UnsafePointer<Float>
    let dy: UnsafePointer<Float>
    let dx: UnsafeMutablePointer<Float>?
    let shape: JetShape
    let parameterGradients: Bool
    let sums: UnsafeMutablePointer<Double>?
    let sumCount: Int

    func run(_ index: Int) {
      let own = sums.map { $0 + index * sumCount }
      own?.update(repeating: 0, count: sumCount)
      layer.edgeJetBackwardRows(
        x, dy, dx, shape: shape, parameterGradients: parameterGradients, sums: own,
        rows: KANEdgeJetTasks.rows(index, of: shape.rows))
    }
  }
}
