/// Mixed-basis KAN layers in jet passes: the layer is the sum of its components with their
/// per-edge tensors scaled by the mixture weights a (see `MixedKANLayer`), and a jet of a
/// sum is the sum of the jets, so each used component's shadow runs its own jet passes
/// (`KANEdgeJet` for every basis) exactly as `forward` and `backward` run its ordinary
/// ones; gradients reach the component tensors and, through the softmax, "mix_logits" the
/// same way (`gatherGradients`, `addLogitGradients`). Cost: the components' jet passes
/// together, plus one copy of the component tensors per call.
extension MixedKANLayer: JetLayer {
  /// The used components' jets summed. Reads the layer only.
  public func jetForward(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, shape: JetShape
  ) {
    guard shape.rows > 0 else { return }
    let total = shape.count(width: outputDim)
    scratch.withBuffer(count: weightCount + total) { s in
      let a = s
      let temp = s + weightCount
      mixtureWeights(into: a)
      y.update(repeating: 0, count: total)
      withShadows { set in
        for k in 0..<componentCount where isUsed(k, a) {
          load(set[k], component: k, weights: a)
          set[k].jet!.jetForward(x, temp, shape: shape)
          for e in 0..<total { y[e] += temp[e] }
        }
      }
    }
  }

  /// The used components' jet backward passes: dx summed, parameter gradients gathered as
  /// `backward` gathers them.
  public func jetBackward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, shape: JetShape, parameterGradients: Bool
  ) {
    guard shape.rows > 0, parameterGradients || dx != nil else { return }
    backwardThroughComponents(
      inputCount: shape.count(width: inputDim), dx, parameterGradients: parameterGradients
    ) { shadow, componentDx in
      // The component's own output jet is not kept; its passes recompute from x.
      shadow.jet!.jetBackward(
        x, y, dy, componentDx, shape: shape, parameterGradients: parameterGradients)
    }
  }

  /// A component without jet passes (none of today's bases) or refusing them.
  public var jetRefusal: String? {
    for (k, name) in componentNames.enumerated() {
      guard let jet = prototypes[k] as? any JetLayer else {
        return "is a mixed KAN layer whose component \(k) (\"\(name)\") has no jet passes"
      }
      if let why = jet.jetRefusal { return "is a mixed KAN layer whose component \(k) \(why)" }
    }
    return nil
  }
}
