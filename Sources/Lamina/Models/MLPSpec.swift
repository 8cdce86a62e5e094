/// The spec of a multi-layer perceptron as a Swift value: the same keys as the JSON form
/// `{"kind": "mlp", ...}`, so code and JSON describe models the same way.
///
///     let model = try Model(MLPSpec(input: 2, hidden: [64, 64], output: 1, activation: "tanh"))
public struct MLPSpec: Equatable, Sendable {
  /// Features per input sample.
  public var input: Int
  /// Widths of the hidden layers.
  public var hidden: [Int]
  /// Outputs per sample.
  public var output: Int
  /// Activation of every hidden layer (a name from the header's list, or a JSON object
  /// such as `{"name": "leaky_relu", "negative_slope": 0.1}` given as text).
  public var activation: String
  /// Activation applied to the output.
  public var outputActivation: String
  /// Weight initialiser name.
  public var initializer: String
  /// Seed of the initial weights.
  public var seed: UInt64

  /// A spec with PyTorch-like defaults: relu hidden layers, identity output, seed 0.
  public init(
    input: Int, hidden: [Int] = [], output: Int, activation: String = "relu",
    outputActivation: String = "identity", initializer: String = "auto", seed: UInt64 = 0
  ) {
    self.input = input
    self.hidden = hidden
    self.output = output
    self.activation = activation
    self.outputActivation = outputActivation
    self.initializer = initializer
    self.seed = seed
  }

  /// The JSON form accepted by `Model(spec:)` and `lamina_model_create`.
  public func json() throws -> JSONValue {
    func activationValue(_ text: String) throws -> JSONValue {
      text.hasPrefix("{") ? try JSONValue.parse(text, what: "activation") : .string(text)
    }
    return .object([
      ("kind", .string("mlp")), ("input", .number(Double(input))),
      ("hidden", .array(hidden.map { .number(Double($0)) })), ("output", .number(Double(output))),
      ("activation", try activationValue(activation)),
      ("output_activation", try activationValue(outputActivation)),
      ("init", .string(initializer)), ("seed", .number(Double(seed))),
    ])
  }
}

extension Model {
  /// Builds an MLP from a Swift spec; throws `LaminaError` for invalid settings.
  public convenience init(_ spec: MLPSpec) throws {
    try self.init(spec: spec.json())
  }

  /// The Jacobian for rows packed in an array: n x outputDim x inputDim values.
  public func inputGradient(_ x: [Float]) throws -> [Float] {
    guard x.count % inputDim == 0 else {
      throw LaminaError.shape("input has \(x.count) values, not a multiple of \(inputDim)")
    }
    let n = x.count / inputDim
    var out = [Float](repeating: 0, count: n * outputDim * inputDim)
    try x.withUnsafeBufferPointer { xb in
      try out.withUnsafeMutableBufferPointer {
        try inputGradient(xb.baseAddress!, count: n, into: $0.baseAddress!)
      }
    }
    return out
  }
}

extension Trainer {
  /// Rows in packed arrays, checked against the model's widths.
  func rows(_ x: [Float], _ y: [Float]) throws -> Int {
    let n = x.count / max(model.inputDim, 1)
    guard x.count == n * model.inputDim, y.count == n * model.outputDim else {
      throw LaminaError.shape(
        "x has \(x.count) values and y \(y.count); the model needs n x \(model.inputDim) and n x \(model.outputDim)"
      )
    }
    return n
  }

  /// One optimizer step on packed arrays; returns the batch loss before the step.
  @discardableResult
  public func step(x: [Float], y: [Float]) throws -> Float {
    let n = try rows(x, y)
    return try x.withUnsafeBufferPointer { xb in
      try y.withUnsafeBufferPointer { yb in try step(xb.baseAddress!, yb.baseAddress!, count: n) }
    }
  }

  /// The model's loss on packed arrays.
  public func evaluate(x: [Float], y: [Float]) throws -> Float {
    let n = try rows(x, y)
    return try x.withUnsafeBufferPointer { xb in
      try y.withUnsafeBufferPointer { yb in try evaluate(xb.baseAddress!, yb.baseAddress!, count: n)
      }
    }
  }

  /// Trains on packed arrays; see `fit(_:_:count:progress:)`.
  @discardableResult
  public func fit(x: [Float], y: [Float], progress: ((TrainingProgress) -> Bool)? = nil) throws
    -> Float
  {
    let n = try rows(x, y)
    return try x.withUnsafeBufferPointer { xb in
      try y.withUnsafeBufferPointer { yb in
        try fit(xb.baseAddress!, yb.baseAddress!, count: n, progress: progress)
      }
    }
  }
}
