import Dispatch

/// Runs a fixed set of tasks, on several threads only when the work pays for it.
enum Parallel {
  /// Runs `body(0 ..< count)`: through Dispatch's `concurrentPerform` when there is more
  /// than one task and `work` is at least `threshold`, otherwise one task after another on
  /// the calling thread. The tasks are the same either way, so a caller that splits its work
  /// into fixed tasks and reduces them in a fixed order gets the same bits on any thread
  /// count. Below the threshold, handing tasks to other threads costs more than it saves,
  /// and Dispatch copies a block onto the heap for every `concurrentPerform`, so small calls
  /// stay free of allocation.
  @inline(__always)
  static func run(_ count: Int, work: Int, threshold: Int, _ body: (Int) -> Void) {
    if count > 1 && work >= threshold {
      DispatchQueue.concurrentPerform(iterations: count, execute: body)
    } else {
      for task in 0..<count { body(task) }
    }
  }
}
