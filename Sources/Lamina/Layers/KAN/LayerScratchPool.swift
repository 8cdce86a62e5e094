#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Float scratch buffers that a layer reuses across calls, so that steady-state forward and
/// backward passes allocate nothing, while `forward` stays safe to call from many threads.
///
/// A layer's forward pass must not change the layer (models predict from many threads at
/// once), so scratch cannot be a plain stored buffer. Each call instead borrows a buffer from
/// this pool under a mutex and returns it afterwards; concurrent calls simply hold different
/// buffers. The pool keeps what it has handed out, so after warm-up (one buffer per thread
/// that ever ran concurrently, each as large as the largest request) nothing is allocated.
final class LayerScratchPool: @unchecked Sendable {
  /// Buffers not lent out: pointer and capacity in floats.
  private var idle: [(pointer: UnsafeMutablePointer<Float>, capacity: Int)] = []
  /// Guards `idle`; heap-allocated because a pthread mutex must not move.
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>

  /// An empty pool.
  init() {
    mutex = .allocate(capacity: 1)
    pthread_mutex_init(mutex, nil)
    idle.reserveCapacity(4)
  }

  deinit {
    for buffer in idle { buffer.pointer.deallocate() }
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
  }

  /// Runs `body` with a buffer of at least `count` floats (contents unspecified), lent for
  /// the duration of the call only.
  func withBuffer<R>(count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
    let buffer = borrow(max(count, 1))
    defer { giveBack(buffer) }
    return try body(buffer.pointer)
  }

  private func borrow(_ count: Int) -> (pointer: UnsafeMutablePointer<Float>, capacity: Int) {
    pthread_mutex_lock(mutex)
    var found: (pointer: UnsafeMutablePointer<Float>, capacity: Int)? = nil
    if let i = idle.lastIndex(where: { $0.capacity >= count }) {
      found = idle.remove(at: i)
    } else if !idle.isEmpty {
      // Too small for this request: drop it rather than keep buffers nobody can use.
      idle.removeLast().pointer.deallocate()
    }
    pthread_mutex_unlock(mutex)
    return found ?? (.allocate(capacity: count), count)
  }

  private func giveBack(_ buffer: (pointer: UnsafeMutablePointer<Float>, capacity: Int)) {
    pthread_mutex_lock(mutex)
    idle.append(buffer)
    pthread_mutex_unlock(mutex)
  }
}
