import Foundation

/// The names in a directory, without "." and "..".
///
/// Why not `withUnsafeBytes(of: entry.pointee.d_name)`: that copies all 256 bytes of
/// `d_name`, but glibc packs directory entries by `d_reclen`, so the last entry of a
/// `readdir` buffer can end well before `sizeof(struct dirent)`; the copy then reads past
/// the heap block (AddressSanitizer: heap-buffer-overflow, found by `make test-asan`).
/// Reading the name through a pointer to its first byte stops at its NUL.
func directoryEntries(_ path: String) -> [String] {
  guard let d = opendir(path) else { return [] }
  defer { closedir(d) }
  let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 0
  var names: [String] = []
  while let entry = readdir(d) {
    let name = String(
      cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
    if name != "." && name != ".." { names.append(name) }
  }
  return names
}
