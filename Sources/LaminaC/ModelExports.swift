// Exports: models, inference and named tensors.
import CLaminaABI
import Lamina

@_cdecl("lamina_model_create")
public func laminaModelCreate(
  _ spec: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> lamina_status {
  guarded {
    let out = try require(out, "out", in: "lamina_model_create")
    out.pointee = nil
    let text = try string(spec, "spec_json", in: "lamina_model_create")
    out.pointee = Handles.retain(try Model(json: text))
  }
}

@_cdecl("lamina_model_free")
public func laminaModelFree(_ model: OpaquePointer?) {
  Handles.release(model, as: Model.self)
}

@_cdecl("lamina_model_clone")
public func laminaModelClone(
  _ model: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> lamina_status {
  guarded {
    let out = try require(out, "out", in: "lamina_model_clone")
    out.pointee = nil
    let m = try Handles.object(model, as: Model.self, "model", in: "lamina_model_clone")
    try beginReading(m, in: "lamina_model_clone")
    defer { m.useGuard.endShared() }
    out.pointee = Handles.retain(m.copy())
  }
}

@_cdecl("lamina_model_spec")
public func laminaModelSpec(
  _ model: OpaquePointer?, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int,
  _ len: UnsafeMutablePointer<Int>?
) -> lamina_status {
  guarded {
    let m = try Handles.object(model, as: Model.self, "model", in: "lamina_model_spec")
    try beginReading(m, in: "lamina_model_spec")
    defer { m.useGuard.endShared() }
    try copyOut(m.spec.text, buf, cap, len, in: "lamina_model_spec")
  }
}

@_cdecl("lamina_model_input_dim")
public func laminaModelInputDim(_ model: OpaquePointer?) -> Int {
  (try? Handles.object(model, as: Model.self, "model", in: ""))?.inputDim ?? 0
}

@_cdecl("lamina_model_output_dim")
public func laminaModelOutputDim(_ model: OpaquePointer?) -> Int {
  (try? Handles.object(model, as: Model.self, "model", in: ""))?.outputDim ?? 0
}

@_cdecl("lamina_model_parameter_count")
public func laminaModelParameterCount(_ model: OpaquePointer?) -> Int {
  (try? Handles.object(model, as: Model.self, "model", in: ""))?.parameterCount ?? 0
}

@_cdecl("lamina_model_predict")
public func laminaModelPredict(
  _ model: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int, _ y: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_predict"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    let n = try sampleCount(n, in: f)
    if n == 0 { return }
    try m.predict(try require(x, "x", in: f), count: n, into: try require(y, "y", in: f))
  }
}

@_cdecl("lamina_model_input_gradient")
public func laminaModelInputGradient(
  _ model: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int,
  _ dydx: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_input_gradient"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    let n = try sampleCount(n, in: f)
    if n == 0 { return }
    try m.inputGradient(
      try require(x, "x", in: f), count: n, into: try require(dydx, "dydx", in: f))
  }
}

@_cdecl("lamina_model_save")
public func laminaModelSave(_ model: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> lamina_status
{
  guarded {
    let f = "lamina_model_save"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    let p = try filePath(path, in: f)
    try named(f) { try m.save(to: p) }
  }
}

@_cdecl("lamina_model_load")
public func laminaModelLoad(
  _ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_load"
    let out = try require(out, "out", in: f)
    out.pointee = nil
    let p = try filePath(path, in: f)
    out.pointee = Handles.retain(try named(f) { try Model.load(from: p) })
  }
}

@_cdecl("lamina_model_save_buffer")
public func laminaModelSaveBuffer(
  _ model: OpaquePointer?, _ buf: UnsafeMutableRawPointer?, _ cap: Int,
  _ len: UnsafeMutablePointer<Int>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_save_buffer"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    // Bytes, as the mesh calls copy floats: cap >= *len, no terminating NUL.
    try copyOut(m.encoded(), buf?.assumingMemoryBound(to: UInt8.self), cap, len, in: f)
  }
}

@_cdecl("lamina_model_load_buffer")
public func laminaModelLoadBuffer(
  _ buf: UnsafeRawPointer?, _ len: Int, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_load_buffer"
    let out = try require(out, "out", in: f)
    out.pointee = nil
    let buf = try require(buf, "buf", in: f)
    // A size_t past Int.max arrives negative: larger than any model, refused unread.
    guard len >= 0 else {
      throw LaminaError(
        .format, "\(f): buffer is \(UInt(bitPattern: len)) bytes, larger than any valid model")
    }
    let bytes = UnsafeRawBufferPointer(start: buf, count: len)
    out.pointee = Handles.retain(try named(f) { try Model.load(fromBytes: bytes) })
  }
}

@_cdecl("lamina_model_tensor_count")
public func laminaModelTensorCount(_ model: OpaquePointer?) -> Int {
  (try? Handles.object(model, as: Model.self, "model", in: ""))?.tensors.count ?? 0
}

@_cdecl("lamina_model_tensor_name")
public func laminaModelTensorName(
  _ model: OpaquePointer?, _ index: Int, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int,
  _ len: UnsafeMutablePointer<Int>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_tensor_name"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    guard index >= 0, index < m.tensors.count else {
      throw LaminaError(
        .invalidArgument,
        "\(f): index \(UInt(bitPattern: index)) is out of range (the model has \(m.tensors.count) tensors)"
      )
    }
    try copyOut(m.tensors[index].name, buf, cap, len, in: f)
  }
}

/// The tensor called `name`, or an invalid-argument error listing the names.
private func namedTensor(_ m: Model, _ name: UnsafePointer<CChar>?, in f: String) throws
  -> Parameter
{
  let key = try string(name, "name", in: f, limit: 4096)
  guard let p = m.tensor(named: key) else {
    let names = m.tensors.map(\.name).joined(separator: ", ")
    throw LaminaError(
      .invalidArgument, "\(f): no tensor named \"\(key)\" (the model has: \(names))")
  }
  return p
}

@_cdecl("lamina_model_tensor_shape")
public func laminaModelTensorShape(
  _ model: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ shape: UnsafeMutablePointer<Int>?,
  _ cap: Int, _ rank: UnsafeMutablePointer<Int>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_tensor_shape"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    let r = try require(rank, "rank", in: f)
    let p = try namedTensor(m, name, in: f)
    r.pointee = p.shape.count
    guard let shape else {
      guard cap == 0 else {
        throw LaminaError(.invalidArgument, "\(f): shape is NULL but cap is \(cap)")
      }
      return
    }
    guard capacity(cap) >= p.shape.count else {
      throw LaminaError(
        .invalidArgument, "\(f): cap \(cap) is smaller than the rank \(p.shape.count)")
    }
    for (i, d) in p.shape.enumerated() { shape[i] = d }
  }
}

@_cdecl("lamina_model_tensor_read")
public func laminaModelTensorRead(
  _ model: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<Float>?,
  _ count: Int
) -> lamina_status {
  guarded {
    let f = "lamina_model_tensor_read"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    let p = try namedTensor(m, name, in: f)
    let dest = try require(out, "out", in: f)
    guard count == p.count else {
      throw LaminaError(
        .shape, "\(f): tensor has \(p.count) values, count is \(UInt(bitPattern: count))")
    }
    p.value.withUnsafeBufferPointer { dest.update(from: $0.baseAddress!, count: count) }
  }
}

@_cdecl("lamina_model_tensor_write")
public func laminaModelTensorWrite(
  _ model: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ values: UnsafePointer<Float>?,
  _ count: Int
) -> lamina_status {
  guarded {
    let f = "lamina_model_tensor_write"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginChanging(m, in: f)
    defer { m.useGuard.endExclusive() }
    let p = try namedTensor(m, name, in: f)
    let src = try require(values, "values", in: f)
    guard count == p.count else {
      throw LaminaError(
        .shape, "\(f): tensor has \(p.count) values, count is \(UInt(bitPattern: count))")
    }
    for i in 0..<count where !src[i].isFinite {
      throw LaminaError(.numeric, "\(f): values[\(i)] is \(src[i]); weights must be finite")
    }
    p.value = Array(UnsafeBufferPointer(start: src, count: count))
  }
}

@_cdecl("lamina_model_tensor_trainable")
public func laminaModelTensorTrainable(
  _ model: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ trainable: UnsafeMutablePointer<Int32>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_tensor_trainable"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    let out = try require(trainable, "trainable", in: f)
    let p = try namedTensor(m, name, in: f)
    // Which tensors are trained never changes (the architecture is fixed), so no use guard.
    out.pointee = m.parameters.contains { $0 === p } ? 1 : 0
  }
}
