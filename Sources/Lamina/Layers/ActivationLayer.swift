/// Applies one `Activation` to every feature: `n x width` in, `n x width` out.
///
/// Stateless except for PReLU, which owns one trainable scalar named "weight" of shape [1],
/// exactly as torch.nn.PReLU(), so its tensor moves to and from PyTorch by name.
public final class ActivationLayer: Layer {
  /// Features per row, in and out.
  public let width: Int
  /// The function applied elementwise.
  public let activation: Activation
  /// PReLU's slope ("weight", shape [1]); empty for every other activation.
  public let parameters: [Parameter]

  /// A layer applying `activation` to rows of `width` features. PReLU's slope starts at the
  /// activation's `initialSlope`. The caller (the model builder) validates `width`
  /// (1...Limits.maxWidth); nothing here can fail.
  public init(width: Int, activation: Activation) {
    self.width = width
    self.activation = activation
    if case .prelu(let initialSlope) = activation {
      parameters = [Parameter(name: "weight", shape: [1], value: [Float(initialSlope)])]
    } else {
      parameters = []
    }
  }

  /// Shares nothing with `other`: the parameter is deep-copied.
  private init(copying other: ActivationLayer) {
    width = other.width
    activation = other.activation
    parameters = other.parameters.map { $0.copy() }
  }

  /// Same as `width`.
  public var inputDim: Int { width }
  /// Same as `width`.
  public var outputDim: Int { width }

  /// `{"type": "activation", "name": ..., <hyper-parameters>}`, every default filled in.
  /// For PReLU, "init" is the starting slope from the spec, not the learned one (that is
  /// the "weight" tensor), so re-creating a model from its spec gives the same start.
  public var spec: JSONValue {
    .object(
      [("type", .string("activation")), ("name", .string(activation.name))]
        + activation.parameterPairs)
  }

  /// PReLU's current slope (0 for the others, which ignore it).
  var slope: Float {
    parameters.first?.value.first ?? 0
  }

  /// y = activation(x) elementwise for `n` rows. Reads the layer only.
  public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    guard n > 0, width > 0 else { return }
    activation.forward(x, y, count: n * width, slope: slope)
  }

  /// dx = activation'(x) * dy elementwise (overwriting `dx`); for PReLU with
  /// `parameterGradients`, also adds sum(dy * x where x <= 0) to the slope's gradient.
  public func backward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool
  ) {
    guard n > 0, width > 0 else { return }
    let total = n * width
    if let weight = parameters.first, parameterGradients {
      let slopeGradient = activation.backward(x, y, dy, dx, count: total, slope: slope)
      weight.gradient[0] += Float(slopeGradient)
    } else if let dx {
      // Without parameter gradients nothing is written to the layer, so concurrent input
      // gradients are safe; PReLU's slope sum is computed and dropped.
      activation.backward(x, y, dy, dx, count: total, slope: slope)
    }
  }

  /// A deep copy with its own parameter.
  public func copy() -> Layer {
    ActivationLayer(copying: self)
  }
}

/// An activation layer is one elementwise `activation`, which the dense layer before it
/// may run in its own passes.
extension ActivationLayer: FusableActivation {}

extension ActivationLayer: RowLocal {
  /// 0: the dense layer before it runs this pass with its own and counts it
  /// (`Dense.rowWork`).
  var rowWork: Int { 0 }
}
