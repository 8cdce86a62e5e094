// Exports: vector-Jacobian products and the training step from a caller's dL/dy (custom
// losses, PyTorch interop).
import CLaminaABI
import Lamina

@_cdecl("lamina_model_vjp")
public func laminaModelVJP(
  _ model: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int, _ dy: UnsafePointer<Float>?,
  _ dx: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_vjp"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    let n = try sampleCount(n, in: f)
    if n == 0 { return }
    let xs = try require(x, "x", in: f)
    let dys = try require(dy, "dy", in: f)
    let out = try require(dx, "dx", in: f)
    try named(f) { try m.vjp(xs, count: n, dy: dys, into: out) }
  }
}

@_cdecl("lamina_model_parameter_vjp")
public func laminaModelParameterVJP(
  _ model: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int, _ dy: UnsafePointer<Float>?,
  _ parameterGradients: UnsafeMutablePointer<Float>?, _ count: Int,
  _ dx: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_parameter_vjp"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginChanging(m, in: f)
    defer { m.useGuard.endExclusive() }
    let n = try sampleCount(n, in: f)
    guard count == m.parameterCount else {
      throw LaminaError(
        .shape,
        "\(f): count is \(UInt(bitPattern: count)) but the model has \(m.parameterCount)"
          + " trainable scalars (lamina_model_parameter_count)")
    }
    let grads = count > 0 ? try require(parameterGradients, "parameter_gradients", in: f) : nil
    let buffer = UnsafeMutableBufferPointer(start: grads, count: count)
    if n == 0 {
      buffer.update(repeating: 0)
      return
    }
    let xs = try require(x, "x", in: f)
    let dys = try require(dy, "dy", in: f)
    try named(f) {
      try m.parameterVJP(xs, count: n, dy: dys, parameterGradients: buffer, dx: dx)
    }
  }
}

@_cdecl("lamina_trainer_step_vjp")
public func laminaTrainerStepVJP(
  _ trainer: OpaquePointer?, _ x: UnsafePointer<Float>?, _ dy: UnsafePointer<Float>?, _ n: Int,
  _ penalty: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_trainer_step_vjp"
    let t = try Handles.object(trainer, as: Trainer.self, "trainer", in: f)
    try beginChanging(t.model, in: f)
    defer { t.model.useGuard.endExclusive() }
    let n = try sampleCount(n, in: f)
    let xs = try require(x, "x", in: f)
    let dys = try require(dy, "dy", in: f)
    let value = try named(f) { try t.stepVJP(xs, dy: dys, count: n) }
    penalty?.pointee = value
  }
}
