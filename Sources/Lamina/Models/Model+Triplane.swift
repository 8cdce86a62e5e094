/// Tri-plane helpers on a model: coarse-to-fine upsampling, the plane regularisers and
/// field-index checks, for the trainer and the bindings to call (the encodings themselves
/// are `Model.triplaneEncodings`).
extension Model {
  /// A new model whose (first) tri-plane encoding is upsampled to `resolution` (see
  /// `TriplaneEncoding.upsampled(to:)`), every other tensor copied; its spec has the new
  /// resolution. Throws `.invalidArgument` when the model has no tri-plane encoding or the
  /// resolution is bad, `.outOfMemory` over the parameter budget.
  public func triplaneUpsampled(to resolution: Int) throws -> Model {
    guard let (_, encoding) = triplaneEncodings.first else {
      throw LaminaError.invalid("tri-plane upsampling: the model has no tri-plane encoding")
    }
    return try triplaneUpsampled(
      to: [Int](repeating: resolution, count: encoding.levels.count))
  }

  /// As `triplaneUpsampled(to:)` with one target resolution per level.
  public func triplaneUpsampled(to resolutions: [Int]) throws -> Model {
    guard let (index, encoding) = triplaneEncodings.first else {
      throw LaminaError.invalid("tri-plane upsampling: the model has no tri-plane encoding")
    }
    let upsampled = try encoding.upsampled(to: resolutions)
    let others = parameterCount - encoding.levels.reduce(0) { $0 + $1.count }
    try ModelBuilder.checkParameterBudget(upsampled.options.parameterBudget + [(others, 1)])
    var newLayers = layers.map { $0.copy() }
    newLayers[index] = upsampled
    let newSpec: JSONValue
    switch (kind, spec) {
    case ("triplane", .object(let pairs)):
      newSpec = .object(
        pairs.map { $0.0 == "resolution" ? ($0.0, upsampled.options.specPairs[0].1) : $0 })
    case ("sequential", .object(let pairs)):
      newSpec = .object(
        pairs.map { key, value in
          guard key == "layers", case .array(var items) = value, index < items.count else {
            return (key, value)
          }
          items[index] = upsampled.spec
          return (key, .array(items))
        })
    default:
      throw LaminaError(.unsupported, "tri-plane upsampling: model kind \"\(kind)\"")
    }
    return Model(kind: kind, spec: newSpec, layers: newLayers, inputDim: inputDim)
  }

  /// Sums `TriplaneEncoding.addPlaneRegularization(tv:l2:)` over the model's encodings:
  /// returns the weighted regulariser and adds its gradient into the planes' gradients.
  /// Changes the model (gradients): call with exclusive access, after the step's backward
  /// pass and before the optimizer update. 0 for a model without encodings.
  @discardableResult
  public func addTriplaneRegularization(tv: Float, l2: Float) -> Float {
    triplaneEncodings.reduce(0) { $0 + $1.layer.addPlaneRegularization(tv: tv, l2: l2) }
  }

  /// Throws `.invalidArgument` if a row of `x` (n x inputDim) has a field index that names
  /// no field, when the model's first layer is a tri-plane encoding of several fields (the
  /// "triplane" kind with `fields` > 1); without this check such rows give zero features
  /// and no gradient. Does nothing for other models.
  public func checkTriplaneInput(_ x: UnsafePointer<Float>, count n: Int) throws {
    guard let (index, encoding) = triplaneEncodings.first, index == 0 else { return }
    try encoding.checkFieldIndices(x, count: n)
  }
}
