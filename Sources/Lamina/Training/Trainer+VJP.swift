/// Training from a caller's upstream gradient: the step a custom loss (in C, numpy or
/// PyTorch) takes through the trainer, which Lamina cannot evaluate itself.
extension Trainer {
  /// One optimizer step from dL/dy computed by the caller: `x` is n x inputDim, `dy` (the
  /// gradient of the caller's loss with respect to the model's outputs at the current
  /// weights) n x outputDim. The parameter gradient is dy back-propagated through the model
  /// (one forward and one backward pass over the whole batch, as `step` makes), plus the
  /// gradients of the trainer's own penalties, as `step` adds them (KAN sparsity "lamb",
  /// tri-plane "plane_tv" and "plane_l2"); then clipping, the schedule and the optimizer
  /// update exactly as `step`, and the step count advances. So with dy = the gradient of the
  /// configured loss, the weights end with the bits `step` gives (for batches where `step`
  /// does not run the row-block pipeline, which sums in another order).
  ///
  /// Returns the value of the penalties added (lamb * reg + the plane terms; 0 when none):
  /// the caller's loss plus this is the objective the step descended.
  ///
  /// Throws `.invalidArgument` for n = 0, `.numeric` for NaN or Inf in `x` or `dy`, a
  /// non-finite penalty or gradient, or an update that would make a weight non-finite (the
  /// weights are left as they were), and `.unsupported` with lbfgs: its step re-evaluates
  /// the loss and gradient at new weights, which a gradient given once cannot do.
  @discardableResult
  public func stepVJP(_ x: UnsafePointer<Float>, dy: UnsafePointer<Float>, count n: Int) throws
    -> Float
  {
    guard n > 0 else {
      throw LaminaError.invalid("a training step needs at least one sample (n = 0)")
    }
    guard lbfgs == nil else {
      throw LaminaError(
        .unsupported,
        "a step from a given gradient cannot use lbfgs: its line search re-evaluates the loss"
          + " and gradient at new weights; use sgd, adam or adamw")
    }
    try model.checkVJP(x, dy: dy, count: n)
    for p in parameters {
      p.gradient.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }
    var penalty: Float = 0
    let reg = config.regularization
    try model.withSymbolicSingularity(config.symbolicThreshold) {
      model.forward(x, count: n, workspace: workspace, keep: true)
      workspace.gradientOut.update(from: dy, count: n * model.outputDim)
      if reg.isActive {
        try Model.checkRegularization(reg, model: model)
        let value = model.backwardRegularized(x, count: n, workspace: workspace, settings: reg).reg
        penalty += Float(reg.lamb * value)
      } else {
        model.backward(x, count: n, workspace: workspace, parameterGradients: true)
      }
    }
    if config.planeTV > 0 || config.planeL2 > 0 {
      penalty += model.addTriplaneRegularization(
        tv: Float(config.planeTV), l2: Float(config.planeL2))
    }
    guard penalty.isFinite else {
      throw LaminaError.numeric(
        "training diverged: the trainer's penalty is \(penalty); weights left as before the step")
    }
    var squares: Double = 0
    for p in parameters {
      p.gradient.withUnsafeBufferPointer { g in
        squares += Double(g.baseAddress.map { Trainer.sumOfSquares($0, count: g.count) } ?? 0)
      }
    }
    guard squares.isFinite else {
      throw LaminaError.numeric(
        "training diverged: a gradient is not finite; weights left as before the step")
    }
    try descend(squares: squares)
    return penalty
  }
}
