/// The gradient pass's elementwise steps on an activation layer, over parallel row blocks:
/// at 16384 rows of 256 features each is millions of derivative evaluations, for which one
/// thread would leave the other cores idle. Elementwise, so the values do not depend on the
/// blocks.
extension ActivationLayer {
  /// Which step `runGradientBlocks` runs.
  enum GradientBlockStep {
    /// f', f'' into the table; out = f' a.
    case step
    /// out = f' b; extra += f'' a b.
    case adjoint
    /// out = f' a.
    case backward
  }

  /// Runs `step` over `n` rows in parallel blocks. `table` holds f' for the n rows, then f''.
  func runGradientBlocks(
    _ step: GradientBlockStep, x: UnsafePointer<Float>, a: UnsafePointer<Float>,
    b: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
    extra: UnsafeMutablePointer<Float>?, table: UnsafeMutablePointer<Float>, count n: Int
  ) {
    var job = GradientBlocks(
      layer: self, step: step, x: x, a: a, b: b, out: out, extra: extra, table: table, m: n,
      size: n)
    if let plan = RowPlan.rowBlocks(m: n, rowWork: width * 4 * RowPlan.elementWork) {
      job.size = plan.size
      Parallel.run(plan.blocks, &job)
    } else {
      job.run(0)
    }
  }

  /// One step over blocks of `size` rows, as a pool job.
  private struct GradientBlocks: PoolJob {
    let layer: ActivationLayer
    let step: GradientBlockStep
    let x: UnsafePointer<Float>
    let a: UnsafePointer<Float>
    let b: UnsafePointer<Float>
    let out: UnsafeMutablePointer<Float>
    let extra: UnsafeMutablePointer<Float>?
    let table: UnsafeMutablePointer<Float>
    let m: Int
    var size: Int

    func run(_ block: Int) {
      let start = block * size * layer.width
      let count = min(size, m - block * size) * layer.width
      guard count > 0 else { return }
      let d1 = table + start
      let d2 = table + m * layer.width + start
      let (a, b, out) = (self.a + start, self.b + start, self.out + start)
      switch step {
      case .step:
        layer.activation.derivatives(
          x + start, count: count, slope: layer.slope, d1: d1, d2: d2, d3: nil)
        for e in 0..<count { out[e] = d1[e] * a[e] }
      case .adjoint:
        let xBar = extra! + start
        for e in 0..<count {
          out[e] = d1[e] * b[e]
          xBar[e] += d2[e] * a[e] * b[e]
        }
      case .backward:
        for e in 0..<count { out[e] = d1[e] * a[e] }
      }
    }
  }
}
