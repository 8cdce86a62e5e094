// Detection of overlapping calls on one object (the C interface's READ-ONLY / EXCLUSIVE rule).
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A try-lock that never waits: it records whether an object is being read (any number of
/// callers at once) or changed (one caller, alone), so that a call breaking the C
/// interface's rule that EXCLUSIVE calls must not overlap any other call on the same model
/// is refused with an error instead of racing on the weights.
///
/// It costs one atomic add to enter and one to leave for a reader, one compare-and-swap and
/// one add for a writer, and it never blocks: a conflict is reported, never waited out
/// (waiting would turn a host's bug into a hang). A reader on the thread that holds the
/// object exclusively is let in, so a progress callback may predict or save the model being
/// trained (the weights are consistent between steps); a second exclusive use from that
/// thread (a callback changing the model under its own trainer) is refused.
public final class UseGuard: @unchecked Sendable {
  /// Readers in the low bits, `writerBit` while a writer holds the object. A reader that
  /// finds the writer bit set backs its add out again, so the count is transiently off by
  /// the readers being refused; that only makes a concurrent writer's try fail, which is
  /// right, as the calls did overlap.
  private let state = Atomic<Int>(0)
  /// `pthread_self()` of the writer while there is one, else 0 (compared only by the
  /// thread that may have stored it, so a stale value never matches another thread).
  private let owner = Atomic<UInt>(0)
  private static let writerBit = 1 << 48

  /// A guard with no user.
  public init() {}

  @inline(__always) private static var currentThread: UInt { UInt(pthread_self()) }

  /// Starts a reading use; false when a writer on another thread holds the object. A true
  /// result must be paired with `endShared()`.
  @inline(__always) public func beginShared() -> Bool {
    let old = state.wrappingAdd(1, ordering: .acquiring).oldValue
    if old & Self.writerBit == 0 { return true }
    if owner.load(ordering: .relaxed) == Self.currentThread { return true }
    state.wrappingSubtract(1, ordering: .releasing)
    return false
  }

  /// Ends a use started by a successful `beginShared()`.
  @inline(__always) public func endShared() {
    state.wrappingSubtract(1, ordering: .releasing)
  }

  /// Starts a changing use; false when any other use is under way. A true result must be
  /// paired with `endExclusive()`.
  @inline(__always) public func beginExclusive() -> Bool {
    guard
      state.compareExchange(expected: 0, desired: Self.writerBit, ordering: .acquiring).exchanged
    else { return false }
    owner.store(Self.currentThread, ordering: .relaxed)
    return true
  }

  /// Ends a use started by a successful `beginExclusive()`.
  @inline(__always) public func endExclusive() {
    owner.store(0, ordering: .relaxed)
    state.wrappingSubtract(Self.writerBit, ordering: .releasing)
  }

  /// Whether the calling thread holds the object exclusively (for the refusal's message).
  public var isHeldByCurrentThread: Bool {
    state.load(ordering: .relaxed) & Self.writerBit != 0
      && owner.load(ordering: .relaxed) == Self.currentThread
  }
}
