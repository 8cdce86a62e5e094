/// A dense layer runs the activation after it in its own passes (Dense.swift's
/// `forward(_:_:count:then:_:)` and `backward(then:...)`).
extension Dense: ActivationFusing {}

extension Dense: RowLocal {
  /// The product (inputDim multiply-adds per output) plus the bias and activation passes
  /// over each output.
  var rowWork: Int { outputDim * (inputDim + 2 * RowPlan.elementWork) }
}
