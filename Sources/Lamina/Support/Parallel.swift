/// Runs a fixed set of tasks, on several threads only when the work pays for it.
enum Parallel {
  /// Runs `body(0 ..< count)`: on the process's `WorkerPool` when there is more than one
  /// task and `work` is at least `threshold`, otherwise one task after another on the
  /// calling thread. The tasks are the same either way, so a caller that splits its work
  /// into fixed tasks and reduces them in a fixed order gets the same bits on any thread
  /// count. The pool allocates nothing per call; the threshold is where handing tasks to
  /// another thread (a few microseconds) stops paying.
  @inline(__always)
  static func run(_ count: Int, work: Int, threshold: Int, _ body: (Int) -> Void) {
    if count > 1 && work >= threshold {
      WorkerPool.shared.run(count, body)
    } else {
      for task in 0..<count { body(task) }
    }
  }

  /// `run(_:work:threshold:_:)` for a `PoolJob`: the same tasks, on the pool or one after
  /// another on the calling thread, and no allocation either way (the closure form's
  /// hand-off to the pool allocates a context per call).
  @inline(__always)
  static func run<Job: PoolJob>(_ count: Int, work: Int, threshold: Int, _ job: inout Job) {
    if count > 1 && work >= threshold {
      WorkerPool.shared.run(count, &job)
    } else {
      for task in 0..<count { job.run(task) }
    }
  }

  /// Runs `job`'s tasks 0 ..< count on the process's `WorkerPool` (serially when it is
  /// busy or backing off); allocates nothing. Callers decide from their fixed task plan
  /// whether to split at all.
  @inline(__always)
  static func run<Job: PoolJob>(_ count: Int, _ job: inout Job) {
    WorkerPool.shared.run(count, &job)
  }

  /// Runs `body(0 ..< count)` on the process's `WorkerPool` (serially when it is busy,
  /// backing off or set to one thread). For long loops in fixed chunks (mesh queries,
  /// marching cubes, shape sampling) that used Dispatch's global pool, which sizes itself
  /// to the machine and ignores `lamina_set_num_threads`: here they run on at most the
  /// threads the process is set to. The closure's hand-off allocates a small context per
  /// call, which such loops can afford and hot paths avoid (`PoolJob`).
  static func forEach(_ count: Int, _ body: (Int) -> Void) {
    WorkerPool.shared.run(count, body)
  }
}
