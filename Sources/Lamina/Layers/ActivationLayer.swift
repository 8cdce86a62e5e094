// TEMPORARY placeholder, replaced by the full activation zoo.
#if canImport(Glibc)
  import Glibc
#endif
public final class ActivationLayer: Layer {
  public let inputDim: Int
  public var outputDim: Int { inputDim }
  public let activation: Activation
  public init(width: Int, activation: Activation) { inputDim = width; self.activation = activation }
  public var parameters: [Parameter] { [] }
  public var spec: JSONValue { .object([("type", .string("activation")), ("name", .string(activation.name))]) }
  public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    for i in 0..<(n * inputDim) {
      switch activation.name {
      case "relu": y[i] = max(x[i], 0)
      case "tanh": y[i] = tanhf(x[i])
      default: y[i] = x[i]
      }
    }
  }
  public func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool) {
    guard let dx else { return }
    for i in 0..<(n * inputDim) {
      switch activation.name {
      case "relu": dx[i] = x[i] > 0 ? dy[i] : 0
      case "tanh": dx[i] = dy[i] * (1 - y[i] * y[i])
      default: dx[i] = dy[i]
      }
    }
  }
  public func copy() -> Layer { ActivationLayer(width: inputDim, activation: activation) }
}
