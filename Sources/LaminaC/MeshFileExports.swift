// Exports: mesh files (load, save), signed distance, winding numbers, closest points,
// sampling, and point-cloud distance. Thin translation: the engine's MeshFile, TriangleBVH,
// SDFSampling and PointKDTree do the work.
import CLaminaABI
import Lamina

/// The mesh of a handle, with the function's name prefixed to its errors.
private func meshHandle(_ mesh: OpaquePointer?, in f: String) throws -> MeshHandle {
  try Handles.object(mesh, as: MeshHandle.self, "mesh", in: f)
}

/// `n` query points at `points` (3 floats each), all finite; nil when n is 0.
private func queryPoints(_ points: UnsafePointer<Float>?, _ n: Int, in f: String) throws
  -> UnsafePointer<Float>?
{
  let n = try pointCount(n, in: f)
  guard n > 0 else { return nil }
  let p = try require(points, "points", in: f)
  for i in 0..<(3 * n) where !p[i].isFinite {
    throw LaminaError(.numeric, "\(f): point \(i / 3) has a non-finite coordinate")
  }
  return p
}

/// Refuses meshes with no triangles (no surface to measure distance to).
private func requireTriangles(_ m: MeshHandle, in f: String) throws {
  guard m.mesh.faceCount > 0 else {
    throw LaminaError(.invalidArgument, "\(f): the mesh has no triangles")
  }
}

@_cdecl("lamina_mesh_load")
public func laminaMeshLoad(
  _ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?
)
  -> lamina_status
{
  guarded {
    let f = "lamina_mesh_load"
    let out = try require(out, "out", in: f)
    out.pointee = nil
    let p = try filePath(path, in: f)
    let mesh = try named(f) { try MeshFile.load(from: p) }
    out.pointee = Handles.retain(MeshHandle(mesh))
  }
}

@_cdecl("lamina_mesh_save")
public func laminaMeshSave(_ mesh: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> lamina_status {
  guarded {
    let f = "lamina_mesh_save"
    let m = try meshHandle(mesh, in: f)
    let p = try filePath(path, in: f)
    try named(f) { try MeshFile.save(m.mesh, to: p) }
  }
}

@_cdecl("lamina_mesh_signed_distance")
public func laminaMeshSignedDistance(
  _ mesh: OpaquePointer?, _ points: UnsafePointer<Float>?, _ n: Int,
  _ sdf: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_mesh_signed_distance"
    let m = try meshHandle(mesh, in: f)
    try requireTriangles(m, in: f)
    guard let p = try queryPoints(points, n, in: f) else { return }
    let out = try require(sdf, "sdf", in: f)
    m.bvh.signedDistances(p, count: n, into: out)
  }
}

@_cdecl("lamina_mesh_winding_number")
public func laminaMeshWindingNumber(
  _ mesh: OpaquePointer?, _ points: UnsafePointer<Float>?, _ n: Int,
  _ winding: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_mesh_winding_number"
    let m = try meshHandle(mesh, in: f)
    guard let p = try queryPoints(points, n, in: f) else { return }
    let out = try require(winding, "winding", in: f)
    m.bvh.windingNumbers(p, count: n, into: out)
  }
}

@_cdecl("lamina_mesh_closest_point")
public func laminaMeshClosestPoint(
  _ mesh: OpaquePointer?, _ points: UnsafePointer<Float>?, _ n: Int,
  _ closest: UnsafeMutablePointer<Float>?, _ triangles: UnsafeMutablePointer<UInt32>?
) -> lamina_status {
  guarded {
    let f = "lamina_mesh_closest_point"
    let m = try meshHandle(mesh, in: f)
    try requireTriangles(m, in: f)
    guard let p = try queryPoints(points, n, in: f) else { return }
    let out = try require(closest, "closest", in: f)
    m.bvh.closestPoints(p, count: n, into: out, triangles: triangles)
  }
}

@_cdecl("lamina_mesh_sample_surface")
public func laminaMeshSampleSurface(
  _ mesh: OpaquePointer?, _ n: Int, _ seed: UInt64, _ points: UnsafeMutablePointer<Float>?,
  _ normals: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_mesh_sample_surface"
    let m = try meshHandle(mesh, in: f)
    let n = try pointCount(n, in: f)
    guard n > 0 else { return }
    let out = try require(points, "points", in: f)
    var rng = RandomSource(seed: seed)
    let (p, t) = try named(f) { try m.mesh.sampleSurface(count: n, rng: &rng) }
    p.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: 3 * n) }
    if let normals {
      for i in 0..<n {
        let normal = m.mesh.triangleNormal(t[i])
        normals[3 * i] = normal.x
        normals[3 * i + 1] = normal.y
        normals[3 * i + 2] = normal.z
      }
    }
  }
}

@_cdecl("lamina_mesh_sample_points")
public func laminaMeshSamplePoints(
  _ mesh: OpaquePointer?, _ optionsJSON: UnsafePointer<CChar>?, _ n: Int,
  _ points: UnsafeMutablePointer<Float>?, _ sdf: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_mesh_sample_points"
    let m = try meshHandle(mesh, in: f)
    var options = SDFSampleOptions()
    if let optionsJSON {
      let text = try string(optionsJSON, "options_json", in: f)
      options = try named(f) {
        try SDFSampleOptions(json: JSONValue.parse(text, what: "options_json"))
      }
    }
    try requireTriangles(m, in: f)
    let n = try pointCount(n, in: f)
    guard n > 0 else { return }
    let p = try require(points, "points", in: f)
    let s = try require(sdf, "sdf", in: f)
    try named(f) {
      try SDFSampling.sample(m.mesh, bvh: m.bvh, count: n, options: options, points: p, sdf: s)
    }
  }
}

@_cdecl("lamina_point_cloud_distance")
public func laminaPointCloudDistance(
  _ points: UnsafePointer<Float>?, _ nPoints: Int, _ queries: UnsafePointer<Float>?,
  _ nQueries: Int, _ distances: UnsafeMutablePointer<Float>?,
  _ nearest: UnsafeMutablePointer<UInt32>?
) -> lamina_status {
  guarded {
    let f = "lamina_point_cloud_distance"
    _ = try cloudPointCount(nPoints, "n_points", in: f)
    let cloud = try require(points, "points", in: f)
    for i in 0..<(3 * nPoints) where !cloud[i].isFinite {
      throw LaminaError(.numeric, "\(f): point \(i / 3) has a non-finite coordinate")
    }
    guard nQueries >= 0, nQueries <= Limits.maxBatchElements / 3 else {
      throw LaminaError(
        .outOfMemory,
        "\(f): n_queries = \(UInt(bitPattern: nQueries)) is over the limit of \(Limits.maxBatchElements / 3) points"
      )
    }
    let n = nQueries
    guard n > 0 else { return }
    let q = try require(queries, "queries", in: f)
    for i in 0..<(3 * n) where !q[i].isFinite {
      throw LaminaError(.numeric, "\(f): query \(i / 3) has a non-finite coordinate")
    }
    let out = try require(distances, "distances", in: f)
    PointKDTree(cloud, count: nPoints).distances(q, count: n, into: out, nearest: nearest)
  }
}
