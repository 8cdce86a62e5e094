// Exports: Kolmogorov-Arnold network tools (grid updates, grid refinement, edge curves).
import CLaminaABI
import Lamina

@_cdecl("lamina_model_kan_update_grid")
public func laminaModelKanUpdateGrid(
  _ model: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int, _ gridEps: Float
) -> lamina_status {
  guarded {
    let f = "lamina_model_kan_update_grid"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginChanging(m, in: f)
    defer { m.useGuard.endExclusive() }
    let n = try sampleCount(n, in: f)
    guard n > 0 else { throw LaminaError(.shape, "\(f): needs at least one sample; n is 0") }
    try m.updateGrid(samples: try require(x, "x", in: f), count: n, gridEps: Double(gridEps))
  }
}

@_cdecl("lamina_model_kan_refine")
public func laminaModelKanRefine(
  _ model: OpaquePointer?, _ grid: Int, _ x: UnsafePointer<Float>?, _ n: Int,
  _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_kan_refine"
    let out = try require(out, "out", in: f)
    out.pointee = nil
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    guard grid >= 0 else {
      throw LaminaError(
        .invalidArgument,
        "\(f): grid = \(UInt(bitPattern: grid)) is out of range (1 to \(BSplineKANLayer.Options.maxGrid))"
      )
    }
    let n = try sampleCount(n, in: f)
    let samples = n > 0 ? try require(x, "x", in: f) : nil
    out.pointee = Handles.retain(try m.refine(grid: grid, samples: samples, count: n))
  }
}

@_cdecl("lamina_model_kan_edge_curve")
public func laminaModelKanEdgeCurve(
  _ model: OpaquePointer?, _ layer: Int, _ i: Int, _ j: Int, _ x: UnsafePointer<Float>?,
  _ count: Int, _ y: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_kan_edge_curve"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    _ = try m.kanEdgeLayer(layer, input: i, output: j)
    let n = try sampleCount(count, in: f)
    if n == 0 { return }
    try m.kanEdgeCurve(
      layer: layer, input: i, output: j, at: try require(x, "x", in: f), count: n,
      into: try require(y, "y", in: f))
  }
}

@_cdecl("lamina_model_kan_attribute")
public func laminaModelKanAttribute(
  _ model: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int,
  _ scores: UnsafeMutablePointer<Float>?, _ cap: Int, _ len: UnsafeMutablePointer<Int>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_kan_attribute"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    let length = try require(len, "len", in: f)
    let stages = try m.bsplineKANStages(f)
    // Edge scores of every KAN layer, then node scores of every level (inputs first).
    let total =
      stages.reduce(0) { $0 + $1.kan.inputDim * $1.kan.outputDim } + m.inputDim
      + stages.reduce(0) { $0 + $1.nodes }
    length.pointee = total
    guard let scores else {
      guard cap == 0 else {
        throw LaminaError(.invalidArgument, "\(f): scores is NULL but cap is \(cap)")
      }
      return
    }
    guard capacity(cap) >= total else {
      throw LaminaError(.invalidArgument, "\(f): cap \(cap) is smaller than the \(total) scores")
    }
    let count = try sampleCount(n, in: f)
    let a = try m.kanAttribute(samples: try require(x, "x", in: f), count: count)
    var p = 0
    for block in a.edgeScores + a.nodeScores {
      for v in block {
        scores[p] = v
        p += 1
      }
    }
  }
}

@_cdecl("lamina_model_kan_prune")
public func laminaModelKanPrune(
  _ model: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int, _ nodeThreshold: Float,
  _ edgeThreshold: Float, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_kan_prune"
    let out = try require(out, "out", in: f)
    out.pointee = nil
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    let count = try sampleCount(n, in: f)
    _ = try m.bsplineKANLayers(f)
    let pruned = try m.kanPrune(
      samples: try require(x, "x", in: f), count: count, nodeThreshold: Double(nodeThreshold),
      edgeThreshold: Double(edgeThreshold))
    out.pointee = Handles.retain(pruned)
  }
}
