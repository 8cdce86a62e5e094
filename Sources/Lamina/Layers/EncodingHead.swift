/// A first layer whose passes read sources it can prepare once for every row of a call (a
/// tri-plane encoding: its planes copied channel-last) and then share among the passes
/// over that call's row chunks. Passes given sources give, to the bit, what the plain
/// `forward` and `backward` give (those prepare their own). The model's chunked calls
/// (large predictions, input gradients) and the row pipeline prepare the sources once per
/// call through this.
protocol EncodingHead: Layer {
  /// `body` with sources prepared for passes of up to `n` rows; they are valid inside
  /// `body` only.
  func withSources<R>(rows n: Int, _ body: (PlaneSources) -> R) -> R

  /// `forward` on `n` rows reading `sources` (from `withSources`), or its own when nil.
  func forward(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int,
    sources: PlaneSources?)

  /// `backward` on `n` rows reading `sources` (from `withSources`), or its own when nil.
  func backward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool,
    sources: PlaneSources?)
}
