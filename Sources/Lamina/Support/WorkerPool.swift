// A persistent fork-join pool that hands tasks to other threads without allocating.
import CBLAS
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A set of worker threads, one fewer than the thread count (by default the cores this
/// process may use, capped; see "Thread count" below), started on first use and never
/// stopped, that run the tasks of `run(_:_:)` together with the calling thread.
///
/// Why not Dispatch: `DispatchQueue.concurrentPerform` copies its block onto the heap on
/// every call, which the steady-state allocation rule forbids in a warm training step, and
/// its hand-off costs more than a 256 x 64 x 64 product saves. Here a call stores a pointer
/// to the caller's job (a `PoolJob` on its stack, behind `PoolJobContext`) and one C
/// function pointer, bumps a counter the workers watch, and every thread claims task
/// indices with a compare-and-swap until none are left; nothing is allocated. (A Swift closure cannot cross threads without
/// `withoutActuallyEscaping`, which allocates; the closure entry point serves cold paths.)
///
/// Rules: one caller owns the pool at a time. A call that finds it owned (a second user
/// thread, or a task calling `run` again from inside the pool) runs its tasks one after
/// another on its own thread, so nesting never deadlocks and results are the same. Tasks are
/// claimed dynamically: a worker that is not running costs nothing unless it was preempted
/// holding a task, which the caller must wait out; then, or when spinning workers keep
/// missing calls, the pool backs off to the caller alone for a while (`noteWait`).
///
/// Idle workers spin for `spinNanoseconds` (so the next product of the same training step
/// finds them awake), then sleep on a condition variable, so an idle process costs no CPU.
///
/// Thread count: a pool runs tasks on at most `limit` threads, the caller included, and the
/// limit can change at any time (`resize(to:)`, `setThreads(_:)` for the process's pool):
/// workers numbered at or beyond it stop claiming tasks and park on their own condition
/// variable, so many processes on one machine can each keep to a few cores; a limit above
/// the workers running starts more (never beyond `maxThreads`; workers are never stopped,
/// only parked). With a limit of 1 the caller runs every task and wakes no worker. Which
/// thread runs a task never changes what it computes, so results do not depend on it.
final class WorkerPool: @unchecked Sendable {
  /// The process's pool, created on first use with `threads` threads.
  static let shared = WorkerPool(threads: WorkerPool.threads, isProcessPool: true)

  /// Threads (caller included) the process's pool is set to run tasks on: the count given
  /// to `setThreads(_:)`, or when none (0) the default, `defaultSetting`. Known without
  /// starting the pool.
  static var threads: Int {
    let requested = WorkerPool.requested.load(ordering: .relaxed)
    return requested > 0 ? requested : WorkerPool.defaultSetting
  }

  /// The thread count asked for through `setThreads(_:)` (1 ... `maxThreads`), or 0 for
  /// the default.
  private static let requested = Atomic<Int>(0)

  /// The default thread count, fixed the first time it is needed: `LAMINA_NUM_THREADS` when
  /// it is a positive integer (clamped to `maxThreads`), else `defaultThreads()`. Read once
  /// so that the count cannot change under a running process because its environment did.
  static let defaultSetting: Int = {
    if let value = getenv("LAMINA_NUM_THREADS"),
      let count = WorkerPool.parseThreadCount(String(cString: value))
    {
      return count
    }
    return max(1, min(WorkerPool.defaultThreads(), WorkerPool.maxThreads))
  }()

  /// A thread count from `LAMINA_NUM_THREADS`'s text: a positive decimal integer (spaces
  /// around it allowed), clamped to `maxThreads`; nil for anything else (empty, 0,
  /// negative, junk), which leaves the default in force. Digits too many for an `Int` are
  /// still a positive integer, so they give `maxThreads`.
  static func parseThreadCount(_ text: String) -> Int? {
    let digits = text.utf8.drop(while: { $0 == 32 }).reversed().drop(while: { $0 == 32 })
    guard !digits.isEmpty, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
    guard let value = Int(String(decoding: digits.reversed(), as: UTF8.self)) else {
      return maxThreads
    }
    return value > 0 ? min(value, maxThreads) : nil
  }

  /// Sets the process's thread count, caller included: `count` clamped to 1 ...
  /// `maxThreads`, or 0 for the default (`defaultSetting`). Takes effect for calls that
  /// start after it returns, at any time: the pool is started (or grown) to the new count
  /// now, and workers beyond a lower count park until it is raised again.
  static func setThreads(_ count: Int) {
    requested.store(count <= 0 ? 0 : min(count, maxThreads), ordering: .relaxed)
    shared.resize(to: nil)
  }

  /// Threads of the process's pool that can be running tasks at once, the caller
  /// included: the most it has ever been set to (workers are started on demand and only
  /// parked afterwards). Scratch pools whose buffers pool tasks borrow keep this many per
  /// holder, so none of those threads ever finds its buffer missing.
  static var capacity: Int {
    max(threads, processWorkers.load(ordering: .relaxed) + 1)
  }

  /// Workers the process's pool has started, or -1 before it exists.
  private static let processWorkers = Atomic<Int>(-1)

  /// Threads (caller included) a call on the process's pool runs on: its setting, unless
  /// the system refused threads (then those the pool has).
  static var activeThreads: Int {
    let started = processWorkers.load(ordering: .relaxed)
    return started < 0 ? threads : min(threads, started + 1)
  }

  /// Most threads (caller included) a pool uses: the fixed task plans split products into
  /// at most `RowPlan.maxBlocks` blocks, so more threads would mostly idle.
  static let maxThreads = 8

  /// How long an idle worker polls for new work before it sleeps. A training step's
  /// products are separated by a few microseconds of single-threaded work (bias, loss,
  /// small layers) and steps by the host's loop overhead; a worker woken from sleep takes
  /// tens of microseconds to run on a busy machine, which is what a small product costs.
  static let spinNanoseconds = 50_000

  /// Index bits of `claim`: the low bits count claimed tasks, the high bits number jobs, so
  /// a worker that read an old job's state can never claim in a newer one.
  private static let indexBits: UInt64 = 24
  private static let indexMask: UInt64 = (1 << indexBits) - 1
  /// Job numbers wrap within the bits above the index.
  private static let jobMask: UInt64 = (1 << (64 - indexBits)) - 1
  /// Most tasks one call hands to the pool; larger counts run on the calling thread.
  static let maxTasks = Int(indexMask)

  /// Worker threads running (the caller is one more); some may be parked (see `limit`).
  var workers: Int { started.load(ordering: .relaxed) }
  /// Worker threads started; grows under `growMutex` only.
  private let started = Atomic<Int>(0)
  /// Most threads, the caller included, that may run a call's tasks: worker `i` (from 0)
  /// claims tasks only while `i + 1 < limit`.
  private let limit = Atomic<Int>(1)
  /// The next worker's number (each worker takes one as it starts).
  private let nextWorker = Atomic<Int>(0)
  /// Whether this is the process's pool (which reports its size in `processWorkers`).
  private let isProcessPool: Bool
  /// Serialises `resize(to:)`.
  private let growMutex: UnsafeMutablePointer<pthread_mutex_t>
  /// Where workers beyond `limit` wait (under `mutex`) for it to be raised.
  private let parked: UnsafeMutablePointer<pthread_cond_t>
  /// Whether a caller owns the pool.
  private let busy = Atomic<Bool>(false)
  /// Job number << indexBits | next task index to claim.
  private let claim = Atomic<UInt64>(0)
  /// The current job's number << indexBits | task count, context and task function.
  /// Written by the owner before it publishes the job through `claim` and `signal`; a
  /// worker reads them after loading `claim`. The count carries its job number because a
  /// worker holding the last job's final `claim` word may already see the next job's count
  /// (the owner's `claim` store still in flight): a bare count would let it claim index
  /// `count(old)` of the old word, run a task twice or against a dead job, and break the
  /// `pending` tally. With the number, it sees the mismatch and reloads `claim`.
  private let jobCount = Atomic<UInt64>(0)
  private let contextAddress = Atomic<UInt>(0)
  private let taskAddress = Atomic<UInt>(0)
  /// The owner's floating-point control bits (rounding, flush-to-zero; see
  /// `lamina_float_control`), which a worker takes on before it runs a task: a thread
  /// inherits them from the thread that created it, not from later callers, so without this
  /// a host that turns on flush-to-zero would get different results on several cores than
  /// on one.
  private let floatControl = Atomic<UInt>(0)
  /// Claimed tasks not yet finished; the owner returns when it reaches 0.
  private let pending = Atomic<Int>(0)
  /// Bumped for every job; idle workers watch it.
  private let signal = Atomic<UInt32>(0)
  /// Workers sleeping (or about to) on `condition`; the owner broadcasts only when > 0.
  private let sleepers = Atomic<Int>(0)
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  private let condition: UnsafeMutablePointer<pthread_cond_t>

  /// A pool of `threads - 1` workers (none for 1 thread). Threads are started here.
  init(threads: Int, isProcessPool: Bool = false) {
    mutex = .allocate(capacity: 1)
    condition = .allocate(capacity: 1)
    parked = .allocate(capacity: 1)
    growMutex = .allocate(capacity: 1)
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(condition, nil)
    pthread_cond_init(parked, nil)
    pthread_mutex_init(growMutex, nil)
    self.isProcessPool = isProcessPool
    _ = WorkerPool.forkedChild.load(ordering: .relaxed)
    _ = WorkerPool.registerForkHandler
    resize(to: threads)
  }

  /// Sets the threads (caller included, clamped to 1 ... `maxThreads`) that run this pool's
  /// tasks, starting workers when there are fewer than that; nil reads `WorkerPool.threads`
  /// (under the lock, so that of two racing `setThreads` calls the last one's count stays).
  /// Workers beyond the new count finish the task they hold and park; a call in progress
  /// keeps its tasks, which the remaining threads claim.
  func resize(to threads: Int?) {
    pthread_mutex_lock(growMutex)
    defer { pthread_mutex_unlock(growMutex) }
    let count = max(1, min(threads ?? WorkerPool.threads, WorkerPool.maxThreads))
    // A thread the system refuses only costs parallelism: the caller claims its tasks.
    while started.load(ordering: .relaxed) < count - 1 {
      guard WorkerPool.startThread(Unmanaged.passRetained(self).toOpaque()) else { break }
      started.wrappingAdd(1, ordering: .relaxed)
    }
    if isProcessPool {
      WorkerPool.processWorkers.store(started.load(ordering: .relaxed), ordering: .relaxed)
    }
    limit.store(count, ordering: .sequentiallyConsistent)
    // Under the mutex, so that a worker that has just checked the limit is waiting already.
    pthread_mutex_lock(mutex)
    pthread_cond_broadcast(parked)
    pthread_cond_broadcast(condition)
    pthread_mutex_unlock(mutex)
  }

  /// Whether worker `worker` may claim tasks (-1, the caller, always may).
  @inline(__always)
  private func admits(_ worker: Int) -> Bool {
    worker + 1 < limit.load(ordering: .relaxed)
  }

  /// Cores this process may run on (its affinity mask, so `taskset -c 0` gives one
  /// thread, not a worker spinning on the caller's core), at most `maxThreads`.
  static func defaultThreads() -> Int {
    #if os(Linux)
      // 1024 CPUs, as glibc's cpu_set_t.
      var mask = (
        UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
        UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
        UInt64(0)
      )
      let size = MemoryLayout.size(ofValue: mask)
      if lamina_sched_getaffinity(0, UInt(size), &mask) == 0 {
        let cores = withUnsafeBytes(of: &mask) { $0.reduce(0) { $0 + $1.nonzeroBitCount } }
        if cores > 0 { return min(cores, maxThreads) }
      }
    #endif
    return min(max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))), maxThreads)
  }

  /// Runs `task(context, 0 ..< count)`, each index exactly once, on the workers and the
  /// calling thread, and returns when all have finished; serially on the calling thread
  /// when the pool is owned by another call (nested or concurrent), has no workers, is
  /// backing off (see `noteWait`), or `count` < 2. Allocates nothing: `context` (the
  /// caller's job, on its stack) and `task` are plain pointers.
  func run(_ count: Int, context: UnsafeRawPointer, _ task: PoolTask) {
    guard count > 1, count <= WorkerPool.maxTasks, limit.load(ordering: .relaxed) > 1,
      started.load(ordering: .relaxed) > 0,
      !WorkerPool.forkedChild.load(ordering: .relaxed),
      busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    else {
      for index in 0..<count { task(context, index) }
      return
    }
    if backOffUntil != 0 {
      if WorkerPool.nanoseconds() < backOffUntil {
        busy.store(false, ordering: .releasing)
        for index in 0..<count { task(context, index) }
        return
      }
      backOffUntil = 0
    }
    // The next job number (40 bits, wrapping), index 0 in `claim`.
    let job = ((claim.load(ordering: .relaxed) >> WorkerPool.indexBits) &+ 1) & WorkerPool.jobMask
    jobCount.store(job << WorkerPool.indexBits | UInt64(count), ordering: .relaxed)
    contextAddress.store(UInt(bitPattern: context), ordering: .relaxed)
    taskAddress.store(unsafeBitCast(task, to: UInt.self), ordering: .relaxed)
    floatControl.store(lamina_float_control(), ordering: .relaxed)
    pending.store(count, ordering: .relaxed)
    // Releasing publishes the stores above to every thread that acquires this word (or a
    // later claim of the same job, which continues its release sequence).
    claim.store(job << WorkerPool.indexBits, ordering: .releasing)
    signal.wrappingAdd(1, ordering: .sequentiallyConsistent)
    let asleep = sleepers.load(ordering: .sequentiallyConsistent)
    if asleep > 0 {
      pthread_mutex_lock(mutex)
      pthread_cond_broadcast(condition)
      pthread_mutex_unlock(mutex)
    }
    let start = WorkerPool.nanoseconds()
    let ran = work(as: -1)
    noteHelp(missed: ran == count && asleep == 0)
    if pending.load(ordering: .acquiring) != 0 {
      // Tasks other threads claimed are still running.
      let ownEnd = WorkerPool.nanoseconds()
      var spins = 0
      while pending.load(ordering: .acquiring) != 0 {
        spins += 1
        if spins < 4096 { WorkerPool.pause() } else { sched_yield() }
      }
      noteWait(WorkerPool.nanoseconds() - ownEnd, ownWork: ownEnd - start)
    }
    busy.store(false, ordering: .releasing)
  }

  /// Runs `job.run(0 ..< count)` as `run(_:context:_:)` does, with `job` on the caller's
  /// stack; allocates nothing. Every job type goes through the one C function
  /// `PoolJobContext.task`, which finds the job's type in the context.
  @inline(__always)
  func run<Job: PoolJob>(_ count: Int, _ job: inout Job) {
    withUnsafePointer(to: &job) { pointer in
      var context = PoolJobContext(job: UnsafeRawPointer(pointer), type: Job.self)
      withUnsafePointer(to: &context) {
        run(count, context: UnsafeRawPointer($0), PoolJobContext.task)
      }
    }
  }

  /// Runs `body(0 ..< count)` as `run(_:context:_:)` does. Handing a closure to other
  /// threads needs `withoutActuallyEscaping`, which allocates a small context per call, so
  /// hot paths use a `PoolJob` instead; this serves large work and tests.
  func run(_ count: Int, _ body: (Int) -> Void) {
    guard count > 1 else {
      for index in 0..<count { body(index) }
      return
    }
    withoutActuallyEscaping(body) { escapable in
      var job = ClosureJob(body: escapable)
      run(count, &job)
    }
  }

  /// Waits longer than this, and than twice the caller's own share, mean a worker lost its
  /// core in the middle of a task (a time slice is milliseconds; shorter hiccups, which an
  /// idle machine has too, are not worth giving up the second core for).
  static let stallNanoseconds = 500_000
  /// First and longest back-off after a stall: short, so that a machine that becomes idle
  /// again gets the workers back within a few steps, and a stalled probe (one time slice,
  /// a few ms) costs a loaded machine a few percent.
  static let firstBackOffNanoseconds = 2_000_000
  static let maxBackOffNanoseconds = 64_000_000

  /// Stalls in a row, each within twice `maxBackOffNanoseconds` of the one before, and when
  /// the last one was (owner only, under `busy`).
  private var stalls = 0
  private var lastStall = 0
  /// Until this time (`nanoseconds()`), calls run on the caller alone; 0 for none (owner
  /// only, under `busy`).
  private var backOffUntil = 0

  /// Backs off after a stall. On a machine whose other cores are busy with other processes
  /// a worker is preempted for a whole time slice (milliseconds) in the middle of its block,
  /// and the caller, which needs that block, waits it out, so a split step takes longer than
  /// a serial one (bench/NOTES.md, "Work splitting"). After such a wait the pool runs calls
  /// on the caller alone for a while (2 ms, doubling for each further stall within 128 ms of
  /// the last, up to 64 ms), during which the workers go to sleep and stop competing for the
  /// cores. The tasks, and so the results, are the same either way.
  private func noteWait(_ wait: Int, ownWork: Int) {
    guard wait > WorkerPool.stallNanoseconds, wait > 2 * ownWork else { return }
    backOff()
  }

  /// Calls in a row in which the caller ran every task although no worker was asleep
  /// (owner only, under `busy`).
  private var misses = 0
  /// Calls in a row missed this often mean the workers are not getting a core.
  static let missesBeforeBackOff = 32

  /// Backs off when spinning workers keep missing calls: on a busy machine they are
  /// preempted more often than not, and a worker that is scheduled on the caller's own core
  /// only takes time from it. Backing off lets them go to sleep.
  private func noteHelp(missed: Bool) {
    guard missed else {
      misses = 0
      return
    }
    misses += 1
    if misses >= WorkerPool.missesBeforeBackOff {
      misses = 0
      backOff()
    }
  }

  /// Starts a back-off period (see `noteWait`).
  private func backOff() {
    let now = WorkerPool.nanoseconds()
    stalls = now - lastStall < 2 * WorkerPool.maxBackOffNanoseconds ? min(stalls + 1, 16) : 1
    lastStall = now
    let backOff = min(
      WorkerPool.firstBackOffNanoseconds << (stalls - 1), WorkerPool.maxBackOffNanoseconds)
    backOffUntil = now + backOff
  }

  /// Claims and runs tasks of the current job until none are left, or, for a worker
  /// (`worker` >= 0; the caller is -1), until the limit leaves it out.
  @discardableResult
  private func work(as worker: Int) -> Int {
    var ran = 0
    var word = claim.load(ordering: .acquiring)
    while true {
      guard admits(worker) else { return ran }
      let index = Int(word & WorkerPool.indexMask)
      let published = jobCount.load(ordering: .acquiring)
      if published >> WorkerPool.indexBits != word >> WorkerPool.indexBits {
        // `word` is from a finished job and the owner is publishing the next one (its
        // `claim` store not yet seen here): read `claim` again until it is.
        WorkerPool.pause()
        word = claim.load(ordering: .acquiring)
        continue
      }
      let count = Int(published & WorkerPool.indexMask)
      guard index < count else { return ran }
      // This job's values: it is unfinished while index < count is unclaimed, and the owner
      // writes the next job's only after it finishes (a failed exchange discards them).
      let context = contextAddress.load(ordering: .relaxed)
      let task = taskAddress.load(ordering: .relaxed)
      let control = floatControl.load(ordering: .relaxed)
      let (exchanged, current) = claim.compareExchange(
        expected: word, desired: word + 1, ordering: .acquiringAndReleasing)
      guard exchanged else {
        word = current
        continue
      }
      // A few cycles per task; the owner's own bits always match.
      if lamina_float_control() != control { lamina_set_float_control(control) }
      if let context = UnsafeRawPointer(bitPattern: context), task != 0 {
        unsafeBitCast(task, to: PoolTask.self)(context, index)
      }
      pending.wrappingSubtract(1, ordering: .releasing)
      ran += 1
      word = claim.load(ordering: .acquiring)
    }
  }

  /// A worker thread's loop: wait for a job, help run it, repeat.
  private func workerLoop() -> Never {
    let worker = nextWorker.wrappingAdd(1, ordering: .relaxed).oldValue
    var seen = signal.load(ordering: .acquiring)
    while true {
      seen = waitForSignal(after: seen, as: worker)
      if admits(worker) { work(as: worker) }
    }
  }

  /// Waits until `signal` differs from `seen`, spinning for `spinNanoseconds` and then
  /// sleeping on the condition variable; returns the new value. A worker the limit leaves
  /// out parks on `parked` until it is raised (not counted in `sleepers`, so calls do not
  /// wake it), and a sleeping one that the limit comes to leave out returns to park.
  private func waitForSignal(after seen: UInt32, as worker: Int) -> UInt32 {
    let start = WorkerPool.nanoseconds()
    var spins = 0
    while admits(worker) {
      let now = signal.load(ordering: .acquiring)
      if now != seen { return now }
      spins += 1
      if spins & 255 == 0, WorkerPool.nanoseconds() - start > WorkerPool.spinNanoseconds {
        break
      }
      WorkerPool.pause()
    }
    pthread_mutex_lock(mutex)
    while !admits(worker) { pthread_cond_wait(parked, mutex) }
    // Counted before the check, both sequentially consistent: either the owner sees the
    // sleeper and broadcasts under the mutex, or this check sees the new signal.
    sleepers.wrappingAdd(1, ordering: .sequentiallyConsistent)
    var now = signal.load(ordering: .sequentiallyConsistent)
    while now == seen && admits(worker) {
      pthread_cond_wait(condition, mutex)
      now = signal.load(ordering: .sequentiallyConsistent)
    }
    sleepers.wrappingSubtract(1, ordering: .sequentiallyConsistent)
    pthread_mutex_unlock(mutex)
    return now
  }

  /// Starts one detached worker thread for the pool at `context` (retained); false if the
  /// system refused.
  private static func startThread(_ context: UnsafeMutableRawPointer) -> Bool {
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    #if canImport(Glibc)
      var thread = pthread_t()
    #else
      var thread: pthread_t?
    #endif
    let result = pthread_create(
      &thread, &attributes,
      { context in
        guard let context else { return nil }
        Unmanaged<WorkerPool>.fromOpaque(context).takeUnretainedValue().workerLoop()
      }, context)
    if result != 0 { Unmanaged<WorkerPool>.fromOpaque(context).release() }
    return result == 0
  }

  /// Set in a forked child, where the workers do not exist: its calls then run serially.
  static let forkedChild = Atomic<Bool>(false)
  private static let registerForkHandler: Void = {
    pthread_atfork(nil, nil) { WorkerPool.forkedChild.store(true, ordering: .relaxed) }
  }()

  /// A monotonic clock in nanoseconds (vDSO; no system call).
  @inline(__always)
  private static func nanoseconds() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1_000_000_000 + ts.tv_nsec
  }

  /// A spin-wait hint to the core (x86 `pause`; see the CBLAS shim).
  @inline(__always)
  private static func pause() {
    lamina_spin_hint()
  }
}

/// A pool task: called with the job's context and a task index.
typealias PoolTask = @convention(c) (UnsafeRawPointer, Int) -> Void

/// Work for `WorkerPool.run(_:_:)`: a struct holding a call's operands, whose `run(_:)`
/// runs one task. The pool hands workers a pointer to the struct on the caller's stack, so
/// nothing is allocated, where a Swift closure would need a heap context to cross threads.
protocol PoolJob {
  /// Runs task `index` (each index of a call exactly once, on any thread).
  func run(_ index: Int)
}

extension PoolJob {
  /// Runs task `index` of the `Self` at `job`: what `PoolJobContext.task` calls through
  /// the job's type.
  static func run(at job: UnsafeRawPointer, _ index: Int) {
    job.assumingMemoryBound(to: Self.self).pointee.run(index)
  }
}

/// A `PoolJob` as the pool's C-callable task sees it: the job's address and its type. A
/// `@convention(c)` function cannot be generic, so instead of one function per job type
/// there is one, `task`, and the type travels in the context (a metatype and its witness
/// table: two words, no allocation).
struct PoolJobContext {
  /// The job, on the caller's stack for the duration of the call.
  let job: UnsafeRawPointer
  /// The job's type, whose `run(at:_:)` runs a task.
  let type: any PoolJob.Type

  /// The one pool task every `PoolJob` runs through.
  static let task: PoolTask = { context, index in
    let job = context.assumingMemoryBound(to: PoolJobContext.self).pointee
    job.type.run(at: job.job, index)
  }
}

/// A closure as a `PoolJob` (see `WorkerPool.run(_:_:)` taking a closure).
private struct ClosureJob: PoolJob {
  let body: (Int) -> Void

  /// Calls `body(index)`.
  func run(_ index: Int) { body(index) }
}
