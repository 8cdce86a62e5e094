/// The gradient pass's elementwise steps on an activation layer, over parallel row blocks:
/// at 16384 rows of 256 features each pass is millions of transcendental evaluations, which
/// one thread would leave the other cores idle for. Elementwise, so the values are those of
/// one block; PReLU's slope sum stays on one thread, so its order never changes.
extension ActivationLayer {
  /// `backward` without parameter gradients (dx = f'(x) dy), in parallel row blocks.
  func backwardInBlocks(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>, count n: Int
  ) {
    var job = Blocks(
      layer: self, x: x, y: y, a: dy, b: UnsafeMutablePointer(mutating: dy), out: dx,
      extra: nil, gradientAdjoint: false, m: n, size: n)
    job.runInBlocks()
  }

  /// `gradientAdjoint` in parallel row blocks (on one thread for PReLU with parameter
  /// gradients).
  func gradientAdjointInBlocks(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
    _ gxBar: UnsafePointer<Float>, gBar: UnsafeMutablePointer<Float>,
    xBar: UnsafeMutablePointer<Float>, count n: Int, parameterGradients: Bool
  ) {
    if parameterGradients && !parameters.isEmpty {
      gradientAdjointBlock(
        x, y, g, gxBar, gBar: gBar, xBar: xBar, count: n, parameterGradients: true)
      return
    }
    var job = Blocks(
      layer: self, x: x, y: y, a: g, b: UnsafeMutablePointer(mutating: gxBar), out: gBar,
      extra: xBar, gradientAdjoint: true, m: n, size: n)
    job.runInBlocks()
  }

  /// One of the two passes over blocks of `size` rows, as a pool job.
  private struct Blocks: PoolJob {
    let layer: ActivationLayer
    let x: UnsafePointer<Float>
    let y: UnsafePointer<Float>
    /// backward: dy; gradientAdjoint: g.
    let a: UnsafePointer<Float>
    /// gradientAdjoint: gxBar (read only).
    let b: UnsafeMutablePointer<Float>
    /// backward: dx; gradientAdjoint: gBar.
    let out: UnsafeMutablePointer<Float>
    /// gradientAdjoint: xBar.
    let extra: UnsafeMutablePointer<Float>?
    let gradientAdjoint: Bool
    let m: Int
    var size: Int

    mutating func runInBlocks() {
      if let plan = RowPlan.rowBlocks(m: m, rowWork: layer.width * 4 * RowPlan.elementWork) {
        size = plan.size
        Parallel.run(plan.blocks, &self)
      } else {
        run(0)
      }
    }

    func run(_ block: Int) {
      let start = block * size
      let rows = min(size, m - start)
      guard rows > 0 else { return }
      let o = start * layer.width
      if gradientAdjoint {
        layer.gradientAdjointBlock(
          x + o, y + o, a + o, UnsafePointer(b + o), gBar: out + o, xBar: extra! + o,
          count: rows, parameterGradients: false)
      } else {
        layer.backward(x + o, y + o, a + o, out + o, count: rows, parameterGradients: false)
      }
    }
  }
}
