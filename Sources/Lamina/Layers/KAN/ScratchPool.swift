#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reusable scratch memory for layers whose passes need more room than the model's
/// workspace gives them (basis matrices, transposed weights, per-row work arrays).
///
/// A layer's `forward` may run on many threads at once, so a layer cannot own one buffer;
/// allocating per call would break the "no allocation per step in steady state" promise.
/// The pool hands each caller its own buffer and takes it back afterwards: one thread
/// training reuses the same buffer every step, and concurrent predictions each get one
/// (the pool grows to the largest number of simultaneous callers, then stops allocating).
final class ScratchPool: @unchecked Sendable {
  /// Alignment of every buffer: a cache line, enough for any SIMD type.
  static let alignment = 64

  /// One owned allocation and its size in bytes.
  private final class Buffer {
    var pointer: UnsafeMutableRawPointer
    var byteCount: Int

    init(byteCount: Int) {
      self.byteCount = byteCount
      pointer = .allocate(byteCount: byteCount, alignment: ScratchPool.alignment)
    }

    /// Grows (dropping the contents) when `count` bytes do not fit.
    func reserve(_ count: Int) {
      guard count > byteCount else { return }
      pointer.deallocate()
      pointer = .allocate(byteCount: count, alignment: ScratchPool.alignment)
      byteCount = count
    }

    deinit { pointer.deallocate() }
  }

  /// Buffers not lent out. Its storage keeps its capacity, so taking and returning a buffer
  /// allocates nothing once the pool has warmed up.
  private var idle: [Buffer] = []
  /// Guards `idle`; heap-allocated because a pthread mutex must not move.
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>

  init() {
    mutex = .allocate(capacity: 1)
    mutex.initialize(to: pthread_mutex_t())
    pthread_mutex_init(mutex, nil)
  }

  deinit {
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
  }

  /// Runs `body` with `doubles` Doubles followed by `floats` Floats (uninitialised) that no
  /// other caller uses until `body` returns. Either count may be zero.
  func withBuffers<R>(
    doubles: Int, floats: Int,
    _ body: (UnsafeMutablePointer<Double>, UnsafeMutablePointer<Float>) throws -> R
  ) rethrows -> R {
    let doubleBytes = doubles * MemoryLayout<Double>.stride
    let byteCount = max(doubleBytes + floats * MemoryLayout<Float>.stride, 1)
    pthread_mutex_lock(mutex)
    let buffer = idle.popLast()
    pthread_mutex_unlock(mutex)
    let lent = buffer ?? Buffer(byteCount: byteCount)
    lent.reserve(byteCount)
    defer {
      pthread_mutex_lock(mutex)
      idle.append(lent)
      pthread_mutex_unlock(mutex)
    }
    // Binding is per call: the same bytes may have held the other type last time.
    let d = lent.pointer.bindMemory(to: Double.self, capacity: doubles)
    let f = (lent.pointer + doubleBytes).bindMemory(to: Float.self, capacity: floats)
    return try body(d, f)
  }

  /// Runs `body` with `count` Floats (uninitialised) of its own.
  func withBuffer<R>(count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
    try withBuffers(doubles: 0, floats: count) { _, f in try body(f) }
  }
}
