// Exports: mixed-basis Kolmogorov-Arnold layers (mixture weights, keep-strongest).
import CLaminaABI
import Lamina

@_cdecl("lamina_model_kan_mixture")
public func laminaModelKanMixture(
  _ model: OpaquePointer?, _ layer: Int, _ weights: UnsafeMutablePointer<Float>?, _ cap: Int,
  _ len: UnsafeMutablePointer<Int>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_kan_mixture"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    let length = try require(len, "len", in: f)
    let mixed = try m.kanMixedLayer(layer, what: f)
    let a = mixed.mixture
    length.pointee = a.count
    guard let weights else {
      guard cap == 0 else {
        throw LaminaError(.invalidArgument, "\(f): weights is NULL but cap is \(cap)")
      }
      return
    }
    guard capacity(cap) >= a.count else {
      throw LaminaError(
        .invalidArgument, "\(f): cap \(capacity(cap)) is smaller than the \(a.count) weights")
    }
    a.withUnsafeBufferPointer { weights.update(from: $0.baseAddress!, count: a.count) }
  }
}

@_cdecl("lamina_model_kan_keep_strongest")
public func laminaModelKanKeepStrongest(
  _ model: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_kan_keep_strongest"
    let out = try require(out, "out", in: f)
    out.pointee = nil
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    out.pointee = Handles.retain(try m.kanKeepStrongest())
  }
}
