/// A trainable tensor and the gradient accumulated for it.
public final class Parameter {
  /// Name within its layer ("weight", "bias"); the model prefixes the layer index.
  public let name: String
  /// Dimensions, row-major (a dense weight is [output, input], as PyTorch's).
  public let shape: [Int]
  /// The values, `shape.reduce(1, *)` of them.
  public var value: [Float]
  /// d(loss)/d(value), same size as `value`; written by `Layer.backward`.
  public var gradient: [Float]

  /// A parameter of `shape` holding `value`.
  public init(name: String, shape: [Int], value: [Float]) {
    precondition(value.count == shape.reduce(1, *), "parameter size must match its shape")
    self.name = name
    self.shape = shape
    self.value = value
    self.gradient = [Float](repeating: 0, count: value.count)
  }

  /// Number of scalars.
  public var count: Int { value.count }

  /// An independent copy (values and gradient).
  public func copy() -> Parameter {
    let p = Parameter(name: name, shape: shape, value: value)
    p.gradient = gradient
    return p
  }
}

/// One stage of a model: maps `n x inputDim` to `n x outputDim`, row-major float32.
///
/// Layers keep no per-call state: `forward` only reads the layer, so many threads may
/// predict at once, and `backward` recomputes what it needs from the saved input `x` and
/// output `y`. Every model family (dense, activation, KAN, tri-plane encoding) is a Layer,
/// so one model type and one trainer serve them all. (In the model's own training passes a
/// layer may also implement the internal `ForwardReusingLayer`, which lets a B-spline KAN
/// keep forward's basis rows in a cache owned by the training workspace for the backward
/// pass of the same step; see ForwardCache.swift. The methods below stay stateless.)
public protocol Layer: AnyObject {
  /// Features per input row.
  var inputDim: Int { get }
  /// Features per output row.
  var outputDim: Int { get }
  /// Trainable tensors, in a fixed order.
  var parameters: [Parameter] { get }
  /// Non-trainable state that is saved and exposed by name but never updated by an
  /// optimizer (PyTorch's buffers): a KAN's knot grid and edge mask, say. Default: none.
  var buffers: [Parameter] { get }
  /// This layer's full spec, every default filled in (an object with a "type" key).
  var spec: JSONValue { get }

  /// y = f(x) for `n` rows. Must not change the layer.
  func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int)

  /// Back-propagates `dy` (n x outputDim) given the forward pass's `x` and `y`: writes
  /// dL/dx into `dx` when it is non-nil (overwriting), and, when `parameterGradients` is
  /// true, adds dL/dparameter into each parameter's `gradient`. With `parameterGradients`
  /// false it must not change the layer (input gradients run concurrently).
  func backward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool)

  /// A deep copy with its own parameters.
  func copy() -> Layer
}

extension Layer {
  /// Most layers have no buffers.
  public var buffers: [Parameter] { [] }
}
