// Error translation and argument helpers for the C exports. No model logic lives here.
import CLaminaABI
import Lamina

#if canImport(Glibc)
  import Glibc
#endif

/// Thread-local slot holding the calling thread's last error message (a malloc'd C string,
/// freed when replaced or when the thread exits).
let lastErrorKey: pthread_key_t = {
  var key = pthread_key_t()
  pthread_key_create(&key) { free($0) }
  return key
}()

/// Records `message` as this thread's last error.
func setLastError(_ message: String) {
  let old = pthread_getspecific(lastErrorKey)
  pthread_setspecific(lastErrorKey, strdup(message))
  free(old)
}

/// The C status for an engine error code.
func status(_ code: LaminaError.Code) -> lamina_status {
  lamina_status(rawValue: UInt32(code.rawValue))
}

/// Runs `body`, translating thrown errors into a status and this thread's message.
@inline(__always)
func guarded(_ body: () throws -> Void) -> lamina_status {
  do {
    try body()
    return LAMINA_OK
  } catch let error as LaminaError {
    setLastError(error.message)
    return status(error.code)
  } catch {
    setLastError("internal error: \(error)")
    return LAMINA_E_INTERNAL
  }
}

/// Throws an invalid-argument error naming `name` when `pointer` is NULL.
@inline(__always)
func require<T>(_ pointer: T?, _ name: String, in function: String) throws -> T {
  guard let pointer else { throw LaminaError(.invalidArgument, "\(function): \(name) is NULL") }
  return pointer
}

/// A C `size_t` capacity as Swift imports it (`Int`): values past `Int.max` arrive
/// negative, and mean "more than enough".
func capacity(_ cap: Int) -> Int { cap < 0 ? Int.max : cap }

/// Checks that a history buffer (when given) holds `steps` rows of `row` floats; `shape`
/// names the row in the message ("(terms + 1)", say).
func checkHistoryCapacity(
  _ history: UnsafeMutablePointer<Float>?, _ cap: Int, steps: Int, row: Int, shape: String,
  in function: String
) throws {
  guard history != nil else { return }
  let (need, overflow) = steps.multipliedReportingOverflow(by: row)
  guard !overflow, capacity(cap) >= need else {
    throw LaminaError(
      .invalidArgument,
      "\(function): cap \(cap) is smaller than steps x \(shape) = \(steps) x \(row)")
  }
}

/// A C `size_t` sample count: values past `Int.max` (negative here) exceed every limit.
func sampleCount(_ n: Int, in function: String) throws -> Int {
  guard n >= 0 else {
    throw LaminaError(
      .outOfMemory, "\(function): n = \(UInt(bitPattern: n)) is beyond the batch limit")
  }
  return n
}

/// A point count for calls that read `3 * n` floats: at most `Limits.maxBatchElements / 3`.
func pointCount(_ n: Int, in function: String) throws -> Int {
  let n = try sampleCount(n, in: function)
  guard n <= Limits.maxBatchElements / 3 else {
    throw LaminaError(
      .outOfMemory,
      "\(function): n = \(n) is over the limit of \(Limits.maxBatchElements / 3) points")
  }
  return n
}

/// A C point-cloud size `n` (named `name` in messages): 1 to `Limits.maxPointCloudPoints`.
func cloudPointCount(_ n: Int, _ name: String, in function: String) throws -> Int {
  guard n >= 0, n <= Limits.maxPointCloudPoints else {
    throw LaminaError(
      .outOfMemory,
      "\(function): \(name) = \(UInt(bitPattern: n)) is over the limit of \(Limits.maxPointCloudPoints) points"
    )
  }
  guard n > 0 else {
    throw LaminaError(.invalidArgument, "\(function): the point cloud is empty (\(name) = 0)")
  }
  return n
}

/// Runs `body`, prefixing an engine error's message with the exported function's name.
func named<T>(_ function: String, _ body: () throws -> T) throws -> T {
  do {
    return try body()
  } catch let e as LaminaError {
    throw LaminaError(e.code, "\(function): \(e.message)")
  }
}

/// A UTF-8 C string as a Swift String, bounded by `limit` bytes.
func string(
  _ text: UnsafePointer<CChar>?, _ name: String, in function: String,
  limit: Int = Limits.maxJSONBytes
) throws -> String {
  let p = try require(text, name, in: function)
  let length = strnlen(p, limit + 1)
  guard length <= limit else {
    throw LaminaError(.invalidArgument, "\(function): \(name) is longer than \(limit) bytes")
  }
  guard let s = String(validatingCString: p) else {
    throw LaminaError(.invalidArgument, "\(function): \(name) is not valid UTF-8")
  }
  return s
}

/// A file path argument: not NULL, at most 4096 bytes, UTF-8. An empty path is refused by the
/// engine's file layer, where every read and write starts (so Swift callers get it too).
func filePath(_ path: UnsafePointer<CChar>?, in function: String) throws -> String {
  try string(path, "path", in: function, limit: 4096)
}

/// Two-call output of text: sets `*len` to the text's byte length and copies the text and a
/// NUL into `buf` when it fits in `cap` bytes.
func copyOut(
  _ text: String, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int,
  _ len: UnsafeMutablePointer<Int>?, in function: String
) throws {
  let length = try require(len, "len", in: function)
  let cap = capacity(cap)
  let utf8 = Array(text.utf8)
  length.pointee = utf8.count
  guard let buf else {
    guard cap == 0 else {
      throw LaminaError(.invalidArgument, "\(function): buf is NULL but cap is \(cap)")
    }
    return
  }
  guard cap >= utf8.count + 1 else {
    throw LaminaError(
      .invalidArgument, "\(function): buffer of \(cap) bytes is too small; \(utf8.count + 1) needed"
    )
  }
  utf8.withUnsafeBufferPointer { src in
    buf.withMemoryRebound(to: UInt8.self, capacity: cap) { dst in
      dst.update(from: src.baseAddress!, count: utf8.count)
      dst[utf8.count] = 0
    }
  }
}

/// A C string that lives for the life of the process (for static-storage returns).
func permanentCString(_ s: String) -> UnsafePointer<CChar> { UnsafePointer(strdup(s)!) }

/// Handle bookkeeping: models and trainers cross the ABI as retained Swift objects.
enum Handles {
  static func retain<T: AnyObject>(_ object: T) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(object).toOpaque())
  }
  static func release<T: AnyObject>(_ handle: OpaquePointer?, as type: T.Type) {
    guard let handle else { return }
    Unmanaged<T>.fromOpaque(UnsafeRawPointer(handle)).release()
  }
  static func object<T: AnyObject>(
    _ handle: OpaquePointer?, as type: T.Type, _ name: String, in function: String
  ) throws -> T {
    let h = try require(handle, name, in: function)
    return Unmanaged<T>.fromOpaque(UnsafeRawPointer(h)).takeUnretainedValue()
  }
}
