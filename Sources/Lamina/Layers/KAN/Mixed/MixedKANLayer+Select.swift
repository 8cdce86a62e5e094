/// Model-level tools of mixed-basis KAN layers: reading the mixture weights, keeping the
/// strongest basis per edge, and the check the B-spline-only tools make.

extension Model {
  /// Layer `layer` as a mixed-basis KAN layer; `.invalidArgument` for an index out of range,
  /// `.unsupported` for any other kind of layer. `what` names the caller in messages.
  public func kanMixedLayer(_ layer: Int, what: String = "mixture") throws -> MixedKANLayer {
    guard layer >= 0, layer < layers.count else {
      let shown = layer < 0 ? String(UInt(bitPattern: layer)) : String(layer)
      throw LaminaError.invalid(
        "\(what): layer \(shown) is out of range (the model has \(layers.count) layers)")
    }
    guard let mixed = layers[layer] as? MixedKANLayer else {
      var type = "?"
      if case .string(let name)? = layers[layer].spec["type"] { type = name }
      if case .string(let basis)? = layers[layer].spec["basis"] { type += " (basis \(basis))" }
      throw LaminaError(
        .unsupported, "\(what): layer \(layer) is \(type), not a mixed-basis KAN layer")
    }
    return mixed
  }

  /// The normalised mixture weights of layer `layer`, [out, in, K] row-major: a_ijk at
  /// (j * in + i) * K + k, each edge's K weights summing to 1 (or the fixed "selection" of
  /// a selected layer). The component names are the layer spec's "bases" (also
  /// `MixedKANLayer.componentNames`). Throws as `kanMixedLayer`.
  public func kanMixture(layer: Int) throws -> [Float] {
    try kanMixedLayer(layer).mixture
  }

  /// The index of the first mixed-basis KAN layer, or nil.
  var firstMixedKANLayer: Int? { layers.firstIndex { $0 is MixedKANLayer } }

  /// Throws `.unsupported` naming the first mixed-basis KAN layer, for tools that handle
  /// B-spline layers only (`what` names the tool).
  func refuseMixedKANLayers(_ what: String) throws {
    if let l = firstMixedKANLayer {
      throw LaminaError(
        .unsupported,
        "\(what): layer \(l) is a mixed-basis KAN layer; \(what) handles B-spline KAN layers "
          + "only (call keep_strongest first: a layer whose edges all keep \"bspline\" becomes "
          + "a B-spline layer)")
    }
  }

  /// A new model in which every edge of every mixed-basis KAN layer keeps only its
  /// strongest basis (largest mixture weight; ties go to the earlier component), at full
  /// weight: the mixture weight is dropped (renormalised to 1), so each kept edge equals
  /// its chosen component's edge phi^k_ij exactly and the component tensors are unchanged.
  ///
  /// Per layer: when every edge picks the same basis, the layer becomes a plain layer of
  /// that basis (its spec and tensors those of the component, "<l>.bases.<k>.coef" renamed
  /// "<l>.coef", ...); otherwise it stays mixed with only the chosen components, "selected":
  /// true, and the buffer "selection" (one-hot [out, in, K']) in place of "mix_logits".
  /// Selected layers may be selected again (the selection is their weights). Other layers
  /// are copied. A "kan" model's new spec lists its bases per layer. This model is not
  /// changed. Throws `.unsupported` for a model without mixed-basis KAN layers.
  public func kanKeepStrongest() throws -> Model {
    guard layers.contains(where: { $0 is MixedKANLayer }) else {
      throw LaminaError(.unsupported, "keep_strongest: the model has no mixed-basis KAN layers")
    }
    // Per layer: its new spec, and where each new tensor's values come from.
    var specs: [JSONValue] = []
    var sources: [String: [Float]] = [:]
    for (l, layer) in layers.enumerated() {
      guard let mixed = layer as? MixedKANLayer else {
        specs.append(layer.spec)
        for p in layer.parameters + layer.buffers { sources["\(l).\(p.name)"] = p.value }
        continue
      }
      let (inp, out, kc) = (mixed.inputDim, mixed.outputDim, mixed.componentCount)
      let a = mixed.mixture
      var choice = [Int](repeating: 0, count: inp * out)
      for e in 0..<(inp * out) {
        var best = 0
        for k in 1..<kc where a[e * kc + k] > a[e * kc + best] { best = k }
        choice[e] = best
      }
      let kept = Array(Set(choice)).sorted()
      guard case .object(let pairs) = mixed.spec, case .array(let entries)? = mixed.spec["bases"]
      else { throw LaminaError(.internal, "keep_strongest: layer \(l) has a malformed spec") }
      if kept.count == 1 {
        // The chosen component's own layer spec: {"type", "output", "basis": name, keys}.
        let k = kept[0]
        guard case .object(let entry) = entries[k] else {
          throw LaminaError(.internal, "keep_strongest: layer \(l) has a malformed basis entry")
        }
        specs.append(
          .object(
            [("type", .string("kan")), ("output", .number(Double(out)))]
              + entry.map { $0.0 == "name" ? ("basis", $0.1) : $0 }))
        for p in mixed.componentParameters[k] + mixed.componentBuffers[k] {
          sources["\(l).\(p.name.dropFirst("bases.\(k).".count))"] = p.value
        }
      } else {
        specs.append(
          .object(
            pairs.map { key, value in
              switch key {
              case "bases": return (key, .array(kept.map { entries[$0] }))
              case "selected": return (key, .bool(true))
              default: return (key, value)
              }
            }))
        for (newIndex, k) in kept.enumerated() {
          for p in mixed.componentParameters[k] + mixed.componentBuffers[k] {
            sources["\(l).bases.\(newIndex).\(p.name.dropFirst("bases.\(k).".count))"] = p.value
          }
        }
        var one = [Float](repeating: 0, count: inp * out * kept.count)
        for e in 0..<(inp * out) {
          if let newIndex = kept.firstIndex(of: choice[e]) { one[e * kept.count + newIndex] = 1 }
        }
        sources["\(l).selection"] = one
      }
    }
    let newSpec = try kanSpec(replacingLayerSpecs: specs)
    let kept = try Model(spec: newSpec)
    guard kept.layers.count == layers.count else {
      throw LaminaError(.internal, "keep_strongest: the new spec has a different layer count")
    }
    for (name, p) in kept.tensors {
      guard let values = sources[name], values.count == p.count else {
        throw LaminaError(.internal, "keep_strongest: no values for the new tensor \"\(name)\"")
      }
      p.value = values
    }
    return kept
  }

  /// This model's spec with each layer's spec replaced by `layerSpecs[l]` (full layer
  /// objects with "type" and "output"): a "sequential" model's "layers" list, or a "kan"
  /// model's "basis" written as one entry per layer.
  private func kanSpec(replacingLayerSpecs layerSpecs: [JSONValue]) throws -> JSONValue {
    guard case .object(let pairs) = spec else {
      throw LaminaError(.internal, "keep_strongest: the model spec is not an object")
    }
    switch kind {
    case "sequential":
      return .object(pairs.map { $0.0 == "layers" ? ($0.0, .array(layerSpecs)) : $0 })
    case "kan":
      let entries: [JSONValue] = layerSpecs.map { layerSpec in
        guard case .object(let lp) = layerSpec else { return layerSpec }
        let name = lp.first { $0.0 == "basis" }?.1 ?? .string(KANBasis.defaultName)
        return .object(
          [("name", name)] + lp.filter { !["type", "output", "basis"].contains($0.0) })
      }
      // Keep "kind", "widths" and "seed"; the shared basis keys move into the entries.
      let kept = pairs.filter { ["kind", "widths", "seed"].contains($0.0) }
      return .object(
        kept.filter { $0.0 != "seed" } + [("basis", .array(entries))]
          + kept.filter { $0.0 == "seed" })
    default:
      throw LaminaError(
        .unsupported, "keep_strongest: models of kind \"\(kind)\" have no KAN layers")
    }
  }
}
