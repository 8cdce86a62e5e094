/// The encoding in the reverse-over-reverse gradient pass (`GradientPassLayer`,
/// `Model+GradientPass.swift`), so that first-order derivative losses on a tri-plane field
/// with an MLP decoder run the decoder as the gradient pass (about six products of n rows
/// per dense layer) rather than as a first-order jet (1 + D streams of n rows through
/// every layer).
///
/// **The steps.** `gradientStep` is the protocol's default, `backward` without parameter
/// gradients: gx = g dF/dx, exact inside texel cells (the derivatives of the bilinear
/// weights, as `inputGradient` takes them). `gradientAdjoint` runs it backwards: gBar = (dF/dx) gxBar is the forward
/// derivative of the features along gxBar, the contraction of the jet's first-derivative
/// streams (`jetRow`) with gxBar; and since gxBar . gx = sum over directions d of
/// gxBar_d (g . dF/dx_d), the planes' gradient is the jet's backward with adjoint g gxBar_d
/// on first-derivative stream d and none on the value stream (`adjointRow`, then
/// `jetScatter`). Both are the jet's own per-row code run on a one-row jet, so every
/// aggregation, Fourier features, multi-resolution, several fields and a passed-on field
/// index take the pass, with the jet's derivatives exactly.
///
/// **No adjoint of x.** dF/dx depends on x (the mixed derivative of a bilinear sample along
/// its two axes is not 0, and product aggregation and Fourier features curve as well), but
/// the encoding takes the pass only as a model's first layer (`supportsGradientPass(at:)`),
/// whose input is the model's: `Model.gradientPassBackward` never reads the adjoint of that
/// input (layer 0's `xBar`), so `gradientDependsOnInput` is false and `xBar` is left alone.
/// An encoding placed later makes the model take jets, which refuse it with an error
/// (`Model.checkJetSupport`).
extension TriplaneEncoding: GradientPassLayer {
  /// No table: the adjoint re-samples the planes, which costs less than storing 9C floats
  /// per row and level.
  var gradientTableWidth: Int { 0 }

  /// False although dF/dx depends on x: see the extension's documentation (first layer
  /// only, where `xBar` is never read).
  var gradientDependsOnInput: Bool { false }

  /// Only as the first layer, where the adjoint of the input is not needed.
  func supportsGradientPass(at index: Int) -> Bool { index == 0 }

  /// gBar = (dF/dx) gxBar, and with `parameterGradients` the planes' gradient of gxBar . gx
  /// (see the extension's documentation); `xBar` is not written.
  func gradientAdjoint(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
    _ gxBar: UnsafePointer<Float>, gBar: UnsafeMutablePointer<Float>,
    xBar: UnsafeMutablePointer<Float>, count n: Int, table: UnsafePointer<Float>?,
    parameterGradients: Bool
  ) {
    guard n > 0 else { return }
    let c = options.channels
    let width = levels.count * 9 * c
    scratch.withBuffer(count: parameterGradients ? n * width : 0) { adjoints in
      withSources(rows: n) { sources in
        let tasks = (n + Self.rowsPerTask - 1) / Self.rowsPerTask
        var job = GradientAdjointRows(
          layer: self, x: x, g: g, gxBar: gxBar, gBar: gBar,
          adjoints: parameterGradients ? adjoints : nil, n: n, sources: sources)
        Self.parallel(tasks, work: n * 12 * c * levels.count, &job)
      }
      if parameterGradients { jetScatter(x, count: n, adjoints: UnsafePointer(adjoints)) }
    }
  }

  /// `gradientAdjoint`'s row tasks as a pool job: per row, the one-row jet of the features
  /// (`jetRow`) contracted with gxBar into gBar, and, when `adjoints` is non-nil, the row's
  /// jet adjoints (`adjointRow`) for `jetScatter`.
  private struct GradientAdjointRows: PoolJob {
    unowned(unsafe) let layer: TriplaneEncoding
    let x: UnsafePointer<Float>
    let g: UnsafePointer<Float>
    let gxBar: UnsafePointer<Float>
    let gBar: UnsafeMutablePointer<Float>
    let adjoints: UnsafeMutablePointer<Float>?
    let n: Int
    let sources: PlaneSources

    func run(_ task: Int) {
      let (inp, out, c) = (layer.inputDim, layer.outputDim, layer.options.channels)
      let width = layer.levels.count * 9 * c
      // One row's jet: streams of `out` floats at (1 + d) * out (the value stream unused).
      let shape = JetShape(rows: 1, directions: inp, order: 1)
      let jetCount = shape.count(width: out)
      let start = task * TriplaneEncoding.rowsPerTask
      let end = min(n, start + TriplaneEncoding.rowsPerTask)
      withUnsafeTemporaryAllocation(of: Float.self, capacity: 9 * c + 2 * jetCount) { tmp in
        let work = tmp.baseAddress!
        let jet = work + 9 * c
        let adjoint = jet + jetCount
        for r in start..<end {
          let xr = x + r * inp
          let gxr = gxBar + r * inp
          layer.jetRow(0, xr, jet, shape: shape, sources, work)
          let gb = gBar + r * out
          gb.update(repeating: 0, count: out)
          for d in 0..<inp {
            let a = gxr[d]
            let j = jet + (1 + d) * out
            for k in 0..<out { gb[k] += a * j[k] }
          }
          guard let adjoints else { continue }
          // The adjoint of the row's jet: none on the value stream, g gxBar_d on stream d.
          let gr = g + r * out
          adjoint.update(repeating: 0, count: out)
          for d in 0..<inp {
            let a = gxr[d]
            let j = adjoint + (1 + d) * out
            for k in 0..<out { j[k] = gr[k] * a }
          }
          layer.adjointRow(0, xr, adjoint, shape: shape, adjoints + r * width, sources, work)
        }
      }
    }
  }
}
