// Exports: pykan's KAN sparsity regulariser as a value (the trainer applies it with "lamb").
import CLaminaABI
import Lamina

@_cdecl("lamina_model_kan_regularization")
public func laminaModelKanRegularization(
  _ model: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int,
  _ config: UnsafePointer<CChar>?, _ reg: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_kan_regularization"
    let out = try require(reg, "reg", in: f)
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    let settings =
      config == nil
      ? KANRegularization()
      : try KANRegularization(
        settings: JSONValue.parse(try string(config, "config_json", in: f), what: "config_json"))
    let n = try sampleCount(n, in: f)
    guard n > 0 else { throw LaminaError(.shape, "\(f): needs at least one sample; n is 0") }
    let value = try m.kanRegularization(try require(x, "x", in: f), count: n, settings: settings)
    guard value.isFinite, abs(value) <= Double(Float.greatestFiniteMagnitude) else {
      throw LaminaError(.numeric, "\(f): the regulariser is \(value), not a finite float")
    }
    out.pointee = Float(value)
  }
}
