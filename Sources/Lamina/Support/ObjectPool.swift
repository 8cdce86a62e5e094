#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Objects lent one per caller, as `ScratchPool` lends memory: a mutex guards the idle
/// objects, a caller that finds none idle makes one (outside the lock), and objects come
/// back after use. So a read-only call that needs mutable helpers of its own (a gradient
/// workspace, a mixed KAN layer's shadow layers) may run on many threads at once, each with
/// its own, and once every simultaneous caller has had one, lending allocates nothing.
final class ObjectPool<Object>: @unchecked Sendable {
  /// Objects not lent out. Its storage keeps its capacity, so lending and taking back
  /// allocates nothing once the pool has warmed up.
  private var idle: [Object] = []
  /// Guards `idle`; heap-allocated because a pthread mutex must not move.
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>

  /// An empty pool; objects are made on first use.
  init() {
    mutex = .allocate(capacity: 1)
    mutex.initialize(to: pthread_mutex_t())
    pthread_mutex_init(mutex, nil)
    idle.reserveCapacity(8)
  }

  deinit {
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
  }

  /// Runs `body` with an object no other caller uses meanwhile (`make` builds one if none
  /// is idle).
  func with<R>(make: () -> Object, _ body: (Object) throws -> R) rethrows -> R {
    pthread_mutex_lock(mutex)
    let taken = idle.popLast()
    pthread_mutex_unlock(mutex)
    let object = taken ?? make()
    defer {
      pthread_mutex_lock(mutex)
      idle.append(object)
      pthread_mutex_unlock(mutex)
    }
    return try body(object)
  }
}
