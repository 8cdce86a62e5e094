// Exports: triangle mesh handles (create, free, read back).
import CLaminaABI
import Lamina

#if canImport(Glibc)
  import Glibc
#endif

/// What a `lamina_mesh` handle points at: an immutable mesh. Later calls may cache derived
/// structures (a BVH, say) here; they must be safe to build from many threads at once.
final class MeshHandle {
  let mesh: TriangleMesh
  init(_ mesh: TriangleMesh) {
    self.mesh = mesh
    lock.initialize(to: pthread_mutex_t())
    pthread_mutex_init(lock, nil)
  }

  deinit {
    pthread_mutex_destroy(lock)
    lock.deallocate()
  }

  /// Guards `cachedBVH` (a pthread mutex at a stable address, so no Foundation is needed).
  /// Not `Synchronization.Mutex`: on Linux that is a bare futex, which ThreadSanitizer
  /// does not see, so `make test-tsan` reported the lock's own accesses as races (the same
  /// holds for `ScratchPool` and `ShadowPool`).
  private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private var cachedBVH: TriangleBVH?

  /// The mesh's bounding volume hierarchy, built on first use (once, whichever thread asks
  /// first; others wait for it) and kept for the handle's life.
  var bvh: TriangleBVH {
    pthread_mutex_lock(lock)
    defer { pthread_mutex_unlock(lock) }
    if let cachedBVH { return cachedBVH }
    let built = TriangleBVH(mesh)
    cachedBVH = built
    return built
  }
}

@_cdecl("lamina_mesh_create")
public func laminaMeshCreate(
  _ vertices: UnsafePointer<Float>?, _ vertexCount: Int, _ faces: UnsafePointer<UInt32>?,
  _ faceCount: Int, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> lamina_status {
  guarded {
    let f = "lamina_mesh_create"
    let out = try require(out, "out", in: f)
    out.pointee = nil
    guard vertexCount >= 0, vertexCount <= Limits.maxMeshVertices else {
      throw LaminaError(
        .invalidArgument, "\(f): vertex count is over the limit of \(Limits.maxMeshVertices)")
    }
    guard faceCount >= 0, faceCount <= Limits.maxMeshFaces else {
      throw LaminaError(
        .invalidArgument, "\(f): face count is over the limit of \(Limits.maxMeshFaces)")
    }
    let v =
      vertexCount > 0
      ? Array(
        UnsafeBufferPointer(start: try require(vertices, "vertices", in: f), count: 3 * vertexCount)
      ) : []
    let t =
      faceCount > 0
      ? Array(UnsafeBufferPointer(start: try require(faces, "faces", in: f), count: 3 * faceCount))
      : []
    try named(f) {
      out.pointee = Handles.retain(MeshHandle(try TriangleMesh(vertices: v, faces: t)))
    }
  }
}

@_cdecl("lamina_mesh_free")
public func laminaMeshFree(_ mesh: OpaquePointer?) {
  Handles.release(mesh, as: MeshHandle.self)
}

@_cdecl("lamina_mesh_vertex_count")
public func laminaMeshVertexCount(_ mesh: OpaquePointer?) -> Int {
  guard let mesh else { return 0 }
  return Unmanaged<MeshHandle>.fromOpaque(UnsafeRawPointer(mesh)).takeUnretainedValue().mesh
    .vertexCount
}

@_cdecl("lamina_mesh_face_count")
public func laminaMeshFaceCount(_ mesh: OpaquePointer?) -> Int {
  guard let mesh else { return 0 }
  return Unmanaged<MeshHandle>.fromOpaque(UnsafeRawPointer(mesh)).takeUnretainedValue().mesh
    .faceCount
}

/// Two-call copy of `values` into `buf` (capacity `cap` elements); `*len` gets the count.
func copyOut<T>(
  _ values: [T], _ buf: UnsafeMutablePointer<T>?, _ cap: Int, _ len: UnsafeMutablePointer<Int>?,
  in function: String
) throws {
  let length = try require(len, "len", in: function)
  length.pointee = values.count
  guard let buf else {
    guard capacity(cap) == 0 else {
      throw LaminaError(.invalidArgument, "\(function): buf is NULL but cap is \(cap)")
    }
    return
  }
  guard capacity(cap) >= values.count else {
    throw LaminaError(
      .invalidArgument,
      "\(function): buffer of \(cap) elements is too small; \(values.count) needed")
  }
  values.withUnsafeBufferPointer { buf.update(from: $0.baseAddress!, count: values.count) }
}

@_cdecl("lamina_mesh_vertices")
public func laminaMeshVertices(
  _ mesh: OpaquePointer?, _ buf: UnsafeMutablePointer<Float>?, _ cap: Int,
  _ len: UnsafeMutablePointer<Int>?
) -> lamina_status {
  guarded {
    let f = "lamina_mesh_vertices"
    let m = try Handles.object(mesh, as: MeshHandle.self, "mesh", in: f)
    try copyOut(m.mesh.vertices, buf, cap, len, in: f)
  }
}

@_cdecl("lamina_mesh_faces")
public func laminaMeshFaces(
  _ mesh: OpaquePointer?, _ buf: UnsafeMutablePointer<UInt32>?, _ cap: Int,
  _ len: UnsafeMutablePointer<Int>?
) -> lamina_status {
  guarded {
    let f = "lamina_mesh_faces"
    let m = try Handles.object(mesh, as: MeshHandle.self, "mesh", in: f)
    try copyOut(m.mesh.faces, buf, cap, len, in: f)
  }
}

@_cdecl("lamina_mesh_normals")
public func laminaMeshNormals(
  _ mesh: OpaquePointer?, _ buf: UnsafeMutablePointer<Float>?, _ cap: Int,
  _ len: UnsafeMutablePointer<Int>?
) -> lamina_status {
  guarded {
    let f = "lamina_mesh_normals"
    let m = try Handles.object(mesh, as: MeshHandle.self, "mesh", in: f)
    try copyOut(m.mesh.normals, buf, cap, len, in: f)
  }
}
