/// A layer that applies one function to every value on its own: output j of a row depends
/// only on input j, and the width is the same in and out. So the layer before it may apply
/// it to each block of its outputs right after producing them (while the block is in
/// cache) and back-propagate through it block by block, with the same values, to the bit,
/// as running the two layers one after the other.
protocol FusableActivation: Layer {
  /// The function applied, so that a fusing kernel may fold some (relu) into its own
  /// stores instead of calling `forward`.
  var activation: Activation { get }
}

/// A layer that can run the `FusableActivation` after it inside its own forward and
/// backward passes, giving to the bit what its own pass and the activation's pass in turn
/// give. The model pairs each such layer with an activation after it once, when it is
/// built (`Model.fused`), and its passes then take one step for the two.
protocol ActivationFusing: Layer {
  /// This layer's output z into `z` for `n` rows; with `activation`, also
  /// a = activation(z) into `a`, which may be `z` itself (the activation then runs in
  /// place).
  func forward(
    _ x: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>, count n: Int,
    then activation: (any FusableActivation)?, _ a: UnsafeMutablePointer<Float>?)

  /// Back-propagates `da` through `activation` (with no parameter gradients of its own:
  /// the caller fuses only a parameter-free activation, or a pass without parameter
  /// gradients) into `dz` (n x outputDim scratch), then through this layer: dL/dx into
  /// `dx` when non-nil, which may be the buffer `da` is in, and the parameter gradients
  /// when `parameterGradients`. `z` is this layer's forward output, `a` the activation's.
  func backward(
    then activation: any FusableActivation, _ x: UnsafePointer<Float>,
    _ z: UnsafePointer<Float>, _ a: UnsafePointer<Float>, _ da: UnsafePointer<Float>,
    dz: UnsafeMutablePointer<Float>, _ dx: UnsafeMutablePointer<Float>?, count n: Int,
    parameterGradients: Bool)
}
