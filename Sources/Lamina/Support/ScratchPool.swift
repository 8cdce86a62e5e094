#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reusable scratch memory for layers whose passes need more room than the model's
/// workspace gives them (basis matrices, effective weight tables, per-block work arrays).
///
/// A layer's `forward` may run on many threads at once, so a layer cannot own one buffer;
/// allocating per call would break the "no allocation per step in steady state" promise.
/// The pool lends each caller a buffer of its own under a mutex and takes it back
/// afterwards: one thread training reuses the same buffers every step, and concurrent
/// callers each hold a different one. Buffers are never freed while the pool lives and only
/// ever grow, so after warm-up (one buffer per simultaneous caller, each grown to the
/// largest request it met) nothing is allocated.
///
/// A caller is lent the smallest idle buffer that fits, so a layer asking for a large table
/// and for small per-task blocks does not grow every buffer to the table's size; when none
/// fits, the largest idle buffer is grown, and only when none is idle is a new one made.
///
/// A pool that worker-pool tasks borrow from (`init(perThread:)`) keeps its buffers in step
/// instead. Which thread runs which task, and so how many buffers are held at once, is a
/// matter of timing: the worker may sleep through the first steps and join in only at the
/// fortieth, which then found no idle buffer (or only a small one) and allocated. So such a
/// pool makes a buffer for every holder its tasks can have at once on the first request,
/// and grows all of them whenever a request is larger than any before; after the first
/// call at a given size, no timing can make it allocate.
final class ScratchPool: @unchecked Sendable {
  /// Alignment of every buffer and of every region `ScratchCursor` carves: a cache line,
  /// enough for any SIMD type and free of false sharing between regions.
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

  /// Buffers not lent out. Its storage keeps its capacity, so lending and taking back
  /// allocates nothing once the pool has warmed up.
  private var idle: [Buffer] = []
  /// Guards `idle`; heap-allocated because a pthread mutex must not move.
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  /// Buffers kept in step per thread that can run pool tasks (see the type's
  /// documentation), or 0 for the smallest-fit pool.
  private let perThread: Int
  /// Buffers the uniform pool has made: `perThread` for each of `WorkerPool.capacity`
  /// threads when it last looked, which grows when the thread count is raised.
  private var provisioned = 0
  /// The largest request so far (uniform pools only): every buffer has at least this many
  /// bytes once it is idle.
  private var largest = 0

  /// An empty pool; buffers are made on first use.
  init() {
    mutex = .allocate(capacity: 1)
    mutex.initialize(to: pthread_mutex_t())
    pthread_mutex_init(mutex, nil)
    perThread = 0
    idle.reserveCapacity(8)
  }

  /// An empty pool for scratch borrowed inside worker-pool tasks, each of whose threads
  /// holds at most `perThread` of its buffers at a time: it keeps `perThread` buffers per
  /// pool thread, all grown to the largest request (see the type's documentation). Pool
  /// threads are those `WorkerPool.capacity` counts when a request comes: raising the
  /// process's thread count adds buffers for the new threads on the next request.
  init(perThread: Int) {
    mutex = .allocate(capacity: 1)
    mutex.initialize(to: pthread_mutex_t())
    pthread_mutex_init(mutex, nil)
    self.perThread = max(1, perThread)
    idle.reserveCapacity(max(8, self.perThread * WorkerPool.maxThreads))
  }

  deinit {
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
  }

  /// The sizes of the buffers not lent out, in the order they would be searched (for tests).
  var idleByteCounts: [Int] {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return idle.map(\.byteCount)
  }

  /// `count` values of `T` in bytes, rounded up to whole cache lines (at least one), so
  /// that regions laid out one after another all stay aligned (see `ScratchCursor`).
  static func bytes<T>(_ type: T.Type, _ count: Int) -> Int {
    let raw = max(count, 1) * MemoryLayout<T>.stride
    return (raw + alignment - 1) & ~(alignment - 1)
  }

  /// Runs `body` with `byteCount` bytes (64-byte aligned, uninitialised) that no other
  /// caller uses until `body` returns.
  func withBytes<R>(_ byteCount: Int, _ body: (UnsafeMutableRawPointer) throws -> R) rethrows -> R {
    let need = max(byteCount, 1)
    if perThread > 0 { return try withUniformBytes(need, body) }
    pthread_mutex_lock(mutex)
    var fit = -1
    var largest = -1
    for i in idle.indices {
      let size = idle[i].byteCount
      if size >= need && (fit < 0 || size < idle[fit].byteCount) { fit = i }
      if largest < 0 || size > idle[largest].byteCount { largest = i }
    }
    let pick = fit >= 0 ? fit : largest
    let taken = pick >= 0 ? idle.remove(at: pick) : nil
    pthread_mutex_unlock(mutex)
    // Allocation (first use, or growth) happens outside the lock.
    let lent = taken ?? Buffer(byteCount: need)
    lent.reserve(need)
    defer {
      pthread_mutex_lock(mutex)
      idle.append(lent)
      pthread_mutex_unlock(mutex)
    }
    return try body(lent.pointer)
  }

  /// `withBytes` for a uniform pool: on a request larger than any before, every idle buffer
  /// grows now and every lent one when it comes back (within the same call: a task returns
  /// its buffers before the job ends), and the first request makes all of them. Growth
  /// happens under the lock; it only ever happens in warm-up.
  private func withUniformBytes<R>(
    _ need: Int, _ body: (UnsafeMutableRawPointer) throws -> R
  ) rethrows -> R {
    pthread_mutex_lock(mutex)
    let wanted = perThread * WorkerPool.capacity
    if provisioned < wanted {
      for _ in provisioned..<wanted { idle.append(Buffer(byteCount: max(need, largest))) }
      provisioned = wanted
    }
    if need > largest {
      largest = need
      for buffer in idle { buffer.reserve(need) }
    }
    // More holders than planned (callers on several host threads) get buffers of their own.
    let lent = idle.popLast() ?? Buffer(byteCount: largest)
    pthread_mutex_unlock(mutex)
    defer {
      pthread_mutex_lock(mutex)
      lent.reserve(largest)
      idle.append(lent)
      pthread_mutex_unlock(mutex)
    }
    return try body(lent.pointer)
  }

  /// Runs `body` with `doubles` Doubles followed by `floats` Floats (uninitialised) that no
  /// other caller uses until `body` returns. Either count may be zero.
  func withBuffers<R>(
    doubles: Int, floats: Int,
    _ body: (UnsafeMutablePointer<Double>, UnsafeMutablePointer<Float>) throws -> R
  ) rethrows -> R {
    try withBytes(Self.bytes(Double.self, doubles) + Self.bytes(Float.self, floats)) { raw in
      var cursor = ScratchCursor(raw)
      let d = cursor.take(Double.self, doubles)
      let f = cursor.take(Float.self, floats)
      return try body(d, f)
    }
  }

  /// Runs `body` with `count` Floats (uninitialised) of its own.
  func withBuffer<R>(count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
    try withBytes(Self.bytes(Float.self, count)) { raw in
      try body(raw.bindMemory(to: Float.self, capacity: max(count, 1)))
    }
  }
}

/// Lays typed regions out one after another in a scratch buffer, each starting on a cache
/// line. Size the buffer as the sum of `ScratchPool.bytes(T.self, count)` over the same
/// regions, in any order.
struct ScratchCursor {
  /// The start of the next region.
  private var next: UnsafeMutableRawPointer

  /// A cursor at the start of `buffer` (which must be `ScratchPool.alignment`-aligned).
  init(_ buffer: UnsafeMutableRawPointer) { next = buffer }

  /// The next region, `count` values of `T` (uninitialised; at least one value's room).
  mutating func take<T>(_ type: T.Type, _ count: Int) -> UnsafeMutablePointer<T> {
    // Binding is per call: the same bytes may have held another type last time.
    let region = next.bindMemory(to: T.self, capacity: max(count, 1))
    next += ScratchPool.bytes(T.self, count)
    return region
  }
}
