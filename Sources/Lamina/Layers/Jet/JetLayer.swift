/// The shape of a jet pass: `rows` samples, derivatives along each of the model's
/// `directions` input coordinates, to `order` 1 (the input Jacobian) or 2 (also the pure
/// second derivatives, the diagonal of the input Hessian).
///
/// A jet of width W holds `streams` blocks of `rows x W` floats, stream-major: stream 0 is
/// the value, stream 1 + d its derivative along input coordinate d, and with order 2,
/// stream 1 + D + d its second derivative along d. Each block is row-major like an ordinary
/// batch, so a dense layer pushes the whole jet through with one product of
/// `streams * rows` rows (see `Dense+Jet.swift` and the cost model in ARCHITECTURE.md).
public struct JetShape: Equatable, Sendable {
  /// Samples in the batch.
  public let rows: Int
  /// Input coordinates the derivatives are taken along (the model's input width).
  public let directions: Int
  /// 1: first derivatives; 2: also pure second derivatives.
  public let order: Int

  /// A jet shape; `order` is 1 or 2.
  public init(rows: Int, directions: Int, order: Int) {
    precondition(order == 1 || order == 2, "jet order must be 1 or 2")
    self.rows = rows
    self.directions = directions
    self.order = order
  }

  /// Blocks in the jet: 1 + order * directions.
  public var streams: Int { 1 + order * directions }

  /// Floats in a jet of `width` features per row.
  public func count(width: Int) -> Int { streams * rows * width }
}

/// A layer that pushes jets forward (values with their input derivatives, `JetShape`) and
/// pulls their adjoints back: what losses on derivatives of a model's output with respect
/// to its input (eikonal, normal, Laplacian terms) train through.
///
/// Forward mode carries the few input directions along with the values; reverse mode then
/// runs through that computation to the parameters, so a Laplacian costs about
/// 1 + 2D value passes, not a Hessian. Like `Layer`'s passes, both methods keep no state:
/// `jetBackward` recomputes what it needs from the saved input and output jets.
public protocol JetLayer: Layer {
  /// y = the jet of this layer's output given the jet `x` of its input (`shape` streams of
  /// `rows x inputDim`, into `shape` streams of `rows x outputDim`). Stream 0 of `y` is
  /// what `forward` gives for stream 0 of `x`. Must not change the layer.
  func jetForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, shape: JetShape)

  /// Given the adjoint `dy` of the output jet (same layout as `y`), writes the adjoint of
  /// the input jet into `dx` when it is non-nil (overwriting), and with
  /// `parameterGradients` adds dL/dparameter into each parameter's `gradient`.
  func jetBackward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, shape: JetShape, parameterGradients: Bool)

  /// Why the layer cannot run jet passes in its current state (completing "layer L ..." in
  /// the `.unsupported` error a derivative loss or `Model.inputDerivatives` throws), or nil.
  /// A state that can change after the model is built (a KAN edge fixed to a symbolic
  /// function) is refused here instead of by leaving the protocol out.
  var jetRefusal: String? { get }
}

extension JetLayer {
  /// Most layers run jet passes in every state.
  public var jetRefusal: String? { nil }
}
