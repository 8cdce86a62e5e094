/// A layer that pykan's sparsity regulariser (`MultKAN.reg`, the trainer's "lamb") scores:
/// it gives its regulariser's value on a batch and adds its exact gradient. The model's
/// regularised passes (Regularization.swift) sum it over the layers that have it; other
/// layers contribute nothing.
protocol SparsityRegularizable: Layer {
  /// Whether any edge has an active symbolic function, whose outputs the layer's
  /// "edge_forward_spline_u" and "edge_forward_sum" scores leave out (so those metrics are
  /// refused on it).
  var hasSymbolicEdges: Bool { get }

  /// The layer's regulariser on the `n` rows of `x` (its input). When `scale` is non-nil,
  /// adds scale * dR/dparameter into the parameters' gradients and, when `dx` is non-nil,
  /// scale * dR/dx into `dx` (added to what is there). Scratch comes from `scratch`.
  func sparsityRegularization(
    _ x: UnsafePointer<Float>, count n: Int, weights: BSplineKANLayer.SparsityWeights,
    scratch: ScratchPool, gradientScale scale: Double?, dx: UnsafeMutablePointer<Float>?
  ) -> Double
}
