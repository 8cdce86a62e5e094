// Exports: versions, error reporting and the thread count.
import CLaminaABI
import Lamina

#if canImport(Glibc)
  import Glibc
#endif

private let versionText = permanentCString(Lamina.version)
private let emptyText = permanentCString("")
private let statusNames: [UnsafePointer<CChar>] = [
  "LAMINA_OK", "LAMINA_E_INVALID_ARGUMENT", "LAMINA_E_SHAPE", "LAMINA_E_IO", "LAMINA_E_FORMAT",
  "LAMINA_E_NUMERIC", "LAMINA_E_OUT_OF_MEMORY", "LAMINA_E_UNSUPPORTED", "LAMINA_E_CANCELLED",
  "LAMINA_E_INTERNAL",
].map(permanentCString)
private let unknownStatus = permanentCString("LAMINA_E_UNKNOWN")

@_cdecl("lamina_version")
public func laminaVersion() -> UnsafePointer<CChar> { versionText }

@_cdecl("lamina_status_string")
public func laminaStatusString(_ code: lamina_status) -> UnsafePointer<CChar> {
  let i = Int(code.rawValue)
  return i < statusNames.count ? statusNames[i] : unknownStatus
}

@_cdecl("lamina_last_error")
public func laminaLastError() -> UnsafePointer<CChar> {
  guard let p = pthread_getspecific(lastErrorKey) else { return emptyText }
  return UnsafePointer(p.assumingMemoryBound(to: CChar.self))
}

@_cdecl("lamina_set_num_threads")
public func laminaSetNumThreads(_ n: Int) -> lamina_status {
  guarded {
    // size_t past Int.max arrives negative: "more than the most", clamped like any n > 8.
    Lamina.setThreads(n < 0 ? Lamina.maxThreads : n)
  }
}

@_cdecl("lamina_num_threads")
public func laminaNumThreads() -> Int { Lamina.threads }
