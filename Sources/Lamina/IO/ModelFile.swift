#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Saving and loading models as safetensors files, with the full spec in the metadata.
extension Model {
  /// Format version written under "format_version"; loaders refuse newer major versions.
  static let fileFormatVersion = "1"

  /// The file bytes for this model.
  public func encoded() -> [UInt8] {
    let tensorsOut = tensors.map {
      SafeTensors.Tensor(name: $0.name, shape: $0.parameter.shape, values: $0.parameter.value)
    }
    return SafeTensors.encode(
      tensorsOut,
      metadata: [
        ("format", "lamina"), ("format_version", Model.fileFormatVersion),
        ("lamina_version", Lamina.version), ("spec", spec.text),
      ])
  }

  /// Rebuilds a model from file bytes, checking the spec, every tensor's presence, shape
  /// and finiteness before returning.
  public static func decode(_ bytes: [UInt8]) throws -> Model {
    let (tensors, metadata) = try SafeTensors.decode(bytes)
    guard let specText = metadata["spec"] else {
      throw LaminaError.format("file has no Lamina model spec in its safetensors metadata")
    }
    if let v = metadata["format_version"], v != fileFormatVersion {
      throw LaminaError.format(
        "file format version \(v) is not supported (this library reads \(fileFormatVersion))")
    }
    let spec: JSONValue
    let model: Model
    do {
      spec = try JSONValue.parse(specText, what: "stored model spec")
      model = try Model(spec: spec)
    } catch let e as LaminaError {
      throw LaminaError.format("the stored model spec is invalid: \(e.message)")
    }
    guard tensors.count == model.tensors.count else {
      throw LaminaError.format(
        "file holds \(tensors.count) tensors; its spec needs \(model.tensors.count)")
    }
    var byName: [String: SafeTensors.Tensor] = [:]
    for t in tensors { byName[t.name] = t }
    for (name, p) in model.tensors {
      guard let t = byName[name] else { throw LaminaError.format("file lacks tensor \"\(name)\"") }
      guard t.shape == p.shape else {
        throw LaminaError.format(
          "tensor \"\(name)\" has shape \(t.shape); the spec needs \(p.shape)")
      }
      if let bad = t.values.firstIndex(where: { !$0.isFinite }) {
        throw LaminaError.format("tensor \"\(name)\" holds a non-finite value at element \(bad)")
      }
      p.value = t.values
    }
    return model
  }

  /// Writes the model to `path` atomically: a temporary file beside it is written, synced
  /// and renamed over `path`, so a failure never leaves a damaged file behind.
  public func save(to path: String) throws {
    try FileIO.checkPath(path)  // before encoding the whole model for nothing
    try FileIO.writeAtomically(encoded(), to: path)
  }

  /// Loads a model written by `save(to:)`.
  public static func load(from path: String) throws -> Model {
    try decode(FileIO.readFile(path, limit: maxFileBytes))
  }

  /// The largest model file (or buffer) there can be: the largest header, its length word
  /// and the most parameters as 32-bit floats. Anything longer is refused unread.
  static let maxFileBytes = Limits.maxHeaderBytes + 8 + 4 * Limits.maxParameters

  /// Loads a model from the bytes `save(to:)` writes (`encoded()`), held in memory: the
  /// same size limit and the same checked decoder as `load(from:)`, so a buffer and a file
  /// with the same bytes load the same model or fail with the same message.
  public static func load(fromBytes bytes: UnsafeRawBufferPointer) throws -> Model {
    guard bytes.count <= maxFileBytes else {
      throw LaminaError.format("buffer is \(bytes.count) bytes, larger than any valid model")
    }
    return try decode([UInt8](bytes))
  }
}

/// POSIX file helpers with errors a caller can act on.
enum FileIO {
  static func errorText() -> String { String(cString: strerror(errno)) }

  /// Refuses a path that names no file (.invalidArgument): the empty string. Without this
  /// an empty path got as far as the file system, where a save wrote ".tmp-XXXXXX" in the
  /// working directory and failed to rename it to "" (an I/O error). The one check for every
  /// call that reads or writes a file: `readFile` and `writeAtomically` start with it, and
  /// `MeshFile.format(ofPath:)` too (so "" is not reported as an unknown extension).
  static func checkPath(_ path: String) throws {
    guard !path.isEmpty else {
      throw LaminaError.invalid("path is empty; it must name a file")
    }
  }

  /// The whole file, refusing files larger than `limit` (`what` names the kind of file the
  /// caller expects, for that message).
  static func readFile(_ path: String, limit: Int, what: String = "model") throws -> [UInt8] {
    try checkPath(path)
    // O_NONBLOCK so that opening a FIFO or device cannot hang; cleared once the file is
    // known to be regular.
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else { throw LaminaError(.io, "cannot open \"\(path)\": \(errorText())") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else {
      throw LaminaError(.io, "cannot stat \"\(path)\": \(errorText())")
    }
    guard (st.st_mode & S_IFMT) == S_IFREG else {
      throw LaminaError(.io, "\"\(path)\" is not a regular file")
    }
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
    let size = Int(st.st_size)
    guard size <= limit else {
      throw LaminaError.format("\"\(path)\" is \(size) bytes, larger than any valid \(what)")
    }
    var bytes = [UInt8](repeating: 0, count: size)
    var got = 0
    while got < size {
      let r = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, size - got) }
      if r < 0 && errno == EINTR { continue }
      guard r > 0 else {
        throw LaminaError(.io, "cannot read \"\(path)\": \(r == 0 ? "file shrank" : errorText())")
      }
      got += r
    }
    return bytes
  }

  /// Writes `bytes` to a temporary file in the same directory, syncs it, and renames it
  /// over `path`; on any failure the temporary file is removed and `path` is untouched.
  /// Shared by every file the library writes (models, meshes).
  static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    try checkPath(path)
    // mkstemp picks a name no other thread or process is using.
    var template = Array("\(path).tmp-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    let temp = String(cString: template)
    guard fd >= 0 else {
      throw LaminaError(.io, "cannot create a file beside \"\(path)\": \(errorText())")
    }
    // mkstemp creates 0600; give the model the usual 0644 (reading the umask would mean
    // changing it, which is process-wide and racy).
    fchmod(fd, 0o644)
    var ok = false
    defer {
      if !ok { unlink(temp) }
    }
    var written = 0
    while written < bytes.count {
      let r = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
      if r < 0 && errno == EINTR { continue }
      guard r > 0 else {
        let msg = errorText()
        close(fd)
        throw LaminaError(.io, "cannot write \"\(temp)\": \(msg)")
      }
      written += r
    }
    guard fsync(fd) == 0 else {
      let msg = errorText()
      close(fd)
      throw LaminaError(.io, "cannot sync \"\(temp)\": \(msg)")
    }
    guard close(fd) == 0 else { throw LaminaError(.io, "cannot close \"\(temp)\": \(errorText())") }
    guard rename(temp, path) == 0 else {
      throw LaminaError(.io, "cannot rename \"\(temp)\" to \"\(path)\": \(errorText())")
    }
    ok = true
  }
}
