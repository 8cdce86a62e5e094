// Exports: analytic shapes, marching cubes and mesh comparison. Thin translation only.
import CLaminaABI
import Lamina

/// Parses a shape argument, prefixing errors with the function's name.
private func parseShape(_ json: UnsafePointer<CChar>?, in function: String) throws -> Shape {
  let text = try string(json, "shape_json", in: function)
  return try named(function) { try Shape(json: text) }
}

/// Bounds from 6 floats (xmin, ymin, zmin, xmax, ymax, zmax), or [-1, 1]^3 for NULL.
private func bounds(_ b: UnsafePointer<Float>?) -> (SIMD3<Float>, SIMD3<Float>) {
  guard let b else { return (SIMD3(repeating: -1), SIMD3(repeating: 1)) }
  return (SIMD3(b[0], b[1], b[2]), SIMD3(b[3], b[4], b[5]))
}

/// A grid size along one axis (size_t): 2...MarchingCubes.maxResolution.
private func axisSize(_ n: Int, _ name: String, in function: String) throws -> Int {
  guard n >= 2, n <= MarchingCubes.maxResolution else {
    let shown = n < 0 ? "\(UInt(bitPattern: n))" : "\(n)"
    throw LaminaError(
      .invalidArgument,
      "\(function): \(name) = \(shown); it must be between 2 and \(MarchingCubes.maxResolution)")
  }
  return n
}

@_cdecl("lamina_shape_sdf")
public func laminaShapeSDF(
  _ json: UnsafePointer<CChar>?, _ points: UnsafePointer<Float>?, _ n: Int,
  _ sdf: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_shape_sdf"
    let shape = try parseShape(json, in: f)
    let n = try pointCount(n, in: f)
    guard n > 0 else { return }
    shape.sdf(try require(points, "points", in: f), n, into: try require(sdf, "sdf", in: f))
  }
}

@_cdecl("lamina_shape_gradient")
public func laminaShapeGradient(
  _ json: UnsafePointer<CChar>?, _ points: UnsafePointer<Float>?, _ n: Int,
  _ gradient: UnsafeMutablePointer<Float>?, _ sdf: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_shape_gradient"
    let shape = try parseShape(json, in: f)
    let n = try pointCount(n, in: f)
    guard n > 0 else { return }
    shape.gradient(
      try require(points, "points", in: f), n, into: try require(gradient, "gradient", in: f),
      values: sdf)
  }
}

@_cdecl("lamina_marching_cubes")
public func laminaMarchingCubes(
  _ values: UnsafePointer<Float>?, _ nx: Int, _ ny: Int, _ nz: Int, _ box: UnsafePointer<Float>?,
  _ level: Float, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> lamina_status {
  guarded {
    let f = "lamina_marching_cubes"
    let out = try require(out, "out", in: f)
    out.pointee = nil
    let size = (
      try axisSize(nx, "nx", in: f), try axisSize(ny, "ny", in: f), try axisSize(nz, "nz", in: f)
    )
    let values = try require(values, "values", in: f)
    let (lower, upper) = bounds(box)
    let mesh = try named(f) {
      try MarchingCubes.extract(
        values: values, resolution: size, lower: lower, upper: upper, level: level)
    }
    out.pointee = Handles.retain(MeshHandle(mesh))
  }
}

@_cdecl("lamina_shape_mesh")
public func laminaShapeMesh(
  _ json: UnsafePointer<CChar>?, _ resolution: Int, _ box: UnsafePointer<Float>?,
  _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> lamina_status {
  guarded {
    let f = "lamina_shape_mesh"
    let out = try require(out, "out", in: f)
    out.pointee = nil
    let shape = try parseShape(json, in: f)
    let n = try axisSize(resolution, "resolution", in: f)
    let (lower, upper) = bounds(box)
    let mesh = try named(f) {
      try MarchingCubes.extract(
        resolution: (n, n, n), lower: lower, upper: upper,
        evaluate: { shape.sdf($0, $1, into: $2) }, gradient: { shape.gradient($0, $1, into: $2) })
    }
    out.pointee = Handles.retain(MeshHandle(mesh))
  }
}

@_cdecl("lamina_mesh_compare")
public func laminaMeshCompare(
  _ a: OpaquePointer?, _ b: OpaquePointer?, _ samples: Int, _ seed: UInt64, _ threshold: Float,
  _ chamfer: UnsafeMutablePointer<Float>?, _ fscore: UnsafeMutablePointer<Float>?,
  _ normalConsistency: UnsafeMutablePointer<Float>?, _ iou: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_mesh_compare"
    let ma = try Handles.object(a, as: MeshHandle.self, "a", in: f)
    let mb = try Handles.object(b, as: MeshHandle.self, "b", in: f)
    guard samples >= 0, samples <= MeshComparison.maxSamples else {
      throw LaminaError(
        .invalidArgument,
        "\(f): samples = \(UInt(bitPattern: samples)); it must be between 1 and \(MeshComparison.maxSamples)"
      )
    }
    let c = try named(f) {
      try MeshComparison(
        ma.mesh, mb.mesh, samples: samples, seed: seed, threshold: threshold, volume: iou != nil,
        bvhA: iou != nil ? ma.bvh : nil, bvhB: iou != nil ? mb.bvh : nil)
    }
    chamfer?.pointee = Float(c.chamfer)
    fscore?.pointee = Float(c.fscore)
    normalConsistency?.pointee = Float(c.normalConsistency)
    if let iou, let value = c.iou { iou.pointee = Float(value) }
  }
}
