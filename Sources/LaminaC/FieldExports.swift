// Exports: evaluating models as 3-D fields (slices, iso-surfaces) and tri-plane tools.
import CLaminaABI
import Lamina

/// The box from a C `bounds` argument (6 floats, or NULL for the model's own box).
func fieldBox(_ bounds: UnsafePointer<Float>?, of model: Model, in function: String) throws
  -> Model.Box
{
  guard let bounds else { return model.fieldBox }
  return try named(function) { try Model.Box(Array(UnsafeBufferPointer(start: bounds, count: 6))) }
}

@_cdecl("lamina_model_slice")
public func laminaModelSlice(
  _ model: OpaquePointer?, _ axis: Int, _ offset: Float, _ resolution: Int,
  _ bounds: UnsafePointer<Float>?, _ out: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_slice"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    let out = try require(out, "out", in: f)
    let box = try fieldBox(bounds, of: m, in: f)
    try named(f) {
      let values = try m.slice(axis: axis, offset: offset, resolution: resolution, box: box)
      values.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: values.count) }
    }
  }
}

@_cdecl("lamina_model_triplane_upsample")
public func laminaModelTriplaneUpsample(
  _ model: OpaquePointer?, _ resolution: Int, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_triplane_upsample"
    let out = try require(out, "out", in: f)
    out.pointee = nil
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    guard resolution >= 0 else {
      throw LaminaError(
        .invalidArgument, "\(f): resolution \(UInt(bitPattern: resolution)) is out of range")
    }
    try named(f) {
      out.pointee = Handles.retain(try m.triplaneUpsampled(to: resolution))
    }
  }
}

@_cdecl("lamina_model_extract_mesh")
public func laminaModelExtractMesh(
  _ model: OpaquePointer?, _ resolution: Int, _ level: Float, _ bounds: UnsafePointer<Float>?,
  _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_extract_mesh"
    let out = try require(out, "out", in: f)
    out.pointee = nil
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    let box = try fieldBox(bounds, of: m, in: f)
    guard resolution >= 2, resolution <= MarchingCubes.maxResolution else {
      throw LaminaError(
        .invalidArgument,
        "\(f): resolution \(UInt(bitPattern: resolution)) is out of range (2 to \(MarchingCubes.maxResolution))"
      )
    }
    guard level.isFinite else { throw LaminaError(.invalidArgument, "\(f): level must be finite") }
    try named(f) {
      out.pointee = Handles.retain(
        MeshHandle(try m.extractMesh(resolution: resolution, level: level, box: box)))
    }
  }
}

/// Field-fit options from a C argument (NULL for all defaults).
private func fitOptions(_ json: UnsafePointer<CChar>?, in function: String) throws
  -> FieldFitOptions
{
  guard let json else { return FieldFitOptions() }
  let text = try string(json, "options_json", in: function)
  return try named(function) {
    try FieldFitOptions(json: JSONValue.parse(text, what: "options_json"))
  }
}

@_cdecl("lamina_model_fit_config")
public func laminaModelFitConfig(
  _ model: OpaquePointer?, _ optionsJSON: UnsafePointer<CChar>?, _ n: Int,
  _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int, _ len: UnsafeMutablePointer<Int>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_fit_config"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    let options = try fitOptions(optionsJSON, in: f)
    let n = try sampleCount(n, in: f)
    let config = try named(f) { try options.trainerConfig(for: m, count: n) }
    try copyOut(config.json.text, buf, cap, len, in: f)
  }
}

@_cdecl("lamina_model_fit_mesh")
public func laminaModelFitMesh(
  _ model: OpaquePointer?, _ mesh: OpaquePointer?, _ optionsJSON: UnsafePointer<CChar>?,
  _ progress: lamina_progress_fn?, _ userData: UnsafeMutableRawPointer?,
  _ finalLoss: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_fit_mesh"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    let h = try Handles.object(mesh, as: MeshHandle.self, "mesh", in: f)
    let options = try fitOptions(optionsJSON, in: f)
    try beginChanging(m, in: f)
    defer { m.useGuard.endExclusive() }
    let l = try named(f) {
      try m.fitMesh(
        h.mesh, bvh: h.mesh.faceCount > 0 ? h.bvh : nil, options: options,
        progress: progressCallback(progress, userData))
    }
    finalLoss?.pointee = l
  }
}

@_cdecl("lamina_model_fit_points")
public func laminaModelFitPoints(
  _ model: OpaquePointer?, _ points: UnsafePointer<Float>?, _ normals: UnsafePointer<Float>?,
  _ n: Int, _ optionsJSON: UnsafePointer<CChar>?, _ progress: lamina_progress_fn?,
  _ userData: UnsafeMutableRawPointer?, _ history: UnsafeMutablePointer<Float>?, _ cap: Int,
  _ stepsDone: UnsafeMutablePointer<Int>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_fit_points"
    stepsDone?.pointee = 0
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    let n = try cloudPointCount(n, "n", in: f)
    let cloud = try require(points, "points", in: f)
    let text = optionsJSON == nil ? "{}" : try string(optionsJSON, "options_json", in: f)
    let options = try named(f) {
      try PointCloudFitOptions(json: JSONValue.parse(text, what: "options_json"))
    }
    let row = PointCloudFitOptions.historyWidth
    try checkHistoryCapacity(
      history, cap, steps: options.steps, row: row, shape: "\(row)", in: f)
    let columns = options.historyColumns(normals: normals != nil)
    try beginChanging(m, in: f)
    defer { m.useGuard.endExclusive() }
    // Each step's row is written as it completes: a run that fails or is cancelled leaves
    // the steps it did.
    try named(f) {
      _ = try m.fitPoints(
        points: cloud, normals: normals, count: n, options: options,
        each: { s, total, losses in
          if let history {
            let base = history + (s - 1) * row
            base.update(repeating: .nan, count: row)
            base[0] = total
            for (i, l) in losses.enumerated() { base[columns[i]] = l }
          }
          stepsDone?.pointee = s
        }, progress: progressCallback(progress, userData))
    }
  }
}

@_cdecl("lamina_model_field_split")
public func laminaModelFieldSplit(
  _ model: OpaquePointer?, _ field: Int, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_field_split"
    let out = try require(out, "out", in: f)
    out.pointee = nil
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    try named(f) { out.pointee = Handles.retain(try m.fieldSplit(field)) }
  }
}

@_cdecl("lamina_model_field_stack")
public func laminaModelFieldStack(
  _ models: UnsafePointer<OpaquePointer?>?, _ count: Int, _ optionsJSON: UnsafePointer<CChar>?,
  _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_field_stack"
    let out = try require(out, "out", in: f)
    out.pointee = nil
    let list = try require(models, "models", in: f)
    // Checked before the array is read: a size_t past Int.max arrives negative.
    guard count >= 1, count <= TriplaneOptions.maxFields else {
      throw LaminaError(
        .invalidArgument,
        "\(f): count \(UInt(bitPattern: count)) is out of range (1 to \(TriplaneOptions.maxFields))"
      )
    }
    let text = optionsJSON == nil ? "{}" : try string(optionsJSON, "options_json", in: f)
    let options = try named(f) {
      try FieldStackOptions(json: JSONValue.parse(text, what: "options_json"))
    }
    var reading: [Model] = []
    defer { for m in reading { m.useGuard.endShared() } }
    for i in 0..<count {
      let m = try Handles.object(list[i], as: Model.self, "models[\(i)]", in: f)
      try beginReading(m, in: f)
      reading.append(m)
    }
    try named(f) { out.pointee = Handles.retain(try Model.fieldStack(reading, options: options)) }
  }
}
