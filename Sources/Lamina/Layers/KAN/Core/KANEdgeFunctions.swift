/// Evaluating one edge function phi_ij of a KAN layer on its own, so that every edge can be
/// plotted (pykan's `plot`, `get_fun`) or checked: the protocol layers conform to and the
/// model-level entry points.

/// A KAN layer whose edge functions can be evaluated one at a time.
///
/// A layer conforms when each output is a sum of per-edge functions of one input,
/// y_j = sum_i phi_ij(x_i), with phi_ij including everything the layer applies to that
/// edge (scales, mask). Other KAN bases join by conforming.
public protocol KANEdgeFunctions: Layer {
  /// phi_ij(x[s]) for `n` points into `y[s]`, as `forward` computes edge (i, j)'s term.
  /// `i` < inputDim and `j` < outputDim (callers check); any x values (the caller checks
  /// they are finite). Reads the layer only, so it may run on many threads at once.
  func edgeValues(
    input i: Int, output j: Int, at x: UnsafePointer<Float>, count n: Int,
    into y: UnsafeMutablePointer<Float>)
}

extension Model {
  /// An index as the caller wrote it: C's size_t values past Int.max arrive negative.
  private static func describe(_ index: Int) -> String {
    index < 0 ? String(UInt(bitPattern: index)) : String(index)
  }

  /// The layer holding edge (i, j) of layer `layer`, after checking every index: layer
  /// out of range, i or j out of range are `.invalidArgument`; a layer without edge
  /// functions (dense, activation, or a KAN basis that does not offer them) is
  /// `.unsupported`.
  public func kanEdgeLayer(_ layer: Int, input i: Int, output j: Int) throws -> any KANEdgeFunctions
  {
    guard layer >= 0, layer < layers.count else {
      throw LaminaError.invalid(
        "edge_curve: layer \(Self.describe(layer)) is out of range (the model has \(layers.count) layers)"
      )
    }
    if let basis = layers[layer] as? any KANBasisLayer, let why = basis.edgeCurveRefusal {
      throw LaminaError(.unsupported, "edge_curve: layer \(layer) is \(why)")
    }
    guard let kan = layers[layer] as? KANEdgeFunctions else {
      let type: String
      if case .string(let name)? = layers[layer].spec["type"] { type = name } else { type = "?" }
      var what = "a \"\(type)\" layer"
      if case .string(let basis)? = layers[layer].spec["basis"] {
        what += " with basis \"\(basis)\""
      }
      throw LaminaError(
        .unsupported,
        "edge_curve: layer \(layer) is \(what); edge curves are available for KAN layers"
      )
    }
    guard i >= 0, i < kan.inputDim else {
      throw LaminaError.invalid(
        "edge_curve: input i = \(Self.describe(i)) is out of range (layer \(layer) has \(kan.inputDim) inputs)"
      )
    }
    guard j >= 0, j < kan.outputDim else {
      throw LaminaError.invalid(
        "edge_curve: output j = \(Self.describe(j)) is out of range (layer \(layer) has \(kan.outputDim) outputs)"
      )
    }
    return kan
  }

  /// phi_{layer,i,j}(x[s]) for `n` points into `y[s]`: the edge from input i to output j
  /// of layer `layer` (the index in `layers`, as in the tensor names "<layer>.coef"),
  /// including its base branch (SiLU or the layer's "base_fun"), scales and mask, so that y_j = sum_i phi_ij(x_i) is the
  /// layer's output. Reads the model only. Throws as `kanEdgeLayer`, `.numeric` for
  /// non-finite x and `.outOfMemory` for n beyond the batch limit.
  public func kanEdgeCurve(
    layer: Int, input i: Int, output j: Int, at x: UnsafePointer<Float>, count n: Int,
    into y: UnsafeMutablePointer<Float>
  ) throws {
    let kan = try kanEdgeLayer(layer, input: i, output: j)
    guard n >= 0, n <= Limits.maxBatchElements else {
      throw LaminaError(
        .outOfMemory,
        "edge_curve: count = \(Self.describe(n)) is over the limit of \(Limits.maxBatchElements)")
    }
    try Model.checkFinite(x, count: n, what: "edge_curve: x")
    kan.edgeValues(input: i, output: j, at: x, count: n, into: y)
  }
}
